"""The daemon: polls every source on its own schedule, publishes, serves, reloads its config.

Scheduling policy lives in pure functions (`schedule_policy.py`: `next_run`,
`backoff_delay`, `spread_window`) that take the time and a random generator as
arguments, so tests check them with fixed times. The `Daemon` gets its clock injected too;
APScheduler only decides *when* to call `Daemon.poll`, and after each poll the
daemon sets that source's next run from the stored state (interval with
jitter, capped exponential back-off after failures, never earlier than a
server's Retry-After). Because the schedule is derived from stored state, a
restart resumes the cadence instead of polling everything at once.

One Store and one Fetcher serve the whole process: the store's lock makes a
second daemon on the same store refuse to start, and the shared Fetcher is
what enforces per-host concurrency and spacing across sources.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .classify import forget_classification, reclassify_if_needed
from .config import Config, ConfigError, Settings, Source, load_config
from .fetch import Fetcher, fetcher_for
from .infra.workers import start_workers, stop_workers
from .infra.writable import Trouble
from .pipeline import (
    PollReport,
    cycle_line,
    housekeeping,
    poll_source,
    poll_time_limit,
    publish_from_store,
    record_failure,
    timed_out,
)
from .publish.claim import OutputClaim
from .publish.health import HEALTH_SLUG, HEALTH_TITLE, source_health, write_health, write_problems
from .schedule_policy import DEFAULT_POLICY, Policy, in_words, next_run, spread_window
from .store import OutputError, SourceState, Store, StoreError, open_store, unwritten_at_exit

log = logging.getLogger("aggregator.daemon")

Clock = Callable[[], datetime]


HOUSEKEEPING_EVERY = 24 * 3600.0
EXIT_PORT = 4  # the [serve] port is taken (cli/common.py's codes: 2 config, 3 store or feeds directory)


STORE_RETRY = 10.0  # seconds between attempts to read an unreachable store for /status


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _fetch_settings(settings: Settings) -> tuple[Any, ...]:
    return (
        settings.user_agent,
        settings.timeout,
        settings.max_bytes,
        settings.host_concurrency,
        settings.host_delay,
        settings.concurrency,
        # The Fetcher's defaults for the sources' network options.
        settings.host_delay_max,
        settings.proxy,
        settings.referer,
        settings.warmup,
        settings.cookies,
    )


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class Daemon:
    """Owns the store, fetcher, scheduler and HTTP server of one `aggregator run`."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        policy: Policy = DEFAULT_POLICY,
        poll_time_limit: float | None = None,
        serve: bool = True,
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.policy = policy
        self._poll_time_limit = poll_time_limit
        self._serve = serve and config.serve.enabled
        self._sources: dict[str, Source] = {s.name: s for s in config.sources if s.enabled}
        self.store: Store | None = None
        self._status_basis: tuple[dict[str, int], dict[str, SourceState]] = ({}, {})  # last read for /status
        self._store_error: str | None = None
        self._store_retry_at = 0.0
        self.fetcher: Fetcher | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.server: Any = None  # serve.FeedServer, imported lazily
        self.reports: dict[str, PollReport] = {}  # the last poll of each source
        self._inflight: set[asyncio.Task[Any]] = set()
        self._limit = asyncio.Semaphore(config.settings.concurrency)
        self._content_dirty = True  # publish once at start so feeds exist before the first poll
        self._publish_wanted: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._background: list[asyncio.Task[None]] = []
        self._config_signature = _file_signature(config.path) if config.path else None
        self.reloads = 0  # applied reloads, for tests and logs
        self._cycle: list[PollReport] = []  # polls since the last cycle line
        self._cycle_started = 0.0
        self.websub: Any = None  # websub.HubPinger when [settings] websub_hub is set
        self.notifier: Any = None  # notify.Notifier when the config has [[notify]] targets
        self._output_claim: OutputClaim | None = None  # the feeds folder is ours while we run
        self._store_trouble = Trouble(log, "the store is written again")
        self._output_trouble = Trouble(log, "the feeds folder is written again")

    # -- lifecycle ---------------------------------------------------------

    async def start(self, *, paused: bool = False) -> None:
        """Open the store, schedule every source and start serving; `paused` keeps jobs from firing (tests)."""
        self._publish_wanted = asyncio.Event()
        self._stopping = asyncio.Event()
        self.store = open_store(self.config.store_location)  # raises StoreLocked if another daemon owns it
        try:
            self._output_claim = OutputClaim(self.config.output_dir, self.config.store_display, "run")
            reclassify_if_needed(self.config, self.store)  # the config may have changed while we were stopped
            self.fetcher = fetcher_for(self.config)
            start_workers(self.config.worker_count())
            # Started inside the running loop: APScheduler 3.11 binds to the loop current at start().
            self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
            self.scheduler.start(paused=paused)
            self._start_websub()
            self._start_notifier()
            now = self.clock()
            window = spread_window(self.config.settings.default_interval, len(self._sources), self.policy)
            for source in self._sources.values():
                self._schedule(source, now, spread=min(window, self.config.interval_of(source)))
            self.publish_now()
            if self._serve:
                from .serve import FeedServer

                self.server = FeedServer(get_config=lambda: self.config, status=self.status_document)
                host, port = await self.server.start(self.config.serve.host, self.config.serve.port)
                log.info("serving feeds on http://%s:%d/ (files in %s)", host, port, self.config.output_dir)
        except BaseException:
            await self._close_resources()
            raise
        self._background = [
            asyncio.create_task(self._publisher(), name="publisher"),
            asyncio.create_task(self._housekeeper(), name="housekeeper"),
            asyncio.create_task(self._committer(), name="committer"),
        ]
        if self.config.path is not None:
            self._background.append(asyncio.create_task(self._watch_config(), name="config-watcher"))
        log.info(
            "daemon started: %d source(s), store %s, feeds %s",
            len(self._sources),
            self.config.store_display,
            self.config.output_dir,
        )

    def request_stop(self, why: str = "stop requested") -> None:
        if self._stopping is not None and not self._stopping.is_set():
            log.info("%s: stopping", why)
            self._stopping.set()

    async def wait_stopped(self) -> None:
        assert self._stopping is not None
        await self._stopping.wait()

    async def shutdown(self) -> None:
        """Stop polling, let in-flight polls finish briefly, flush the store, write feeds."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background = []
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # no new polls start from here on
        inflight = set(self._inflight)
        if inflight:
            log.info("waiting up to %gs for %d poll(s) in flight", self.policy.stop_grace, len(inflight))
            _done, pending = await asyncio.wait(inflight, timeout=self.policy.stop_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.server is not None:
            await self.server.close()
            self.server = None
        if self.store is not None:
            try:
                self.publish_now()
            except StoreError as exc:  # a full disk: one line, not a traceback
                log.error("final publish failed; the feeds keep their previous content: %s", exc)
            except Exception:  # a failed final publish must not keep the store from closing cleanly
                log.exception("final publish failed; the feeds keep their previous content")
        await self._close_resources()
        log.info("daemon stopped")

    async def _close_resources(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        if self.server is not None:
            await self.server.close()
            self.server = None
        if self.fetcher is not None:
            await self.fetcher.aclose()
            self.fetcher = None
        if self.websub is not None:
            await self.websub.close()
            self.websub = None
        if self.notifier is not None:
            await self.notifier.close()  # before the store closes: what is unsent stays in it
            self.notifier = None
        stop_workers()
        try:
            if self.store is not None:
                store, self.store = self.store, None
                store.close()  # commits anything staged, releases the lock
        except StoreError as exc:
            raise unwritten_at_exit(exc) from None
        finally:
            if self._output_claim is not None:
                self._output_claim.release()
                self._output_claim = None

    # -- scheduling --------------------------------------------------------

    def poll_time_limit(self, source: Source) -> float:
        return self._poll_time_limit if self._poll_time_limit is not None else poll_time_limit(self.config.settings, source)

    def _schedule(self, source: Source, now: datetime, *, spread: float) -> datetime | None:
        """(Re)create the job of one source, first run derived from its stored state."""
        assert self.scheduler is not None and self.store is not None
        interval = self.config.interval_of(source)
        state = self.store.state(source.name)
        when = next_run(state, interval, now, self.rng, spread=spread, policy=self.policy)
        if when is None:
            self._unschedule(source.name)
            log.error("%s: gone (HTTP 410) since %s; not polled. Change its url or remove it", source.name, state.last_attempt)
            return None
        self.scheduler.add_job(
            self.poll,
            # The interval trigger is the fallback cadence; after every poll the
            # job's next run is set from the policy (back-off, Retry-After).
            trigger=IntervalTrigger(seconds=interval, jitter=int(interval * self.policy.jitter), timezone=timezone.utc),
            args=[source.name],
            id=source.name,
            name=source.name,
            next_run_time=when,
            # The defaults skip a run that is >1 s late (e.g. the loop was busy or the
            # machine slept) without a word. A run up to one interval late still happens,
            # and several missed runs collapse into one.
            misfire_grace_time=max(60, int(interval)),
            coalesce=True,
            # One poll of a source at a time; the poll deadline guarantees the next can start.
            max_instances=1,
            replace_existing=True,
        )
        log.debug("%s: next poll %s", source.name, in_words(when, now))
        return when

    def _unschedule(self, name: str) -> None:
        if self.scheduler is None:
            return
        try:
            self.scheduler.remove_job(name)
        except JobLookupError:
            pass  # not scheduled (gone, or removed by a reload during its poll)

    def next_run_time(self, name: str) -> datetime | None:
        """The scheduled next poll of a source, None if it is not scheduled."""
        job = self.scheduler.get_job(name) if self.scheduler is not None else None
        return job.next_run_time if job is not None else None

    async def poll(self, name: str) -> PollReport | None:
        """The job of one source: poll it within the deadline, then schedule its next run."""
        source = self._sources.get(name)
        if source is None or self.store is None or self.fetcher is None:
            return None
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        config = self.config  # a reload during the poll does not mix two configs into one poll
        deadline = self.poll_time_limit(source)
        try:
            async with self._limit:
                try:
                    report = await asyncio.wait_for(
                        poll_source(source, config, self.fetcher, self.store, now=self.clock, time_limit=deadline), deadline
                    )
                except TimeoutError:
                    report = timed_out(name, deadline)
                    record_failure(self.store, name, report, self.clock())
                    log.warning("%s: %s", name, report.error)
        except asyncio.CancelledError:
            # Only shutdown cancels polls; the store keeps the previous state of this source.
            log.info("%s: poll cancelled by shutdown", name)
            return None
        finally:
            if task is not None:
                self._inflight.discard(task)
        if self.config is not config:
            # Reloaded mid-poll: this poll's items were sorted by the old rules.
            forget_classification(self.store)
            self._content_dirty = True
        self.reports[name] = report
        if not self._cycle:
            self._cycle_started = time.monotonic() - report.seconds
        self._cycle.append(report)
        self._after_poll(source, report)
        return report

    def _after_poll(self, source: Source, report: PollReport) -> None:
        assert self.store is not None
        now = self.clock()
        try:
            state = self.store.state(source.name)
        except StoreError:  # its database is down (the poll said so): try again in one interval
            state = SourceState(consecutive_failures=1, last_attempt=now.isoformat())
        if report.ok and (report.new or report.changed or report.reposts):
            log.info("%s", report.line())
        elif report.ok:
            log.debug("%s", report.line())
        when = next_run(state, self.config.interval_of(source), now, self.rng, policy=self.policy)
        if when is None:
            self._unschedule(source.name)
            log.error("%s: gone (HTTP 410); no longer polled. Change its url or remove it", source.name)
        elif source.name in self._sources and self.scheduler is not None:
            try:
                self.scheduler.modify_job(source.name, next_run_time=when)
            except JobLookupError:
                pass  # removed by a reload while it was polling
            if not report.ok:
                why = "after Retry-After" if state.retry_after_until else "back-off"
                log.warning(
                    "%s: failure %d in a row; next try %s (%s)",
                    source.name,
                    state.consecutive_failures,
                    in_words(when, now),
                    why,
                )
        if report.new or report.changed or report.reposts or report.pruned:
            self._content_dirty = True
        if self._publish_wanted is not None:
            self._publish_wanted.set()  # health may have changed even when content did not
        if self.notifier is not None:
            self.notifier.after_poll(source.name, report.new)  # only queues; sending is the notifier's task

    # -- publishing --------------------------------------------------------

    def publish_now(self) -> None:
        """Write the content feeds if the store changed, and the health feed."""
        assert self.store is not None
        if self._content_dirty:
            self._content_dirty = False
            try:
                if self.store.commit():  # a feed never shows an item the store could still lose
                    self._store_trouble.cleared()
                changed = publish_from_store(self.config, self.store, self.clock())
            except BaseException:
                self._content_dirty = True  # try again next time
                raise
            if changed:
                log.info("published %d changed file(s) to %s", len(changed), self.config.output_dir)
                self._announce(changed)
            return  # publish_from_store wrote the health feed too
        if write_health(self.config, self.store.states(), self.clock(), empty_updated=self.store.created):
            log.info("health feed updated")
            self._announce([self.config.output_dir / f"{HEALTH_SLUG}.atom"])

    def _start_notifier(self) -> None:
        if self.config.notify and self.notifier is None and self.store is not None:
            from .notify import Notifier

            self.notifier = Notifier(self.config, self.store, self.clock)
            self.notifier.start()
        elif self.notifier is not None:
            self.notifier.apply_config(self.config)

    def _start_websub(self) -> None:
        hub = self.config.settings.websub_hub
        if hub:
            from .publish.websub import HubPinger

            self.websub = HubPinger(hub, user_agent=self.config.settings.user_agent)
            self.websub.start()

    def _announce(self, changed: list[Path]) -> None:
        """Tell the WebSub hub (if any) which feeds this publish changed; never blocks the caller."""
        if self.websub is not None:
            self.websub.announce_changed(changed, self.config.settings.base_url)

    async def _publisher(self) -> None:
        assert self._publish_wanted is not None
        while True:
            # Nothing wakes us when space is freed: while writes fail, retry on a timer as well. (Not
            # wait_for: on Python 3.11 it can swallow the cancellation that stops the daemon.)
            failing = self._store_trouble.error or self._output_trouble.error
            wanted = asyncio.ensure_future(self._publish_wanted.wait())
            try:
                await asyncio.wait({wanted}, timeout=self.policy.write_retry_every if failing else None)
            finally:
                wanted.cancel()
            self._publish_wanted.clear()
            try:
                self.publish_now()
            except OutputError as exc:  # a named condition (disk full, folder read-only): one line a minute
                self._output_trouble.failed(str(exc))
            except StoreError as exc:  # its commit: staged items are kept and published once it is written
                self._store_trouble.failed(str(exc))
            except Exception:  # a feedgen bug...: logged, retried on the next change
                log.exception("publishing failed; will retry")
            else:
                self._output_trouble.cleared()
            self.log_cycle()
            # Debounce: polls finishing during this pause are covered by the next publish.
            await asyncio.sleep(self.policy.publish_every)

    def log_cycle(self) -> None:
        """One INFO line for the polls that finished since the last one (a publish's worth)."""
        if self._cycle:
            log.info("%s", cycle_line(self._cycle, time.monotonic() - self._cycle_started))
            self._cycle = []

    async def _committer(self) -> None:
        """Write staged poll state and items on a timer: `status` reads the file, and a source
        that failed once and backs off for hours would otherwise stay unwritten until its next poll."""
        assert self.store is not None
        while True:
            await asyncio.sleep(self.policy.commit_check_every)
            wrote = False
            try:
                wrote = self.store.commit(lazy=True, state_every=self.policy.state_commit_every)
            except StoreError as exc:  # disk full, database down: staged changes are kept and retried
                self._store_trouble.failed(str(exc))  # said when it starts, then once a minute
            if wrote and self._store_trouble.error is not None:
                self._store_trouble.cleared()
                assert self._publish_wanted is not None
                self._publish_wanted.set()  # what waited for the store goes to the feeds now

    async def _housekeeper(self) -> None:
        assert self.store is not None
        while True:
            try:
                housekeeping(self.config, self.store, self.clock())
            except StoreError as exc:  # a full disk must not stop polling; retried tomorrow
                self._store_trouble.failed(str(exc))
            except Exception:  # a bug must not stop polling; retried tomorrow
                log.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_EVERY)

    def status_document(self) -> dict[str, Any]:
        """Per-source health for /status.json. While the store cannot be read (its database is
        down), the last state read is shown with `store_error`, and the store is asked again
        at most every STORE_RETRY seconds: a connection attempt must not stall every request."""
        assert self.store is not None
        now = self.clock()
        try:
            if self._store_error is not None and time.monotonic() < self._store_retry_at:
                raise StoreError(self._store_error)
            self._status_basis = (self.store.counts_by_source(), self.store.states())
            self._store_error = None
        except StoreError as exc:
            self._store_error, self._store_retry_at = str(exc), time.monotonic() + STORE_RETRY
        counts, states = self._status_basis
        next_runs = {name: self.next_run_time(name) for name in self._sources}
        rows = source_health(self.config, states, now, counts=counts, next_runs=next_runs)
        document = {
            "generated": now.astimezone(timezone.utc).isoformat(),
            "health_feed": f"{HEALTH_SLUG}.atom",
            "health_title": HEALTH_TITLE,
            "sources": [row.as_dict() for row in rows],
            "notify": self.notifier.status() if self.notifier is not None else [],
        }
        if self._store_error is not None:
            document["store_error"] = self._store_error
        # What failed last, else whether a write would fail now (a full disk before anything was due).
        store_problem, output_problem = write_problems(self.config)
        for key, problem in (("store_write_error", self._store_trouble.error or store_problem),
                             ("output_error", self._output_trouble.error or output_problem)):
            if problem:
                document[key] = problem
        return document

    # -- config reload -----------------------------------------------------

    async def _watch_config(self) -> None:
        while True:
            await asyncio.sleep(self.policy.config_check_every)
            assert self.config.path is not None
            if _file_signature(self.config.path) != self._config_signature:
                self.reload("config file changed")

    def reload(self, why: str = "SIGHUP") -> bool:
        """Re-read the config file; apply it if valid, else log why and keep the running one."""
        path = self.config.path
        if path is None:
            log.warning("%s: no config file to reload", why)
            return False
        # Remember the file as seen now, so a bad file is reported once, not every check.
        self._config_signature = _file_signature(path)
        try:
            new = load_config(path)
        except ConfigError as exc:
            log.error("%s: config refused, keeping the running one: %s", why, exc)
            return False
        for warning in new.warnings():
            log.warning("%s: %s", why, warning)
        if self._output_claim is not None and new.output_dir != self._output_claim.folder:
            try:  # the new feeds folder must be ours too, or we keep publishing to the old one
                claim = OutputClaim(new.output_dir, self.config.store_display, "run")
            except OutputError as exc:
                log.error("%s: config refused, keeping the running one: %s", why, exc)
                return False
            self._output_claim.release()
            self._output_claim = claim
        self.apply_config(new, why)
        return True

    def apply_config(self, new: Config, why: str = "reload") -> None:
        """Apply a valid config without losing state: start added sources, stop removed, reschedule changed."""
        old = self.config
        needs_restart = [
            what
            for what, before, after in (
                ("store", old.store_location, new.store_location),
                ("[serve]", old.serve, new.serve),
                ("fetch settings (user_agent, timeout, max_bytes, concurrency, host_*, proxy, referer, warmup, cookies)",
                 _fetch_settings(old.settings), _fetch_settings(new.settings)),
            )
            if before != after
        ]
        if needs_restart:
            log.warning("%s: changes to %s apply after a restart", why, ", ".join(needs_restart))
        before = self._sources
        after = {s.name: s for s in new.sources if s.enabled}
        self.config = new
        self._sources = after
        now = self.clock()
        added = [name for name in after if name not in before]
        removed = [name for name in before if name not in after]
        changed = [
            name
            for name in after
            if name in before and (before[name] != after[name] or old.interval_of(before[name]) != new.interval_of(after[name]))
        ]
        for name in removed:
            self._unschedule(name)
            log.info("%s: removed from the config; no longer polled (its items stay in the store)", name)
        if self.store is not None and self.scheduler is not None:
            window = spread_window(new.settings.default_interval, len(added) + len(changed), self.policy)
            for name in added:
                when = self._schedule(after[name], now, spread=min(window, new.interval_of(after[name])))
                if when:
                    log.info("%s: added; first poll %s", name, in_words(when, now))
            for name in changed:
                source = after[name]
                if before[name].url != source.url:
                    self._forget_validators(name)
                when = self._schedule(source, now, spread=min(window, new.interval_of(source)))
                if when is not None and before[name].model_copy(update={"interval": None}) != source.model_copy(
                    update={"interval": None}
                ):
                    # What it fetches or extracts changed: show the effect soon, Retry-After still holds.
                    state = self.store.state(name)
                    soon = next_run(
                        SourceState(retry_after_until=state.retry_after_until), 0, now, self.rng, spread=window, policy=self.policy
                    )
                    if soon is not None and soon < when:
                        self.scheduler.modify_job(name, next_run_time=soon)
                        when = soon
                log.info("%s: changed; next poll %s", name, in_words(when, now) if when else "never (gone)")
        self._content_dirty = True  # categories or titles may differ
        if self.store is not None and self.scheduler is not None:
            self._start_notifier()  # new or changed [[notify]] targets
        if self._publish_wanted is not None:
            self._publish_wanted.set()
        self.reloads += 1
        log.info(
            "%s: config applied (%d added, %d removed, %d changed, %d sources)",
            why,
            len(added),
            len(removed),
            len(changed),
            len(after),
        )

    def _forget_validators(self, name: str) -> None:
        """A new URL: the old ETag/hash would answer for the wrong page, and a 410 of the old one no longer holds."""
        assert self.store is not None
        state = self.store.state(name)
        state.etag = state.last_modified = state.body_hash = None
        state.gone = False
        state.max_items_seen = 0
        self.store.set_state(name, state)
        self.store.commit()


