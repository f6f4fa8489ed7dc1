"""Wires the stages for one poll of one source, and for one publish run.

fetch -> extract -> normalise -> classify -> store; then publish from the store.
Each stage only receives what the stage before it returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo
from urllib.parse import urlsplit

from .classify import classify
from .config import Config, ListSelectors, Source
from .extract.article import ArticlePage, extract_article
from .extract.decode import check_nesting, decode_html
from .extract.feed import extract_feed, looks_like_feed
from .extract.html_list import ListPage, extract_list
from .fetch import Fetcher
from .health import health_spec
from .models import ErrorKind, FetchResult, Item, RawItem, SourceError, utc_iso
from .normalise import normalise_item
from .normalise.urls import item_key
from .publish import FeedSpec, publish
from .store import SourceState, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ARTICLES_PER_POLL = 60
FEED_ACCEPT = "application/atom+xml,application/rss+xml,application/xml;q=0.9,text/xml;q=0.8,*/*;q=0.5"


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

    def line(self) -> str:
        if not self.ok:
            kind = f"{self.error_kind.value}: " if self.error_kind else ""
            return f"{self.source}: FAILED {kind}{self.error}"
        if self.not_modified:
            return f"{self.source}: not modified"
        return f"{self.source}: {self.found} found, {self.new} new, {self.changed} changed, {self.reposts} reposts"


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
    return extract_article(html, result.url, source.article, tz=zone, now=now)


def read_articles(
    results: list[FetchResult], source: Source, zone: ZoneInfo, now: datetime
) -> list[ArticlePage | BaseException]:
    """read_article over a batch of pages, in one round trip; each page fails alone."""
    pages: list[ArticlePage | BaseException] = []
    for result in results:
        try:
            pages.append(read_article(result, source, zone, now))
        except Exception as exc:  # noqa: BLE001 - returned to the poll, which reports it per row
            pages.append(exc)
    return pages


def normalise_all(raws: list[RawItem], source: str, zone: ZoneInfo, now: datetime) -> list[Item]:
    """normalise_item over one poll's rows, dropping rows without a usable link."""
    return [item for raw in raws if (item := normalise_item(raw, source, zone, now)) is not None]


_workers: ProcessPoolExecutor | None = None


def _exit_with(parent: int) -> None:
    """Worker initializer: never outlive the process that started the pool, kill -9 included.

    Workers hold both ends of their task queue's pipe, so they would never see EOF and
    would wait forever as orphans; they watch the parent's pid instead.
    """

    def watch() -> None:
        try:
            select.select([os.pidfd_open(parent)], [], [])  # readable once the parent has exited
        except (AttributeError, OSError):  # no pidfd (old kernel): poll
            while True:
                time.sleep(1.0)
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    break
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def start_workers(count: int) -> None:
    """Parse in `count` processes (0: in the event loop's own thread)."""
    global _workers
    stop_workers()
    if count > 0:
        _workers = _new_pool(count)


