"""Wires the stages for one poll of one source, and for one publish run.

fetch -> extract -> normalise -> classify -> store; then publish from the store.
Each stage only receives what the stage before it returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo
from urllib.parse import urlsplit

from .classify import categories_now, classification_fingerprint, classify
from .config import Config, ListSelectors, Source
from .extract.article import ArticlePage, extract_article
from .extract.attachments import (
    READABLE,
    DocumentText,
    document_type,
    find_attachments,
    page_has_body,
    read_document,
    text_to_html,
)
from .extract.decode import check_nesting, decode_html
from .extract.feed import extract_feed, looks_like_feed
from .extract.frames import list_frame
from .extract.html_list import ListPage, extract_list
from .extract.json_list import JsonPage, PageRequest, extract_json, page_requests, request_of
from .extract.probe import SelectorMatch, probe_selectors
from .extract.wechat import extract_wechat, is_wechat
from .fetch import Fetcher
from .models import Enclosure, ErrorKind, FetchResult, Item, RawItem, SourceError, StoredItem, utc_iso
from .normalise import normalise_item
from .normalise.urls import item_key
from .publish import FeedSpec, publish
from .publish.health import health_spec
from .store import OutputError, SourceState, Store, unusable
from .workers import parse as _parse

log = logging.getLogger(__name__)

MAX_ARTICLES_PER_POLL = 60
FEED_ACCEPT = "application/atom+xml,application/rss+xml,application/xml;q=0.9,text/xml;q=0.8,*/*;q=0.5"
JSON_ACCEPT = "application/json,text/javascript;q=0.9,*/*;q=0.5"


@dataclass(slots=True)
class PollReport:
    source: str
    ok: bool = True
    not_modified: bool = False
    found: int = 0
    new: int = 0
    changed: int = 0
    reposts: int = 0
    pruned: int = 0  # left the store (and so the feeds) by retention
    error_kind: ErrorKind | None = None
    error: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    frame_url: str | None = None  # the list was read from this iframe of the page
    rendered: str | None = None  # the list page was read in the browser, and why

    def line(self) -> str:
        return self._line() + (f" (in the browser: {self.rendered})" if self.rendered else "")

    def _line(self) -> str:
        if not self.ok:
            kind = f"{self.error_kind.value}: " if self.error_kind else ""
            return f"{self.source}: FAILED {kind}{self.error}"
        if self.not_modified:
            return f"{self.source}: not modified"
        line = f"{self.source}: {self.found} found, {self.new} new, {self.changed} changed, {self.reposts} reposts"
        if self.notes:  # article pages that failed, rows left for later: said, not only counted
            shown = "; ".join(self.notes[:3])
            more = f" (+{len(self.notes) - 3} more)" if len(self.notes) > 3 else ""
            line += f"; {shown}{more}"
        return line


def decode_page(body: bytes, charset: str | None, override: str | None, url: str) -> str:
    page = decode_html(body, charset, override)
    if page.bad_chars > 20:
        raise SourceError(
            ErrorKind.DECODE,
            f"{url}: page decoded as {page.encoding} with {page.bad_chars} replacement characters;"
            " set `encoding` on the source",
        )
    check_nesting(page.text)
    return page.text


# Parsing is the CPU-heavy part of a poll. It runs in worker processes when there
# are spare CPUs, so the event loop keeps fetching (and serving) meanwhile, and a
# pathological page cannot stall every other poll. These two, and extract_feed,
# run in the workers.


def read_list(
    result: FetchResult, source: Source, zone: ZoneInfo, now: datetime, selectors: ListSelectors | None
) -> ListPage:
    html = decode_page(result.body, result.charset, source.encoding, result.url)
    return extract_list(html, result.url, selectors, tz=zone, now=now)


def read_article(result: FetchResult, source: Source, zone: ZoneInfo, now: datetime) -> ArticlePage:
    html = decode_page(result.body, result.charset, source.encoding, result.url)
    return _extract_page(html, result.url, source, zone, now)


def _extract_page(html: str, url: str, source: Source, zone: ZoneInfo, now: datetime) -> ArticlePage:
    """WeChat articles have their own reader; every other page the generic one."""
    if is_wechat(url, html):
        return extract_wechat(html, url, tz=zone, now=now)
    return extract_article(html, url, source.article, tz=zone, now=now)


@dataclass(slots=True)
class ArticleRead:
    """What one row's page gave: the article (None when the row links a document itself) and its documents."""

    page: ArticlePage | None
    attachments: list[Enclosure] = field(default_factory=list)  # documents the page links to
    has_body: bool = True  # the page says more than its attachment links
    documents: list[DocumentText] = field(default_factory=list)  # those downloaded and read


def read_article_and_attachments(result: FetchResult, source: Source, zone: ZoneInfo, now: datetime) -> ArticleRead:
    html = decode_page(result.body, result.charset, source.encoding, result.url)
    page = _extract_page(html, result.url, source, zone, now)
    # Documents linked in the body; failing that, anywhere on the page (a "附件" block below it).
    # Most pages link none: a substring test spares them another parse.
    attachments: list[Enclosure] = []
    if page.content_html and _may_link_documents(page.content_html):
        attachments = find_attachments(page.content_html, result.url)
    if not attachments and _may_link_documents(html):
        attachments = find_attachments(html, result.url)
    has_body = page_has_body(page.content_html, attachments) if attachments else bool(page.content_html)
    return ArticleRead(page, attachments, has_body)


