"""Reader for RSS and Atom feeds (`kind = "feed"`, or a zero-config URL that serves one)."""

from __future__ import annotations

from typing import ClassVar

from ..config import Source
from ..extract.feed import looks_like_feed, read_feed_entries, separate_shared_links
from ..infra.workers import parse
from ..models import ErrorKind, FetchResult, Request, SourceError
from .base import ReadContext, Rows

FEED_ACCEPT = "application/atom+xml,application/rss+xml,application/xml;q=0.9,text/xml;q=0.8,*/*;q=0.5"


class FeedReader:
    kind: ClassVar[str] = "feed"
    renders: ClassVar[bool] = False

    def request(self, source: Source) -> Request:
        return Request(source.url, accept=FEED_ACCEPT, page=False)

    def recognises(self, page: FetchResult) -> bool:
        return looks_like_feed(page)

    async def read(self, page: FetchResult, context: ReadContext) -> Rows:
        _title, items = await parse(read_feed_entries, page)
        # In this process, where the store is: entries sharing a link keep the keys they were stored under.
        separate_shared_links(page.url, items, context.stored)
        if not items and not context.trial:  # `try` shows the empty feed as it is
            # Read fine, but empty: there are no selectors to check, only the feed to wait for.
            raise SourceError(
                ErrorKind.FEED_EMPTY,
                f"{page.url}: the feed lists no entries; nothing to publish until it does"
                " (open the URL to check that it is the feed you mean)",
            )
        # A feed's entries are what its publisher chose to say: article pages only when asked.
        return Rows(items, wants_articles=False)
