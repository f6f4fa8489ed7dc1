"""What every reader takes and gives: the interface of the read stage.

A reader turns the fetched page of one kind of source into rows (`RawItem`s). It asks
for further pages (older list pages, an iframe, a linked feed) through `ReadContext.more`
and never knows how they are fetched. Parsing runs in the worker processes
(`infra.workers.parse`), so the functions a reader hands them are module-level.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

from ..config import Source
from ..models import FetchResult, RawItem, Request, SourceError, StoredEntry

log = logging.getLogger(__name__)

FetchMore = Callable[[Request], Awaitable[FetchResult]]


@dataclass(frozen=True, slots=True)
class ReadContext:
    """One reading of one source's page."""

    source: Source
    zone: ZoneInfo  # the source's time zone, for dates without one
    now: datetime
    more: FetchMore  # fetches a further page of the source
    older_pages: int = 0  # how many of the list's older pages to read too (the first poll's backfill)
    trial: bool = False  # `aggregator try`: show the page's own list, never swap it for a feed it links
    stored: Callable[[str], StoredEntry | None] | None = None  # the item stored under a key (title "" pruned)


@dataclass(slots=True)
class Rows:
    """What a reader found, and what the poll should remember of it."""

    items: list[RawItem]
    wants_articles: bool = True  # by default, fetch the rows' article pages (they carry no summary)
    page_validators: bool = True  # the page's ETag/hash stand for its rows (False: the rows came from elsewhere)
    empty_error: str | None = None  # what to report when there are no rows, where the reader knows better
    frame_url: str | None = None  # the rows were read from this iframe of the page
    chosen: str | None = None  # auto-detected selectors, as TOML, for `try`
    feed_url: str | None = None  # a feed the page links to, for `try`


class Reader(Protocol):
    """One kind of source (`kind = "…"` in the config), registered in `aggregator.read.READERS`."""

    kind: ClassVar[str]
    renders: ClassVar[bool]  # its source's page is an HTML page a browser can render (render = true)

    def request(self, source: Source) -> Request:
        """How the source's own URL is asked for."""
        ...

    def recognises(self, page: FetchResult) -> bool:
        """Whether a zero-config (`kind = "auto"`) source's page is of this kind."""
        ...

    async def read(self, page: FetchResult, context: ReadContext) -> Rows:
        """The rows of the fetched page (and of its older pages, up to `context.older_pages`)."""
        ...


def all_summarised(items: Sequence[RawItem]) -> bool:
    """Every row carries a summary: article pages add nothing by default (one row without: fetch them)."""
    return bool(items) and all(item.summary_html for item in items)


async def read_older_pages(
    source: Source, requests: Sequence[Request], read: Callable[[Request], Awaitable[list[RawItem]]]
) -> list[RawItem]:
    """Items of a list's older pages, nearest first, for the first poll's backfill.

    They are a bonus: the first page that fails or is empty ends the backfill, and the items of
    the pages before it (the first page's included) still count.
    """
    items: list[RawItem] = []
    for request in requests:
        try:
            older = await read(request)
        except SourceError as exc:
            log.info("%s: stopped reading older pages at %s: %s", source.name, request.url, exc)
            break
        if not older:
            break
        items += older
    return items