_DOCUMENT_HINTS = re.compile(r"\.(?:pdf|docx?|wps|xlsx?|ofd)\b", re.I)


def _may_link_documents(html: str) -> bool:
    return _DOCUMENT_HINTS.search(html) is not None


def read_documents(documents: list[tuple[bytes, Enclosure]], max_bytes: int, seconds: float) -> list[DocumentText]:
    """Text of downloaded documents (runs in the workers); each fails alone, as a reason."""
    return [read_document(body, enclosure, max_bytes=max_bytes, seconds=seconds) for body, enclosure in documents]


def read_articles(
    results: list[FetchResult], source: Source, zone: ZoneInfo, now: datetime
) -> list[ArticleRead | BaseException]:
    """read_article over a batch of pages, in one round trip; each page fails alone."""
    pages: list[ArticleRead | BaseException] = []
    for result in results:
        try:
            pages.append(read_article_and_attachments(result, source, zone, now))
        except Exception as exc:  # noqa: BLE001 - returned to the poll, which reports it per row
            pages.append(exc)
    return pages


def read_frame(result: FetchResult, source: Source) -> str | None:
    """The same-site iframe of a page whose own list is empty (runs in the workers)."""
    return list_frame(decode_page(result.body, result.charset, source.encoding, result.url), result.url)


def read_json(result: FetchResult, source: Source) -> JsonPage:
    assert source.json_query is not None  # kind = "json" requires it (config)
    return extract_json(result.body, result.url, source.json_query)


def normalise_all(raws: list[RawItem], source: str, zone: ZoneInfo, now: datetime) -> list[Item]:
    """normalise_item over one poll's rows, dropping rows without a usable link."""
    return [item for raw in raws if (item := normalise_item(raw, source, zone, now)) is not None]


def _fetch_options(source: Source) -> dict[str, Any]:
    """What every request for a source carries; None network options take the [settings] defaults (in the Fetcher)."""
    return {
        "headers": source.headers,
        "respect_robots": source.respect_robots,
        "proxy": source.proxy,
        "referer": source.referer,
        "warmup": source.warmup,
        "cookies": source.cookies,
    }


def _json_request_options(source: Source, request: PageRequest) -> dict[str, Any]:
    assert source.json_query is not None
    options = _fetch_options(source)
    headers = {**options["headers"], **source.json_query.headers}
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json")
    return options | {
        "headers": headers, "method": request.method, "data": request.form, "content": request.body, "accept": JSON_ACCEPT
    }


def _list_request_options(source: Source) -> dict[str, Any]:
    """How the source's own URL is asked for: as a feed, a JSON API call or a page."""
    if source.kind == "json":
        assert source.json_query is not None
        return _json_request_options(source, request_of(source.url, source.json_query))
    if source.kind == "feed":
        return _fetch_options(source) | {"accept": FEED_ACCEPT}
    return _fetch_options(source)


async def _json_items(fetcher: Fetcher, source: Source, result: FetchResult, *, first_poll: bool) -> list[RawItem]:
    """Items of a JSON API answer (and of its older pages on the first poll, with `next_page`)."""
    assert source.json_query is not None
    page = await _parse(read_json, result, source)
    for warning in page.warnings:
        log.info("%s: %s", source.name, warning)
    items = list(page.items)
    if first_poll and source.backfill_pages:

        async def read(request: PageRequest) -> list[RawItem]:
            extra = await fetcher.fetch(request.url, **_json_request_options(source, request))
            return (await _parse(read_json, extra, source)).items

        items += await _older_pages(source, page_requests(source.url, source.json_query, source.backfill_pages), read)
    return items


async def _older_pages(source: Source, requests: Iterable[Any], read: Callable[[Any], Awaitable[list[RawItem]]]) -> list[RawItem]:
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


async def _read_list_or_frame(
    fetcher: Fetcher, source: Source, result: FetchResult, zone: ZoneInfo, now: datetime
) -> tuple[ListPage, str | None]:
    """The page's list; when it has none, the list of the same-site iframe it embeds (one level deep) and its URL."""
    page = await _parse(read_list, result, source, zone, now, source.list_selectors)
    if page.items or source.kind not in ("auto", "html"):
        return page, None
    frame = await _parse(read_frame, result, source)
    if frame is None:
        return page, None
    log.info("%s: the page's list is empty; reading its iframe %s", source.name, frame)
    framed = await fetcher.fetch(frame, **_fetch_options(source))
    inner = await _parse(read_list, framed, source, zone, now, source.list_selectors)
    inner.feed_url = inner.feed_url or page.feed_url
    return inner, frame