async def _amain(config: Config, demo: bool, early_signals: list[int] | None = None) -> int:
    site = None
    if demo:  # a busy port raises PortUnavailable: exit 4 with the hint, as `poll --once --demo`
        from .demo import demo_port, start_demo_site

        site = start_demo_site(port=demo_port(s.url for s in config.sources))
        log.info("demo: sample site on %s", site.base_url)
    try:
        daemon = Daemon(config)
        from .serve import PortUnavailable

        try:
            await daemon.start()
        except PortUnavailable as exc:
            log.error("cannot start: %s (in %s)", exc, config.path)
            return EXIT_PORT
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, daemon.request_stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, daemon.request_stop, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, daemon.reload, "SIGHUP")
        for signum in early_signals or ():  # arrived while starting; handled now, in order
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                daemon.reload(f"{name} (during start-up)")
            else:
                daemon.request_stop(f"{name} (during start-up)")
        try:
            await daemon.wait_stopped()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await daemon.shutdown()
    finally:
        if site is not None:
            site.stop()
    return 0


def run_daemon(config_path: str, demo: bool = False, early_signals: list[int] | None = None) -> int:
    """`aggregator run`: returns 0 after a clean stop; ConfigError/StoreError propagate to the CLI.

    `early_signals`: signals received before the event loop's handlers existed (replayed).
    """
    config = load_config(config_path)
    for warning in config.warnings():
        log.warning("%s", warning)
    return asyncio.run(_amain(config, demo, early_signals))
