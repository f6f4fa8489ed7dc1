"""The wiring: one poll of one source, and one publish run.

A poll: the source's page (fetch: `Transport`) -> its rows (read: the reader of its kind)
-> article pages and documents (enrich) -> normalise -> classify (keep/drop) -> store (diff).
A publish run: the store -> classify (current rules) -> publish.
Each stage only receives what the stage before it returned; none knows the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import rediscover
from .classify import classify, reclassify_if_needed
from .config import Config, Settings, Source
from .enrich import MAX_ARTICLES_PER_POLL, MAX_DOCUMENTS_PER_POLL, Budget, DocumentLimits, enrich, mark_documents
from .fetch import Fetcher, Transport, Validators
from .models import ErrorKind, Item, RawItem, SourceError, StoredEntry, utc_iso
from .normalise import normalise_all
from .normalise.urls import item_key
from .publish import FeedSpec, publish
from .publish.health import health_spec
from .read import ReadContext, reader_for
from .store import OutputError, SourceState, Store, StoreError, unusable

log = logging.getLogger(__name__)


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
    left_unread: int = 0  # rows whose pages wait for the next poll (over the cap or out of time)
    frame_url: str | None = None  # the list was read from this iframe of the page
    rendered: str | None = None  # the list page was read in the browser, and why
    http_status: int | None = None  # of a failure that had one
    column_hint: str | None = None  # where the source's column seems to have moved (rediscover)

    def line(self) -> str:
        return self._line() + (f" (in the browser: {self.rendered})" if self.rendered else "")

    def _line(self) -> str:
        if not self.ok:
            kind = f"{self.error_kind.value}: " if self.error_kind else ""
            hint = f" — {self.column_hint}" if self.column_hint else ""
            return f"{self.source}: FAILED {kind}{self.error}{hint}"
        if self.not_modified:
            return f"{self.source}: not modified"
        line = f"{self.source}: {self.found} found, {self.new} new, {self.changed} changed, {self.reposts} reposts"
        if self.notes:  # article pages that failed, rows left for later: said, not only counted
            shown = "; ".join(self.notes[:3])
            more = f" (+{len(self.notes) - 3} more)" if len(self.notes) > 3 else ""
            line += f"; {shown}{more}"
        return line


async def poll_source(
    source: Source,
    config: Config,
    fetcher: Fetcher,
    store: Store,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    time_limit: float | None = None,
) -> PollReport:
    """Poll one source and diff its items into the store. Never raises for a source's own failure.

    `time_limit`: the seconds the caller will give this poll (see `poll_time_limit`). Article
    pages and documents are fetched during the first part of it (`Budget`); what was read by
    then is stored and the rest is left for the next poll, so a slow or busy site's poll keeps
    its work.
    """
    started = time.monotonic()
    report = PollReport(source.name)
    try:
        state = store.state(source.name)
    except StoreError as exc:  # its database is down: nothing fetched, nothing lost; tried again later
        report.ok, report.error_kind, report.error = False, ErrorKind.STORE, str(exc)
        log.warning("%s: store: %s", source.name, exc, extra={"poll_failure": True})
        return report
    moment = now()
    state.last_attempt = utc_iso(moment)
    transport = Transport(fetcher, source, config.settings)
    budget = None if time_limit is None else Budget.of(started, time_limit)
    try:
        await _poll(source, config, transport, store, state, report, moment, budget)
    except SourceError as exc:
        report.ok, report.error_kind, report.error, report.retry_after = False, exc.kind, exc.message, exc.retry_after
        report.http_status = exc.status
    except StoreError as exc:  # the store went away mid-poll: what was staged stays staged
        report.ok, report.error_kind, report.error = False, ErrorKind.STORE, str(exc)
    except Exception as exc:  # a bug or a page we did not foresee must not stop the other sources
        log.exception("%s: unexpected error", source.name)
        report.ok, report.error_kind, report.error = False, ErrorKind.PARSE, f"{type(exc).__name__}: {exc}"
    report.rendered = transport.rendered
    _record_outcome(state, report, moment)
    report.column_hint = await rediscover.after_poll(
        source, config, transport, state, ok=report.ok, kind=report.error_kind, status=report.http_status
    )
    if report.rendered or source.render is True:
        # A render = true source needs the browser whether or not this visit succeeded.
        state.rendered, state.rendered_at = report.rendered or "render = true", utc_iso(moment)
    if not report.ok:
        log.warning(
            "%s: %s: %s%s", source.name, report.error_kind.value if report.error_kind else "error", report.error,
            f" — {report.column_hint}" if report.column_hint else "",  # the daemon's user reads the log
            extra={"poll_failure": True},  # `poll --once` prints it in its summary instead
        )
    store.set_state(source.name, state)
    try:
        store.commit(lazy=True)
    except StoreError as exc:  # staged items and state stay staged; the daemon's committer retries and says so
        log.debug("%s: commit deferred: %s", source.name, exc)
    report.seconds = time.monotonic() - started
    return report


async def _poll(
    source: Source,
    config: Config,
    transport: Transport,
    store: Store,
    state: SourceState,
    report: PollReport,
    moment: datetime,
    budget: Budget | None,
) -> None:
    # Older pages are read on the first poll, and again while rows from them wait.
    first_poll = state.last_success is None or state.backfill_pending
    seen = Validators(state.etag, state.last_modified, state.body_hash)
    page = await transport.source_page(reader_for(source).request(source), seen)
    if page.not_modified:
        report.not_modified = True
        state.etag = page.etag or state.etag
        state.last_modified = page.last_modified or state.last_modified
        return
    if rediscover.redirected_home(source.url, page.url):  # a redesign dropped the column: not its items
        raise SourceError(ErrorKind.REDIRECTED_HOME, f"{source.url} now redirects to the site's home page {page.url}")
    zone = config.zone_of(source)
    context = ReadContext(
        source, zone, moment, transport.page, older_pages=source.backfill_pages if first_poll else 0,
        stored=lambda key: _stored_entry(store, key),
    )
    rows = await reader_for(source, page).read(page, context)
    report.found, report.frame_url = len(rows.items), rows.frame_url
    raws = rows.items
    mark_documents(raws)
    if not raws:
        raise SourceError(ErrorKind.EMPTY, _empty_message(source, rows.empty_error, state.max_items_seen))
    remembered = Validators(page.etag, page.last_modified, page.body_hash) if rows.page_validators else Validators(body_hash="")
    fetch_articles = source.fetch_articles if source.fetch_articles is not None else rows.wants_articles
    if fetch_articles:
        limits = DocumentLimits(config.settings.attachment_max_bytes, config.settings.attachment_timeout)

        def known(raw: RawItem) -> bool:
            key = item_key(raw.url, raw.upstream_id)
            return store.list_hash(key, source.name) == raw.list_hash or store.is_tombstoned(key)

        enriched = await enrich(
            raws, transport, source, zone=zone, now=moment, limits=limits, known=known, budget=budget,
            failed_before=state.page_failures, case_pages_before=state.case_pages,
        )
        raws = enriched.rows
        state.page_failures, state.case_pages = enriched.failed, enriched.case_pages
        report.notes += enriched.notes
        if enriched.retry_after:
            report.retry_after = max(report.retry_after or 0.0, enriched.retry_after)
        state.backfill_pending = bool(enriched.deferred and first_poll and source.backfill_pages)
        state.left_unread = enriched.unread
        report.left_unread = enriched.unread
        if enriched.deferred:
            remembered = Validators(body_hash="")  # so the next poll reads the page again and takes these up
            why = " (the poll's time ran out)" if enriched.out_of_time else ""
            report.notes.append(f"{enriched.deferred} item(s) left for the next poll{why}")
    items: list[Item] = []
    for item in normalise_all(raws, source.name, zone, moment):
        verdict = classify(item, source, config)
        if verdict.keep:
            item.categories = verdict.categories
            items.append(item)
    diff = store.apply(source.name, items, moment)
    report.new, report.changed, report.reposts = len(diff.new), len(diff.changed), len(diff.reposts)
    state.etag, state.last_modified, state.body_hash = remembered.etag, remembered.last_modified, remembered.body_hash
    state.items_last_poll = report.found
    if not fetch_articles:
        state.left_unread = 0
    state.max_items_seen = max(state.max_items_seen, report.found)
    if diff.new:
        state.last_new_item = utc_iso(moment)
    report.pruned = store.prune(
        source.name,
        max_age=timedelta(days=config.settings.retention_days),
        max_count=config.settings.retention_count,
        now=moment,
    )


def _empty_message(source: Source, reader_says: str | None, max_items_seen: int) -> str:
    if reader_says:
        return reader_says
    if max_items_seen > 0:
        return f"{source.url}: the page yielded no items (it had {max_items_seen} before); its layout may have changed"
    return f"{source.url}: no items found; check the source's selectors with `aggregator try`"


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

    async def one(source: Source) -> PollReport:
        async with limit:
            deadline = poll_time_limit(config.settings, source)
            try:
                report = await asyncio.wait_for(poll_source(source, config, fetcher, store, time_limit=deadline), deadline)
            except TimeoutError:
                report = timed_out(source.name, deadline)
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


def poll_time_limit(settings: Settings, source: Source) -> float:
    """Seconds one poll of `source` may take before it is cut off (a hung site, a stuck parse).

    Room for a few slow answers (each within `timeout`) plus the spacing that politeness puts
    between the requests a first poll makes to one host: its list page, its older pages, up
    to MAX_ARTICLES_PER_POLL article pages and MAX_DOCUMENTS_PER_POLL documents, `host_delay` apart.
    """
    requests = 1 + source.backfill_pages + MAX_ARTICLES_PER_POLL + MAX_DOCUMENTS_PER_POLL
    return settings.timeout * 4 + 30 + settings.host_delay * requests


def timed_out(name: str, seconds: float) -> PollReport:
    """The report of a poll cut off by its time limit (nothing it fetched was stored)."""
    return PollReport(
        name, ok=False, error_kind=ErrorKind.TIMEOUT, error=f"poll took longer than {seconds:g}s", seconds=seconds
    )


def _record_outcome(state: SourceState, report: PollReport, moment: datetime) -> None:
    """Fold one poll's outcome into the source's state (never-ending retries; 410 marks it gone)."""
    state.last_attempt = utc_iso(moment)
    if report.ok:
        state.last_success = state.last_attempt
        state.consecutive_failures = 0
        state.failing_since = None
        state.last_error = state.last_error_kind = None
        state.retry_after_until = None
        state.gone = False  # a 410 seen before no longer holds once the address answers (poll --once)
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
    try:
        state = store.state(name)
        _record_outcome(state, report, now)
        store.set_state(name, state)
        store.commit()
    except StoreError as exc:  # the store is down too: the failure is logged, not recorded
        log.error("%s: cannot record the failure: %s", name, exc)


def feed_specs(config: Config, store: Store, now: datetime) -> list[FeedSpec]:
    """One spec per category, plus `all` and the health feed."""
    default = config.settings.feed_entries
    limits = {"all": default} | {slug: c.feed_entries or default for slug, c in config.categories.items()}
    newest = store.newest(limits)
    born = store.created  # an empty feed's `updated`: stable, so regenerating it changes no byte
    sources = {source.name: source for source in config.sources}  # entries name their authority
    specs = [FeedSpec("all", "All items", "Every item from every source", newest["all"], empty_updated=born, sources=sources)]
    for slug, category in config.categories.items():
        description = category.description or category.title
        specs.append(FeedSpec(
            slug, category.title, description, newest[slug], limit=limits[slug], empty_updated=born, sources=sources
        ))
    specs.append(health_spec(config, store.states(), now, empty_updated=born))
    return specs


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


def _stored_entry(store: Store, key: str) -> StoredEntry | None:
    """The item stored under `key` as readers may ask of it (a pruned one: no title, no date)."""
    if store.is_tombstoned(key):
        return StoredEntry("", None)
    item = store.get(key, with_body=False)
    return StoredEntry(item.title, item.published) if item is not None else None