def stop_workers() -> None:
    global _workers
    if _workers is not None:
        _kill(_workers)
        _workers = None


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: shutdown() alone lets a running parse finish, and exit waits for it."""
    processes = list((pool._processes or {}).values())  # noqa: SLF001 - the pool exposes no kill
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()


def _renew(pool: ProcessPoolExecutor) -> None:
    """Replace `pool` with a fresh one, unless that already happened (parses fail together)."""
    global _workers
    if _workers is pool:
        size = pool._max_workers  # noqa: SLF001 - the pool keeps its size only there
        _kill(pool)
        _workers = None
        start_workers(size)


def _new_pool(size: int) -> ProcessPoolExecutor:
    # forkserver: workers start from a clean process, not a fork of threads and sockets.
    return ProcessPoolExecutor(
        size,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )


async def _parse(function: Callable[..., T], *args: object) -> T:
    pool = _workers
    if pool is None:
        return function(*args)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool, function, *args)
    except asyncio.CancelledError:
        # The poll's time limit gave up on this page, but the worker is still parsing it
        # and every later page would queue behind it.
        _renew(pool)
        raise
    except BrokenProcessPool:
        # A worker died (out of memory, a crash in a parser) and took every parse in flight
        # with it. Each is retried in a process of its own, so the page that crashes
        # parsers fails alone.
        _renew(pool)
    alone = _new_pool(1)
    try:
        return await loop.run_in_executor(alone, function, *args)
    except BrokenProcessPool:
        raise SourceError(ErrorKind.PARSE, "the page crashed the parser process") from None
    finally:
        _kill(alone)


async def _list_items(
    fetcher: Fetcher, source: Source, result: FetchResult, config: Config, *, first_poll: bool, now: datetime
) -> tuple[list[RawItem], bool]:
    """Items of an HTML list page (and its further pages on the first poll); True if they carry summaries."""
    zone = config.zone_of(source)
    page = await _parse(read_list, result, source, zone, now, source.list_selectors)
    for warning in page.warnings:
        log.info("%s: %s", source.name, warning)
    if page.chosen and source.list_selectors is None:
        log.info("%s: no selectors configured; auto-detected list:\n%s", source.name, page.chosen)
    if source.kind == "auto" and source.list_selectors is None and page.feed_url:
        # Zero-config: a feed the page itself advertises beats guessing at its markup.
        try:
            feed = await fetcher.fetch(
                page.feed_url, accept=FEED_ACCEPT, headers=source.headers, respect_robots=source.respect_robots
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
        for request in page.paging.requests[: source.backfill_pages]:
            try:
                extra = await fetcher.fetch(
                    request.url,
                    method=request.method,
                    data=dict(request.form) or None,
                    headers=source.headers,
                    respect_robots=source.respect_robots,
                )
                # A dataproxy answer is a bare <datastore>; extract_list reads its records itself.
                older = (await _parse(read_list, extra, source, zone, now, source.list_selectors)).items
            except SourceError as exc:
                # Older pages are a bonus: the first page's items still count, and the poll succeeds.
                log.info("%s: stopped reading older pages at %s: %s", source.name, request.url, exc)
                break
            if not older:
                break
            items += older
    return items, any(item.summary_html for item in items)


PARSE_BATCH_BYTES = 2 * 1024 * 1024
"""Article pages go to a worker in batches of about this many bytes.

Each round trip through ProcessPoolExecutor costs the event loop ~0.2 ms of CPU
(its feeder and manager threads, pickling, waking the loop): a first poll of
16,000 articles paid ~3 s for that alone. The byte bound keeps a source of huge
pages from holding them all in memory at once.
"""


async def _read_article_pages(
    fetcher: Fetcher, source: Source, rows: list[RawItem], zone: ZoneInfo, now: datetime
) -> list[ArticlePage | BaseException | None]:
    """Each row's article page, read: a page, the error that stopped it, or None for a document (PDF...)."""
    if not rows:
        return []  # asyncio.wait() refuses an empty set
    outcomes: list[ArticlePage | BaseException | None] = [None] * len(rows)
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
                result = await fetcher.fetch(raw.url, headers=source.headers, respect_robots=source.respect_robots)
            except Exception as exc:  # this row's failure, judged by the caller
                outcomes[index] = exc
                return
            if result.content_type and not result.content_type.startswith(("text/html", "application/xhtml")):
                return  # PDFs and other documents stay as list items
            batch.append((index, result))
            batch_bytes += len(result.body)
            if batch_bytes >= PARSE_BATCH_BYTES:
                send_batch()

        fetches = [group.create_task(fetch(index, raw)) for index, raw in enumerate(rows)]
        await asyncio.wait(fetches)
        send_batch()
    return outcomes