async def _list_items(
    fetcher: Fetcher,
    source: Source,
    result: FetchResult,
    config: Config,
    *,
    first_poll: bool,
    now: datetime,
    report: PollReport | None = None,
) -> tuple[list[RawItem], bool]:
    """Items of an HTML list page (and its further pages on the first poll); True if every one carries a summary."""
    zone = config.zone_of(source)
    page, frame = await _read_list_or_frame(fetcher, source, result, zone, now)
    if report is not None:
        report.frame_url = frame
    for warning in page.warnings:
        log.info("%s: %s", source.name, warning)
    if page.chosen and source.list_selectors is None:
        log.info("%s: no selectors configured; auto-detected list:\n%s", source.name, page.chosen)
    if source.kind == "auto" and source.list_selectors is None and page.feed_url:
        # Zero-config: a feed the page itself advertises beats guessing at its markup.
        try:
            feed = await fetcher.fetch(
                page.feed_url, accept=FEED_ACCEPT, **_fetch_options(source)
            )
            _title, entries = await _parse(extract_feed, feed)
        except SourceError as exc:
            log.info("%s: the page's feed %s failed (%s); reading the list instead", source.name, page.feed_url, exc)
        else:
            if entries:
                log.info("%s: using the feed the page links to: %s", source.name, page.feed_url)
                return entries, True
    items = list(page.items)
    if first_poll and source.backfill_pages and page.paging is not None:
        # Hanweb dataproxy.jsp or TRS index_N pages, nearest first, as the list page describes them.

        async def read(request: Any) -> list[RawItem]:  # hanweb.DataproxyRequest or PageRequest
            extra = await fetcher.fetch(
                request.url, method=request.method, data=dict(request.form) or None, **_fetch_options(source)
            )
            # A dataproxy answer is a bare <datastore>; extract_list reads its records itself.
            return (await _parse(read_list, extra, source, zone, now, source.list_selectors)).items

        items += await _older_pages(source, page.paging.requests[: source.backfill_pages], read)
    return items, bool(items) and all(item.summary_html for item in items)


PARSE_BATCH_BYTES = 2 * 1024 * 1024
"""Article pages go to a worker in batches of about this many bytes.

Each round trip through ProcessPoolExecutor costs the event loop ~0.2 ms of CPU
(its feeder and manager threads, pickling, waking the loop): a first poll of
16,000 articles paid ~3 s for that alone. The byte bound keeps a source of huge
pages from holding them all in memory at once.
"""


MAX_DOCUMENTS_PER_ITEM = 2  # documents downloaded for one article page
MAX_DOCUMENTS_PER_POLL = 30


async def _read_article_pages(
    fetcher: Fetcher,
    source: Source,
    rows: list[RawItem],
    zone: ZoneInfo,
    now: datetime,
    limits: tuple[int, float] = (5 * 1024 * 1024, 10.0),
) -> list[ArticleRead | BaseException | None]:
    """Each row's page, read: an ArticleRead, the error that stopped it, or None for another file (an image...)."""
    if not rows:
        return []  # asyncio.wait() refuses an empty set
    outcomes: list[ArticleRead | BaseException | None] = [None] * len(rows)
    documents: list[tuple[int, bytes, Enclosure]] = []  # rows that link a document themselves
    batch: list[tuple[int, FetchResult]] = []
    batch_bytes = 0

    async def parse(pages: list[tuple[int, FetchResult]]) -> None:
        parsed = await _read_articles([result for _index, result in pages], source, zone, now)
        for (index, _result), outcome in zip(pages, parsed, strict=True):
            outcomes[index] = outcome

    async with asyncio.TaskGroup() as group:

        def send_batch() -> None:
            nonlocal batch, batch_bytes
            if batch:
                group.create_task(parse(batch))
                batch, batch_bytes = [], 0

        async def fetch(index: int, raw: RawItem) -> None:
            nonlocal batch_bytes
            try:
                result = await _fetch_page(fetcher, source, raw.url, _fetch_options(source))
            except Exception as exc:  # this row's failure, judged by the caller
                outcomes[index] = exc
                return
            if result.content_type and not result.content_type.startswith(("text/html", "application/xhtml")):
                kind = document_type(result.url, result.content_type)
                if kind:  # the row is a document (a 处罚决定书 PDF): an enclosure, and its text
                    documents.append((index, result.body, Enclosure(raw.url, kind)))
                return  # other files stay as list items
            batch.append((index, result))
            batch_bytes += len(result.body)
            if batch_bytes >= PARSE_BATCH_BYTES:
                send_batch()

        fetches = [group.create_task(fetch(index, raw)) for index, raw in enumerate(rows)]
        await asyncio.wait(fetches)
        send_batch()
    for index, _body, enclosure in documents:
        outcomes[index] = ArticleRead(None, [enclosure], has_body=False)
    await _read_documents(fetcher, source, outcomes, {index: body for index, body, _enclosure in documents}, limits)
    return outcomes


