"""`catalog verify`: poll catalog entries once and say what each gives, without touching any store.

Each source's list is read exactly as `try` reads it (aggregator.preview with no older
pages), then its newest item's article page, so a user with internet access
sees per entry: reachable, items found, newest date, the article fields found,
and whether it is blocked or needs the browser. Requests go through the one
Fetcher of the config, so host spacing, robots.txt and the network options
apply as in a poll; cookies are not kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field

from ..config import Config, Source
from ..fetch import fetcher_for
from ..models import ErrorKind, SourceError
from ..rediscover import verify_candidate
from . import Entry
from .edit import table

# Article fields reported, in order, as (preview key, name shown).
ARTICLE_FIELDS = (("title", "title"), ("published", "date"), ("source", "source"), ("author", "author"), ("content_text", "body"))


@dataclass
class Verdict:
    id: str  # the catalog id, or the source name for a preset-only source
    name: str
    url: str
    status: str = "error"  # ok, empty, blocked, error
    reachable: bool = False  # the site answered (any HTTP status)
    items: int = 0
    newest: str | None = None  # ISO date of the newest item, in the source's zone
    article_url: str | None = None
    article_fields: list[str] = field(default_factory=list)
    blocked: bool = False
    needs_browser: bool = False
    error: str | None = None
    candidate: str | None = None  # where the column seems to have moved (404/410, home redirect, empty)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


async def _verify_one(source: Source, item: Entry | None, config: Config, fetcher) -> Verdict:  # noqa: ANN001 - Fetcher
    from ..preview import preview

    verdict = Verdict(id=source.catalog or source.name, name=source.name, url=source.url,
                      needs_browser=bool(item and item.needs_browser))
    once = source.model_copy(update={"backfill_pages": 0})  # once, politely: no older pages
    try:
        listed = await preview(once, config, fetcher, article=False)
    except SourceError as exc:
        verdict.reachable = exc.kind not in (ErrorKind.NETWORK, ErrorKind.TIMEOUT)
        verdict.blocked = exc.kind is ErrorKind.ANTI_BOT
        verdict.status = "blocked" if verdict.blocked else "error"
        verdict.error = str(exc)
        verdict.candidate = await verify_candidate(source, config, fetcher, exc)
        return verdict
    verdict.reachable = True
    verdict.items = len(listed.items)
    verdict.candidate = await verify_candidate(source, config, fetcher, final_url=listed.url, empty=not listed.items)
    if not listed.items:
        verdict.status = "empty"
        verdict.error = "the page answered but no items were found (selectors matched nothing or the list is built by JavaScript)"
        return verdict
    zone = config.zone_of(source)
    dated = [i for i in listed.items if i.published]
    newest = max(dated, key=lambda i: i.published) if dated else listed.items[0]  # type: ignore[arg-type, return-value]
    if newest.published:
        verdict.newest = newest.published.astimezone(zone).date().isoformat()
    verdict.status = "ok"
    verdict.article_url = newest.url
    try:
        article = await preview(once.model_copy(update={"url": newest.url}), config, fetcher, article=True)
    except SourceError as exc:
        verdict.blocked = exc.kind is ErrorKind.ANTI_BOT
        verdict.error = f"article {newest.url}: {exc}"
        return verdict
    fields = article.article or {}
    verdict.article_fields = [shown for key, shown in ARTICLE_FIELDS if fields.get(key)]
    return verdict


async def verify(config: Config, sources: list[tuple[Source, Entry | None]]) -> list[Verdict]:
    """One verdict per source, in order; a failing source never stops the others."""
    async with fetcher_for(config, persist_cookies=False) as fetcher:
        async def guarded(source: Source, item: Entry | None) -> Verdict:
            try:
                return await _verify_one(source, item, config, fetcher)
            except Exception as exc:  # noqa: BLE001 - one entry's surprise is its own error line
                return Verdict(id=source.catalog or source.name, name=source.name, url=source.url,
                               error=f"{type(exc).__name__}: {exc}", needs_browser=bool(item and item.needs_browser))

        return list(await asyncio.gather(*(guarded(s, i) for s, i in sources)))


def verdict_table(verdicts: list[Verdict]) -> str:
    rows = []
    for v in verdicts:
        flags = [f for f, on in (("blocked", v.blocked), ("needs-browser", v.needs_browser)) if on]
        rows.append([
            v.id, v.status, "yes" if v.reachable else "no", str(v.items), v.newest or "-",
            ",".join(v.article_fields) or "-", " ".join(flags) or "-", v.candidate or "-", (v.error or "")[:140],
        ])
    header = ["id", "status", "reachable", "items", "newest", "article fields", "blocked/browser", "moved to?", "error"]
    return table(header, rows)
