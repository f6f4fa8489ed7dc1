"""Items for the store tests: item n is published n hours before NOW, with a body of its own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aggregator.models import Item

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def item(n: int, *, title: str | None = None, body: str = "body", source: str = "s", **extra: object) -> Item:
    fields: dict[str, object] = dict(
        key=f"url:https://example.org/{n}",
        source=source,
        url=f"https://example.org/{n}",
        title=title or f"Item number {n} about the river",
        published=NOW - timedelta(hours=n),
        updated=None,
        content_html=f"<p>{body}</p>",
        content_hash=f"{n:04d}-{title}-{body}",
    )
    fields.update(extra)
    if fields.get("original_url") and "original_key" not in fields:
        from aggregator.normalise.urls import item_key

        fields["original_key"] = item_key(str(fields["original_url"]))  # as normalise does
    return Item(**fields)  # type: ignore[arg-type]