async def _read_documents(
    fetcher: Fetcher,
    source: Source,
    outcomes: list[ArticleRead | BaseException | None],
    downloaded: dict[int, bytes],
    limits: tuple[int, float],
) -> None:
    """Read the documents of rows that are one, and of article pages with no body of their own.

    With `read_attachments`, pages with a body get theirs read too (for classification).
    """
    wanted: list[tuple[int, bytes, Enclosure]] = []
    for index, outcome in enumerate(outcomes):
        if not isinstance(outcome, ArticleRead):
            continue
        if outcome.page is None:
            wanted.append((index, downloaded[index], outcome.attachments[0]))
            continue
        if outcome.has_body and not source.read_attachments:
            continue
        for enclosure in [e for e in outcome.attachments if e.type in READABLE][:MAX_DOCUMENTS_PER_ITEM]:
            if len(wanted) >= MAX_DOCUMENTS_PER_POLL:
                break
            try:
                result = await fetcher.fetch(enclosure.url, **_fetch_options(source))
            except SourceError as exc:
                log.info("%s: attachment %s kept as a link: %s", source.name, enclosure.url, exc)
                continue
            wanted.append((index, result.body, enclosure))
    if not wanted:
        return
    try:
        texts = await _parse(read_documents, [(body, enclosure) for _index, body, enclosure in wanted], *limits)
    except Exception as exc:  # noqa: BLE001 - a document crashed the parser process: all stay links
        log.warning("%s: documents kept as links: %s", source.name, exc)
        texts = [DocumentText(Enclosure(e.url, e.type, len(body), e.title), reason=str(exc)) for _i, body, e in wanted]
    for (index, _body, _enclosure), text in zip(wanted, texts, strict=True):
        outcome = outcomes[index]
        assert isinstance(outcome, ArticleRead)
        outcome.documents.append(text)
        if text.reason:
            log.info("%s: %s kept as a link: %s", source.name, text.enclosure.url, text.reason)


async def _read_articles(
    results: list[FetchResult], source: Source, zone: ZoneInfo, now: datetime
) -> list[ArticleRead | BaseException]:
    try:
        return await _parse(read_articles, results, source, zone, now)
    except Exception:  # noqa: BLE001 - a page crashed the worker, or a result did not pickle
        if len(results) == 1:
            raise
    # Page by page, so only the page at fault fails.
    return list(
        await asyncio.gather(
            *(_parse(read_article_and_attachments, result, source, zone, now) for result in results), return_exceptions=True
        )
    )


def _fill_from_article(raw: RawItem, article: ArticlePage) -> None:
    """The article page's date and text beat the list's."""
    if article.title and (not raw.title or raw.title.endswith(("…", "...")) or len(article.title) > len(raw.title)):
        raw.title = article.title
    if article.published:
        raw.published, raw.published_text = article.published, None
    elif article.published_text and not raw.published_text:
        raw.published_text = article.published_text
    raw.origin = article.origin or raw.origin
    raw.author = article.author or raw.author
    raw.original_url = article.original_url or raw.original_url
    if article.content_html:
        # Sanitised in the worker against the article's own base URL; not again here.
        raw.content_html, raw.content_sanitised = article.content_html, True


def _fill_from_documents(raw: RawItem, read: ArticleRead) -> None:
    """Documents become enclosures; their text is the content when the page has none, and is classified on."""
    read_ones = {document.enclosure.url: document.enclosure for document in read.documents}
    raw.enclosures = tuple(read_ones.get(e.url, e) for e in read.attachments)
    texts = [document.text for document in read.documents if document.text]
    if not texts:
        return
    raw.attachment_text = "\n".join(texts)
    if not read.has_body:
        raw.content_html, raw.content_sanitised = "".join(text_to_html(text) for text in texts), False


def _mark_documents(raws: list[RawItem]) -> None:
    """A row that is a document (.pdf …) gets it as its enclosure, also when no article page is fetched."""
    for raw in raws:
        kind = None if raw.enclosures else document_type(raw.url)
        if kind:
            raw.enclosures = (Enclosure(raw.url, kind),)


def _reads_as_feed(source: Source, result: FetchResult) -> bool:
    """A feed source, or a zero-config source whose URL turned out to serve a feed."""
    return source.kind == "feed" or (source.kind == "auto" and source.list_selectors is None and looks_like_feed(result))


def _list_hash(raw: RawItem) -> str:
    return hashlib.sha256(
        "\x00".join((raw.url, raw.title, raw.published_text or "", raw.summary_html or "")).encode("utf-8", "surrogatepass")
    ).hexdigest()[:32]


def _keep_list_only(error: BaseException, article_url: str, list_url: str) -> bool:
    """An article that may never load is kept with its list data; a flaky one of the source's own site waits."""
    if urlsplit(article_url).hostname != urlsplit(list_url).hostname:
        return True  # another site's page: we cannot tell a bad day from a dead link
    if not isinstance(error, SourceError):
        return True  # a bug in extraction: logged; retrying would repeat it
    if error.kind in (ErrorKind.PARSE, ErrorKind.DECODE, ErrorKind.GONE, ErrorKind.TOO_LARGE, ErrorKind.ROBOTS):
        return True
    # A 404 or 403 stays; 429 (asks us to wait) and 5xx are the site's bad day.
    return error.kind is ErrorKind.HTTP_STATUS and error.status is not None and 400 <= error.status < 500 and error.status != 429