async def _read_articles(
    results: list[FetchResult], source: Source, zone: ZoneInfo, now: datetime
) -> list[ArticlePage | BaseException]:
    try:
        return await _parse(read_articles, results, source, zone, now)
    except Exception:  # noqa: BLE001 - a page crashed the worker, or a result did not pickle
        if len(results) == 1:
            raise
    # Page by page, so only the page at fault fails.
    return list(
        await asyncio.gather(*(_parse(read_article, result, source, zone, now) for result in results), return_exceptions=True)
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
    outcomes = await _read_article_pages(fetcher, source, to_fetch, config.zone_of(source), moment)
    for raw, outcome in zip(to_fetch, outcomes, strict=True):
        if isinstance(outcome, ArticlePage):
            for warning in outcome.warnings:
                log.debug("%s: %s: %s", source.name, raw.url, warning)
            _fill_from_article(raw, outcome)
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
    if not report.ok:
        log.warning("%s: %s: %s", source.name, report.error_kind.value if report.error_kind else "error", report.error)
    store.set_state(source.name, state)
    store.commit(lazy=True)
    report.seconds = time.monotonic() - started
    return report


async def _poll(
    source: Source, config: Config, fetcher: Fetcher, store: Store, state: SourceState, report: PollReport, moment: datetime
) -> None:
    # Older pages are read on the first poll, and again while rows from them wait.
    first_poll = state.last_success is None or state.backfill_pending
    accept = FEED_ACCEPT if source.kind == "feed" else None
    kwargs = {"accept": accept} if accept else {}
    result = await fetcher.fetch(
        source.url,
        etag=state.etag,
        last_modified=state.last_modified,
        previous_hash=state.body_hash,
        track_body=True,
        headers=source.headers,
        respect_robots=source.respect_robots,
        **kwargs,
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
    else:
        raws, has_summaries = await _list_items(fetcher, source, result, config, first_poll=first_poll, now=moment)
    report.found = len(raws)
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
    specs = [FeedSpec("all", "All items", "Every item from every source", newest["all"])]
    for slug, category in config.categories.items():
        description = category.description or category.title
        specs.append(FeedSpec(slug, category.title, description, newest[slug], limit=limits[slug]))
    specs.append(health_spec(config, store.states(), now))
    return specs


def publish_from_store(config: Config, store: Store, now: datetime | None = None) -> list[Path]:
    moment = now or datetime.now(timezone.utc)
    specs = feed_specs(config, store, moment)
    return publish(
        specs, config.output_dir, config.settings.base_url, config.settings.feed_entries, hub=config.settings.websub_hub
    )


@dataclass(slots=True)
class Preview:
    """What `aggregator try` shows: items as they would be stored, and why they land where they do."""

    url: str
    kind: str  # "feed", "list" or "article"
    items: list[Item] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # item key -> classification reasons
    chosen: str | None = None  # auto-detected selectors, as TOML
    feed_url: str | None = None
    article: dict[str, str | None] | None = None


async def preview(source: Source, config: Config, fetcher: Fetcher, *, article: bool) -> Preview:
    """Fetch one page and extract it exactly as a poll would, without touching the store."""
    moment = datetime.now(timezone.utc)
    zone = config.zone_of(source)
    result = await fetcher.fetch(source.url, headers=source.headers, respect_robots=source.respect_robots)
    if article:
        page = read_article(result, source, zone, moment)
        return Preview(
            url=result.url,
            kind="article",
            article={
                "title": page.title,
                "published": page.published.isoformat() if page.published else None,
                "source": page.origin,
                "author": page.author,
                "original_url": page.original_url,
                "content_html": page.content_html,
                "content_text": page.content_text,
            },
        )
    out = Preview(url=result.url, kind="list")
    if _reads_as_feed(source, result):
        out.kind = "feed"
        _title, raws = extract_feed(result)
    else:
        page = read_list(result, source, zone, moment, source.list_selectors)
        raws, out.chosen, out.feed_url = list(page.items), page.chosen, page.feed_url
    for item in normalise_all(raws, source.name, zone, moment):
        verdict = classify(item, source, config)
        item.categories = verdict.categories
        out.reasons[item.key] = verdict.reasons + ([] if verdict.keep else ["dropped by the source's filters"])
        out.items.append(item)
    return out
