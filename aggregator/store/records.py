"""What the store records besides items: poll state per source, a poll's diff, repost fingerprints."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any


@dataclass(slots=True)
class SourceState:
    """What the scheduler and `status` know about one source."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: str | None = None  # ISO 8601 UTC
    last_success: str | None = None
    last_new_item: str | None = None
    failing_since: str | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    items_last_poll: int | None = None
    max_items_seen: int = 0  # an empty page after this was > 0 means a layout change
    retry_after_until: str | None = None  # the server asked us to wait until then
    gone: bool = False
    backfill_pending: bool = False  # older pages still hold rows a capped poll left for later
    left_unread: int = 0  # rows whose pages the last poll had no turn or time for: the next comes soon
    page_failures: dict[str, list[Any]] = field(default_factory=dict)  # article URL -> [polls in a row it failed, first ISO]
    # Rows still listed whose page became one entry per penalty case (no item has the row's key): key -> list_hash
    case_pages: dict[str, str] = field(default_factory=dict)
    rendered: str | None = None  # why the list page last needed the browser (`render`)
    rendered_at: str | None = None
    # The column looked for on the site after a 404/410, a redirect home or an emptied page
    # (aggregator.rediscover): once per failure streak, which `column_search` names by its start.
    column_search: str | None = None  # the `failing_since` of the streak it was looked for in
    moved_to: str | None = None  # the link found by the column's name
    moved_link: str | None = None  # how it was found: '“行政处罚” in the home page's navigation'

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SourceState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(slots=True)
class DiffResult:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    reposts: list[str] = field(default_factory=list)  # keys that gained another source
    skipped_tombstoned: int = 0


_NOT_ALNUM = re.compile(r"[\W_]+")
_CHINA = timezone(timedelta(hours=8))


def repost_fingerprint(title: str, published: datetime | None) -> str | None:
    """Same normalised title on the same publish day: a repost without a link."""
    if published is None:
        return None
    folded = _NOT_ALNUM.sub("", title.casefold())
    if len(folded) < 8:
        return None  # short titles such as "通知" collide too easily
    return f"{folded}|{published.astimezone(_CHINA).date().isoformat()}"
