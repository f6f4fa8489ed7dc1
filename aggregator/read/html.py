"""Reader for HTML list pages (`kind = "html"`, and `"auto"` when the page is not a feed).

Rows come from `[sources.list]` selectors or, without them, from the list the extractor
detects. Beyond the page itself:
- a page whose own list is empty and that embeds a same-site iframe is read from the
  iframe (one level deep);
- a zero-config source whose page links a feed reads that feed instead of guessing at
  its markup (not in `try`, which shows the page's own list and names the feed);
- on the first poll, older pages, nearest first: as `[sources.request]` asks for them
  (`next_page`, or `{page}` in its form), else as the page describes them (Hanweb
  `dataproxy.jsp`, TRS `index_N`).

The list page itself is a GET, or what `[sources.request]` says (a form POST); article
pages are always GETs.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from ..config import ListSelectors, Source
from ..extract.decode import decode_page
from ..extract.feed import extract_feed, separate_shared_links
from ..extract.frames import list_frame
from ..extract.html_list import ListPage, extract_list
from ..infra.workers import parse
from ..models import FetchResult, RawItem, Request, SourceError
from ..normalise.urls import item_key
from .base import ReadContext, Rows, all_summarised, read_older_pages
from .feed import FEED_ACCEPT
from .paging import list_request, older_requests

log = logging.getLogger(__name__)

# What each source's detection last said at INFO: a daemon polls for months, and the same
# five-line selector block every poll buries everything else. Said again when it changes.
_told: dict[tuple[str, str, str], str] = {}


def _level(source: Source, topic: str, what: str) -> int:
    """INFO the first time and whenever `what` changed since; DEBUG while it stays the same."""
    key = (source.name, source.url, topic)
    same = _told.get(key) == what
    _told[key] = what
    return logging.DEBUG if same else logging.INFO


def read_list(
    result: FetchResult, source: Source, zone: ZoneInfo, now: datetime, selectors: ListSelectors | None
) -> ListPage:
    """One list page's rows (runs in the workers). A dataproxy answer is a bare <datastore>; this reads it too."""
    html = decode_page(result.body, result.charset, source.encoding, result.url)
    return extract_list(html, result.url, selectors, tz=zone, now=now, rendered=source.render is True)


def read_frame(result: FetchResult, source: Source) -> str | None:
    """The same-site iframe of a page whose own list is empty (runs in the workers)."""
    return list_frame(decode_page(result.body, result.charset, source.encoding, result.url), result.url)


def _separate_stories_sharing_a_link(source_url: str, items: list[RawItem], context: ReadContext) -> None:
    """Rows that share a link under different headlines are different stories (a news list whose
    rows link a product's or a case's page each time it is in the news): each keeps a key of its
    own, by the rule of feed entries that share a link (the row stored under the link keeps it).
    Every row is asked, so a row keyed by its headline keeps that key when its twin has left the
    page. Rows repeating a link under the same headline were merged by the extractor."""
    for item in items:
        if not item.upstream_id:
            item.upstream_id = "row-title:" + " ".join(item.title.split())  # never a permanent id
    rows_per_link = Counter(item_key(item.url, item.upstream_id) for item in items)
    for item in items:
        item.shared_link = rows_per_link[item_key(item.url, item.upstream_id)] > 1
    separate_shared_links(source_url, items, context.stored)


class HtmlListReader:
    kind: ClassVar[str] = "html"
    renders: ClassVar[bool] = True

    def request(self, source: Source) -> Request:
        return Request(source.url) if source.request is None else list_request(source.url, source.request)

    def recognises(self, page: FetchResult) -> bool:
        return False  # the fallback of zero-config sources, not recognised by sniffing

    async def read(self, page: FetchResult, context: ReadContext) -> Rows:
        source = context.source
        listed, frame = await self._list_or_frame(page, context)
        if not context.trial:  # a poll logs what `try` prints
            lines = list(listed.warnings)
            if listed.chosen and source.list_selectors is None:
                lines.append(f"no selectors configured; auto-detected list:\n{listed.chosen}")
            # The choice line's counts change with every new item; the selectors are what was detected.
            detected = [line for text in lines for line in text.splitlines() if not line.startswith("# chose")]
            level = _level(source, "detected", "\n".join(detected))
            for line in lines:
                log.log(level, "%s: %s", source.name, line)
        shown = {"frame_url": frame, "chosen": listed.chosen, "feed_url": listed.feed_url}
        # A framed list changes while the page around it stays the same: never skip the page as unchanged.
        validators = frame is None
        if source.kind == "auto" and source.list_selectors is None and listed.feed_url and not context.trial:
            entries = await self._linked_feed(listed.feed_url, context)
            if entries:  # the feed changes while the page stays the same: never skip the page as unchanged
                return Rows(entries, wants_articles=False, page_validators=False, **shown)
        items = list(listed.items)
        requests = self._older_requests(source, listed, context.older_pages)
        if requests:

            async def read_older(request: Request) -> list[RawItem]:
                older = await context.more(request)
                return (await parse(read_list, older, source, context.zone, context.now, source.list_selectors)).items

            items += await read_older_pages(source, requests, read_older)
        _separate_stories_sharing_a_link(source.url, items, context)
        built = None
        if not items and listed.script_built:
            built = (
                f"{source.url}: the page's list seems to be built by a script ({listed.script_built}):"
                " set `render = true` on the source to read it in the browser"
            )
        return Rows(
            items, wants_articles=not all_summarised(items), page_validators=validators, empty_error=built, **shown
        )

    @staticmethod
    def _older_requests(source: Source, listed: ListPage, count: int) -> list[Request]:
        """The list's older pages to read: as [sources.request] pages, else as the page describes its paging."""
        if count <= 0:
            return []
        if source.request is not None and source.request.pages():
            return older_requests(source.url, source.request, count)
        if listed.paging is None:
            return []
        return [Request(r.url, method=r.method, form=dict(r.form or {}) or None) for r in listed.paging.requests[:count]]

    async def _list_or_frame(self, page: FetchResult, context: ReadContext) -> tuple[ListPage, str | None]:
        """The page's list; when it has none, the list of the same-site iframe it embeds, and its URL."""
        source, zone, now = context.source, context.zone, context.now
        listed = await parse(read_list, page, source, zone, now, source.list_selectors)
        if listed.items:
            return listed, None
        frame = await parse(read_frame, page, source)
        if frame is None:
            return listed, None
        log.log(_level(source, "frame", frame), "%s: the page's list is empty; reading its iframe %s", source.name, frame)
        framed = await context.more(Request(frame))
        inner = await parse(read_list, framed, source, zone, now, source.list_selectors)
        inner.feed_url = inner.feed_url or listed.feed_url
        return inner, frame

    async def _linked_feed(self, url: str, context: ReadContext) -> list[RawItem]:
        """Zero-config: a feed the page itself advertises beats guessing at its markup."""
        name = context.source.name
        try:
            _title, entries = await parse(extract_feed, await context.more(Request(url, accept=FEED_ACCEPT, page=False)))
        except SourceError as exc:
            log.info("%s: the page's feed %s failed (%s); reading the list instead", name, url, exc)
            return []
        if entries:
            log.log(_level(context.source, "feed", url), "%s: using the feed the page links to: %s", name, url)
        return entries