async def _enrich_changed_rows(
    fetcher: Fetcher,
    source: Source,
    config: Config,
    store: Store,
    raws: list[RawItem],
    moment: datetime,
    report: PollReport,
) -> tuple[list[RawItem], int]:
    """Rows to store, with their article pages read; and how many wait for the next poll.

    A row the source already listed in the same form is skipped: its stored item
    came from the article page, which the bare row must never overwrite. New or
    changed rows get their article fetched (at most MAX_ARTICLES_PER_POLL);
    rows whose article could not be read this time wait for the next poll.
    """
    ready: list[RawItem] = []
    to_fetch: list[RawItem] = []
    deferred = 0
    for raw in raws:
        if raw.linkless:
            ready.append(raw)  # no page of its own to read
            continue
        raw.list_hash = _list_hash(raw)
        key = item_key(raw.url, raw.upstream_id)
        if store.list_hash(key, source.name) == raw.list_hash:
            continue
        if store.is_tombstoned(key):
            continue
        if len(to_fetch) < MAX_ARTICLES_PER_POLL:
            to_fetch.append(raw)
        else:
            deferred += 1
    limits = (config.settings.attachment_max_bytes, config.settings.attachment_timeout)
    outcomes = await _read_article_pages(fetcher, source, to_fetch, config.zone_of(source), moment, limits)
    for raw, outcome in zip(to_fetch, outcomes, strict=True):
        if isinstance(outcome, ArticleRead):
            if outcome.page is not None:
                for warning in outcome.page.warnings:
                    log.debug("%s: %s: %s", source.name, raw.url, warning)
                _fill_from_article(raw, outcome.page)
            _fill_from_documents(raw, outcome)
        if not isinstance(outcome, BaseException):
            ready.append(raw)
            continue
        if not isinstance(outcome, (SourceError, ValueError)):
            log.error("%s: article %s: %r", source.name, raw.url, outcome)
        report.notes.append(f"article {raw.url}: {outcome}")
        if _keep_list_only(outcome, raw.url, source.url):
            ready.append(raw)
        else:
            deferred += 1
            if isinstance(outcome, SourceError) and outcome.retry_after:
                report.retry_after = max(report.retry_after or 0.0, outcome.retry_after)
    return ready, deferred


async def poll_source(
    source: Source,
    config: Config,
    fetcher: Fetcher,
    store: Store,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> PollReport:
    """Poll one source and diff its items into the store. Never raises for a source's own failure."""
    started = time.monotonic()
    report = PollReport(source.name)
    state = store.state(source.name)
    moment = now()
    state.last_attempt = utc_iso(moment)
    try:
        await _poll(source, config, fetcher, store, state, report, moment)
    except SourceError as exc:
        report.ok, report.error_kind, report.error, report.retry_after = False, exc.kind, exc.message, exc.retry_after
    except Exception as exc:  # a bug or a page we did not foresee must not stop the other sources
        log.exception("%s: unexpected error", source.name)
        report.ok, report.error_kind, report.error = False, ErrorKind.PARSE, f"{type(exc).__name__}: {exc}"
    _record_outcome(state, report, moment)
    if report.rendered or source.render is True:
        # A render = true source needs the browser whether or not this visit succeeded.
        state.rendered, state.rendered_at = report.rendered or "render = true", utc_iso(moment)
    if not report.ok:
        log.warning(
            "%s: %s: %s", source.name, report.error_kind.value if report.error_kind else "error", report.error,
            extra={"poll_failure": True},  # `poll --once` prints it in its summary instead
        )
    store.set_state(source.name, state)
    store.commit(lazy=True)
    report.seconds = time.monotonic() - started
    return report


async def _poll(
    source: Source, config: Config, fetcher: Fetcher, store: Store, state: SourceState, report: PollReport, moment: datetime
) -> None:
    # Older pages are read on the first poll, and again while rows from them wait.
    first_poll = state.last_success is None or state.backfill_pending
    result, report.rendered = await _fetch_list(
        fetcher,
        source,
        config,
        source.url,
        dict(
            etag=state.etag,
            last_modified=state.last_modified,
            previous_hash=state.body_hash,
            track_body=True,
            **_list_request_options(source),
        ),
    )
    if result.not_modified:
        report.not_modified = True
        state.etag = result.etag or state.etag
        state.last_modified = result.last_modified or state.last_modified
        return
    has_summaries = True
    is_feed = _reads_as_feed(source, result)
    if is_feed:
        _title, raws = await _parse(extract_feed, result)
    elif source.kind == "json":
        raws = await _json_items(fetcher, source, result, first_poll=first_poll)
        has_summaries = bool(raws) and all(raw.summary_html for raw in raws)  # one row without: fetch the pages
    else:
        raws, has_summaries = await _list_items(
            fetcher, source, result, config, first_poll=first_poll, now=moment, report=report
        )
        if report.frame_url:
            # The framed list changes while the page around it stays the same: never skip the page as unchanged.
            result = replace(result, etag=None, last_modified=None, body_hash="")
    report.found = len(raws)
    _mark_documents(raws)
    if not raws and source.json_query is not None:
        raise SourceError(ErrorKind.EMPTY, f"{source.url}: `items = {source.json_query.items!r}` is an empty list")
    if not raws:
        if state.max_items_seen > 0:
            raise SourceError(
                ErrorKind.EMPTY,
                f"{source.url}: the page yielded no items (it had {state.max_items_seen} before); its layout may have changed",
            )
        raise SourceError(ErrorKind.EMPTY, f"{source.url}: no items found; check the source's selectors with `aggregator try`")

    # Feeds fetch article pages only when asked; lists do by default when their rows carry no summary.
    default = not has_summaries and not is_feed
    fetch_articles = source.fetch_articles if source.fetch_articles is not None else default
    if fetch_articles:
        raws, deferred = await _enrich_changed_rows(fetcher, source, config, store, raws, moment, report)
        state.backfill_pending = bool(deferred and first_poll and source.backfill_pages)
        if deferred:
            # Forget the page's validators so the next poll reads it again and takes these up.
            result = replace(result, etag=None, last_modified=None, body_hash="")
            report.notes.append(f"{deferred} item(s) left for the next poll")
    zone = config.zone_of(source)
    items: list[Item] = []
    for item in normalise_all(raws, source.name, zone, moment):
        verdict = classify(item, source, config)
        if not verdict.keep:
            continue
        item.categories = verdict.categories
        items.append(item)
    diff = store.apply(source.name, items, moment)
    report.new, report.changed, report.reposts = len(diff.new), len(diff.changed), len(diff.reposts)
    state.etag, state.last_modified, state.body_hash = result.etag, result.last_modified, result.body_hash
    state.items_last_poll = report.found
    state.max_items_seen = max(state.max_items_seen, report.found)
    if diff.new:
        state.last_new_item = utc_iso(moment)
    report.pruned = store.prune(
        source.name,
        max_age=timedelta(days=config.settings.retention_days),
        max_count=config.settings.retention_count,
        now=moment,
    )


async def poll_all(
    config: Config,
    store: Store,
    fetcher: Fetcher,
    sources: Sequence[Source] | None = None,
    *,
    on_done: Callable[[PollReport], None] | None = None,
) -> list[PollReport]:
    """Poll sources concurrently; a hung source is cut off by the per-poll time limit."""
    chosen = [s for s in (sources if sources is not None else config.sources) if s.enabled]
    limit = asyncio.Semaphore(config.settings.concurrency)
    deadline = poll_deadline(config)

    async def one(source: Source) -> PollReport:
        async with limit:
            try:
                report = await asyncio.wait_for(poll_source(source, config, fetcher, store), deadline)
            except TimeoutError:
                report = PollReport(source.name, ok=False, error_kind=ErrorKind.TIMEOUT, error=f"poll took longer than {deadline:g}s")
                record_failure(store, source.name, report, datetime.now(timezone.utc))
        if on_done:
            on_done(report)
        return report

    return list(await asyncio.gather(*(one(source) for source in chosen)))


def cycle_line(reports: Sequence[PollReport], seconds: float) -> str:
    """The one INFO line of a poll cycle."""
    return (
        f"polled {len(reports)} source(s) in {seconds:.1f}s: {sum(r.new for r in reports)} new,"
        f" {sum(r.changed for r in reports)} changed, {sum(not r.ok for r in reports)} failed"
    )


def poll_deadline(config: Config) -> float:
    # A list page, a few further pages and article pages, each within the fetch timeout.
    return config.settings.timeout * 4 + 30


def _record_outcome(state: SourceState, report: PollReport, moment: datetime) -> None:
    """Fold one poll's outcome into the source's state (never-ending retries; 410 marks it gone)."""
    state.last_attempt = utc_iso(moment)
    if report.ok:
        state.last_success = state.last_attempt
        state.consecutive_failures = 0
        state.failing_since = None
        state.last_error = state.last_error_kind = None
        state.retry_after_until = None
        return
    state.consecutive_failures += 1
    state.failing_since = state.failing_since or state.last_attempt
    state.last_error = report.error
    state.last_error_kind = report.error_kind.value if report.error_kind else None
    state.gone = report.error_kind is ErrorKind.GONE
    state.retry_after_until = utc_iso(moment + timedelta(seconds=report.retry_after)) if report.retry_after else None


TOMBSTONE_FACTOR = 3  # tombstones outlive items this many times over


def housekeeping(config: Config, store: Store, now: datetime) -> tuple[int, int]:
    """Keep a store that runs for years bounded: drop old tombstones and unused bodies.

    A tombstone must outlive any list page that still shows its item; pages keep
    items for months, so tombstones last several times the retention age.
    """
    days = config.settings.retention_days * TOMBSTONE_FACTOR
    expired = store.expire_tombstones(now - timedelta(days=days))
    store.commit()
    # Bodies are collected only after the commit that stopped referring to them.
    removed = store.collect_garbage()
    if expired or removed:
        log.info("housekeeping: %d tombstones expired, %d unused bodies removed", expired, removed)
    return expired, removed


def record_failure(store: Store, name: str, report: PollReport, now: datetime) -> None:
    """For failures detected outside poll_source (the overall time limit)."""
    state = store.state(name)
    _record_outcome(state, report, now)
    store.set_state(name, state)
    store.commit()


def feed_specs(config: Config, store: Store, now: datetime) -> list[FeedSpec]:
    """One spec per category, plus `all` and the health feed."""
    default = config.settings.feed_entries
    limits = {"all": default} | {slug: c.feed_entries or default for slug, c in config.categories.items()}
    newest = store.newest(limits)
    born = store.created  # an empty feed's `updated`: stable, so regenerating it changes no byte
    specs = [FeedSpec("all", "All items", "Every item from every source", newest["all"], empty_updated=born)]
    for slug, category in config.categories.items():
        description = category.description or category.title
        specs.append(FeedSpec(slug, category.title, description, newest[slug], limit=limits[slug], empty_updated=born))
    specs.append(health_spec(config, store.states(), now, empty_updated=born))
    return specs


def stored_as_item(stored: StoredItem) -> Item:
    """A stored item in the shape classify() reads."""
    return Item(
        key=stored.key, source=stored.source, url=stored.url, title=stored.title,
        published=stored.published, updated=stored.updated, origin=stored.origin,
        summary_html=stored.summary_html, content_html=stored.content_html,
    )


def reclassify_if_needed(config: Config, store: Store) -> int:
    """Re-sort every stored item when categories, rules or source defaults changed since the last time.

    Items are classified when found, so without this a rule added later would
    never reach items already stored; the fingerprint keeps it to real changes.
    """
    fingerprint = classification_fingerprint(config)
    if store.meta(CLASSIFICATION_META) == fingerprint:
        return 0
    reads_body = any(c.rules is not None and "body" in c.rules.fields for c in config.categories.values())
    by_name = {source.name: source for source in config.sources}
    changed = store.reclassify(
        lambda stored: categories_now(
            stored_as_item(stored), stored.sources, config, stored.source_categories, by_name=by_name
        )[0],
        with_body=reads_body,
    )
    store.set_meta(CLASSIFICATION_META, fingerprint)
    if changed:
        log.info("categories or rules changed: %d stored item(s) re-sorted", changed)
    return changed


CLASSIFICATION_META = "classification"


def forget_classification(store: Store) -> None:
    """The next publish re-sorts every item (items were classified by a config no longer current)."""
    store.set_meta(CLASSIFICATION_META, None)


def publish_from_store(config: Config, store: Store, now: datetime | None = None) -> list[Path]:
    moment = now or datetime.now(timezone.utc)
    reclassify_if_needed(config, store)
    specs = feed_specs(config, store, moment)
    try:
        return publish(
            specs, config.output_dir, config.settings.base_url, config.settings.feed_entries, hub=config.settings.websub_hub
        )
    except OSError as exc:
        raise OutputError(unusable("output_dir", config.output_dir, exc, "write feeds to")) from None


@dataclass(slots=True)
class Preview:
    """What `aggregator try` shows: items as they would be stored, and why they land where they do."""

    url: str
    kind: str  # "feed", "list", "json" or "article"
    items: list[Item] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # item key -> classification reasons
    chosen: str | None = None  # auto-detected selectors, as TOML
    feed_url: str | None = None
    frame_url: str | None = None  # the list was read from this iframe of the page
    article: dict[str, str | None] | None = None
    selectors: list[SelectorMatch] = field(default_factory=list)  # what each given selector matched
    rendered: str | None = None  # the page was read in the browser, and why


async def _preview_article(
    source: Source, config: Config, fetcher: Fetcher, result: FetchResult, zone: ZoneInfo, moment: datetime
) -> Preview:
    """One page (or document) as a poll would read it for a row, its attachments included."""
    limits = (config.settings.attachment_max_bytes, config.settings.attachment_timeout)
    kind = None
    if result.content_type and not result.content_type.startswith(("text/html", "application/xhtml")):
        kind = document_type(result.url, result.content_type)
    if kind:
        read = ArticleRead(None, [Enclosure(result.url, kind)], has_body=False)
        downloaded = {0: result.body}
    else:
        read = read_article_and_attachments(result, source, zone, moment)
        downloaded = {}
    outcomes: list[ArticleRead | BaseException | None] = [read]
    await _read_documents(fetcher, source, outcomes, downloaded, limits)
    raw = RawItem(url=result.url, title="")
    if read.page is not None:
        _fill_from_article(raw, read.page)
    _fill_from_documents(raw, read)
    page = read.page or ArticlePage()
    attachments = [
        f"{e.url} ({e.type}{f', {e.length:,} bytes' if e.length is not None else ''})" for e in raw.enclosures
    ]
    unread = [f"{d.enclosure.url}: {d.reason}" for d in read.documents if d.reason]
    content_text = page.content_text if read.has_body or not raw.attachment_text else raw.attachment_text
    return Preview(
        url=result.url,
        kind="article",
        article={
            "title": page.title,
            "published": page.published.isoformat() if page.published else None,
            "source": page.origin,
            "author": page.author,
            "original_url": page.original_url,
            "attachments": "; ".join(attachments) or None,
            "content_from": "attachment" if raw.attachment_text and not read.has_body else ("page" if page.content_html else None),
            "unreadable": "; ".join(unread) or None,
            "content_html": raw.content_html,
            "content_text": content_text,
        },
    )


async def preview(
    source: Source, config: Config, fetcher: Fetcher, *, article: bool, given: set[str] = frozenset()
) -> Preview:
    """Fetch one page and extract it exactly as a poll would, without touching the store.

    `given`: the selector keys the user typed; each is also run on its own against the page.
    """
    moment = datetime.now(timezone.utc)
    zone = config.zone_of(source)
    options = _fetch_options(source) if article else _list_request_options(source)
    result, rendered = await _fetch_list(fetcher, source, config, source.url, options)
    matches: list[SelectorMatch] = []
    if given and not _reads_as_feed(source, result) and source.kind != "json":
        html = decode_page(result.body, result.charset, source.encoding, result.url)
        matches = probe_selectors(
            html, None if article else source.list_selectors, source.article if article else None, given=given
        )
    if article:
        shown = await _preview_article(source, config, fetcher, result, zone, moment)
        shown.rendered = rendered
        shown.selectors = matches
        return shown
    out = Preview(url=result.url, kind="list", rendered=rendered, selectors=matches)
    if _reads_as_feed(source, result):
        out.kind = "feed"
        _title, raws = extract_feed(result)
    elif source.kind == "json":
        out.kind = "json"
        # With `next_page` and `backfill_pages`, a first poll reads older pages too; so does this.
        raws = await _json_items(fetcher, source, result, first_poll=True)
    else:
        page, out.frame_url = await _read_list_or_frame(fetcher, source, result, zone, moment)
        raws, out.chosen, out.feed_url = list(page.items), page.chosen, page.feed_url
    _mark_documents(raws)
    for item in normalise_all(raws, source.name, zone, moment):
        verdict = classify(item, source, config)
        item.categories = verdict.categories
        out.reasons[item.key] = verdict.reasons + ([] if verdict.keep else ["dropped by the source's filters"])
        out.items.append(item)
    return out


# The browser (aggregator.browser) for `render` sources. It is made on first need and kept on
# the fetcher: one per process, closed with it.


def _browser(fetcher: Fetcher, config: Config) -> Any:
    from .browser import Browser

    if fetcher.browser is None:
        s = config.settings
        fetcher.browser = Browser(
            executable=s.browser, concurrency=s.render_concurrency, timeout=s.timeout, max_bytes=s.max_bytes
        )
    return fetcher.browser


def _browser_options(fetcher: Fetcher, source: Source) -> dict[str, Any]:
    """The source's network options as the browser takes them (None: the [settings] default, as in the Fetcher)."""
    proxy = (fetcher.proxy if source.proxy is None else source.proxy) or None
    referer = (fetcher.referer if source.referer is None else source.referer) or None
    headers = {**({"Referer": referer} if referer else {}), **source.headers}
    return {"proxy": proxy, "headers": headers, "respect_robots": source.respect_robots}


async def _fetch_list(
    fetcher: Fetcher, source: Source, config: Config, url: str, options: dict[str, Any]
) -> tuple[FetchResult, str | None]:
    """The source's own page, and why it was read in the browser (None: plain HTTP).

    render = true: always the browser. render = "auto": plain HTTP first, the browser when
    that is a block or challenge page; a JSON or feed source then asks again over HTTP, with
    the cookies the browser got.
    """
    if not source.render:
        return await fetcher.fetch(url, **options), None
    browser = _browser(fetcher, config)
    if source.render is True:
        why = "render = true"
    else:
        try:
            return await fetcher.fetch(url, **options), None
        except SourceError as exc:
            if exc.kind is not ErrorKind.ANTI_BOT:
                raise
            why = f'render = "auto" and plain HTTP got {exc.message.split(" from ")[0]}'
        if source.kind in ("json", "feed"):
            rendered = await _pass_challenge(browser, fetcher, source, url)
            return await fetcher.fetch(url, **options), why + _passed(rendered)
    wait_for = source.wait_for or (source.list_selectors.item if source.list_selectors else None)
    rendered = await browser.render(url, fetcher, wait_for=wait_for, **_browser_options(fetcher, source))
    if rendered.challenge:
        browser.passed_at[_origin(url)] = time.monotonic()
    result = rendered.result
    if options.get("track_body") or options.get("previous_hash"):
        digest = hashlib.sha256(result.body).hexdigest()
        result = replace(result, body_hash=digest, not_modified=digest == options.get("previous_hash"))
    log.info("%s: %s rendered in the browser in %.1fs (%s)", source.name, url, rendered.seconds, why)
    return result, why + _passed(rendered)


def _passed(rendered: Any) -> str:
    return f"; it got past {rendered.challenge}" if rendered.challenge else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def _pass_challenge(browser: Any, fetcher: Fetcher, source: Source, url: str) -> Any:
    """Visit `url` in the browser for the cookies its challenge hands out; once per host at a time."""
    origin = _origin(url)
    asked = time.monotonic()
    async with browser.pass_lock(origin):
        if browser.passed_at.get(origin, float("-inf")) > asked:
            return None  # another page of this host just got them
        rendered = await browser.render(url, fetcher, **_browser_options(fetcher, source))
        browser.passed_at[origin] = time.monotonic()
        log.info("%s: %s: the browser got past %s", source.name, url, rendered.challenge or "no challenge")
        return rendered


async def _fetch_page(fetcher: Fetcher, source: Source, url: str, options: dict[str, Any]) -> FetchResult:
    """An article page over HTTP; for a `render` source a refused one passes the challenge in the browser, then is asked again."""
    try:
        return await fetcher.fetch(url, **options)
    except SourceError as exc:
        if not source.render or fetcher.browser is None or exc.kind is not ErrorKind.ANTI_BOT:
            raise
        log.info("%s: %s refused the cookies (%s); passing the challenge in the browser", source.name, url, exc.message)
    await _pass_challenge(fetcher.browser, fetcher, source, url)
    return await fetcher.fetch(url, **options)
