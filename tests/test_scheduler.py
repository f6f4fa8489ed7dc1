"""Scheduling policy (pure, fixed times), and the daemon driven with a controllable clock.

The daemon is started with its APScheduler paused, and its clock is a `FakeClock`;
tests call `Daemon.poll` themselves (exactly what the scheduled job calls) and read
the next run the daemon gave the job. Nothing here waits for an interval to pass.
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.cli import main
from aggregator.config import Config, load_config
from aggregator.models import ErrorKind
from aggregator.publish.health import HEALTH_FILE, incidents
from aggregator.schedule_policy import backoff_delay, next_run, spread_window
from aggregator.scheduler import Daemon, Policy
from aggregator.store import SourceState, open_store

from .conftest import Response, Site, write_config

T = TypeVar("T")
NOW = datetime(2024, 5, 10, 8, 0, tzinfo=timezone.utc)
FAST = Policy(publish_every=0.0, config_check_every=0.05, stop_grace=1.0, spread_per_source=0.2)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rss(*titles: str, base: str | None = None) -> str:
    # links differ per title set, so two sources do not list "the same" article
    base = base or f"https://example.gov.cn/{zlib.crc32('|'.join(titles).encode()):x}/"
    items = "".join(
        f"<item><title>{title}</title><link>{base}{i}.html</link><guid>{base}{i}.html</guid>"
        f"<pubDate>Fri, 10 May 2024 0{i % 10}:00:00 +0800</pubDate><description>{title}。</description></item>"
        for i, title in enumerate(titles)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>https://example.gov.cn/</link><description>d</description>{items}</channel></rss>'


def feed_source(name: str, url: str, *, interval: str = "60s", extra: str = "") -> str:
    return f'\n[[sources]]\nname = "{name}"\nurl = "{url}"\nkind = "feed"\ninterval = "{interval}"\n{extra}\n'


@asynccontextmanager
async def daemon_for(
    config: Config, clock: Callable[[], datetime] | None = None, *, paused: bool = True, **kwargs: Any
) -> AsyncIterator[Daemon]:
    daemon = Daemon(
        config, clock=clock or FakeClock(), rng=random.Random(7), policy=kwargs.pop("policy", FAST), serve=False, **kwargs
    )
    await daemon.start(paused=paused)
    try:
        yield daemon
    finally:
        await daemon.shutdown()


# -- pure policy ------------------------------------------------------------


def test_first_poll_is_spread_within_the_window() -> None:
    rng = random.Random(1)
    runs = [next_run(SourceState(), 1800, NOW, rng, spread=120) for _ in range(200)]
    assert all(NOW <= r <= NOW + timedelta(seconds=120) for r in runs if r)
    assert len({r for r in runs}) > 150  # really spread, not all at one instant


def test_spread_window_grows_with_sources_but_stays_under_interval_and_cap() -> None:
    assert spread_window(1800, 1) == 1.0
    assert spread_window(1800, 60) == 60.0
    assert spread_window(1800, 1000) == 180.0
    assert spread_window(90, 1000) == 90.0


def test_after_success_next_run_is_one_interval_after_the_last_attempt_with_jitter() -> None:
    state = SourceState(last_attempt=NOW.isoformat(), last_success=NOW.isoformat())
    for seed in range(50):
        due = next_run(state, 600, NOW, random.Random(seed))
        assert due is not None
        assert NOW + timedelta(seconds=540) <= due <= NOW + timedelta(seconds=660)


def test_restart_resumes_cadence_from_stored_state() -> None:
    last = NOW - timedelta(seconds=100)
    state = SourceState(last_attempt=last.isoformat(), last_success=last.isoformat())
    due = next_run(state, 600, NOW, random.Random(3), spread=60)
    assert due is not None and due >= last + timedelta(seconds=540)  # not "now": a restart does not hammer


def test_overdue_after_downtime_is_spread_not_in_the_past() -> None:
    last = NOW - timedelta(hours=5)
    state = SourceState(last_attempt=last.isoformat(), last_success=last.isoformat())
    runs = [next_run(state, 600, NOW, random.Random(seed), spread=90) for seed in range(30)]
    assert all(r is not None and NOW <= r <= NOW + timedelta(seconds=90) for r in runs)


def test_backoff_is_exponential_capped_and_never_gives_up() -> None:
    policy = Policy(backoff_cap=3600)
    rng = random.Random(5)
    delays = [backoff_delay(n, 300, rng, policy) for n in range(1, 40)]
    for n, delay in enumerate(delays, start=1):
        expected = min(3600, 300 * 2 ** (n - 1))
        assert expected * 0.9 <= delay <= expected
    state = SourceState(last_attempt=NOW.isoformat(), consecutive_failures=500, failing_since=NOW.isoformat())
    due = next_run(state, 300, NOW, rng, policy=policy)
    assert due is not None and due <= NOW + timedelta(seconds=3600)


def test_a_long_interval_is_its_own_backoff_cap() -> None:
    assert backoff_delay(10, 86400, random.Random(0), Policy(backoff_cap=3600)) <= 86400


def test_retry_after_is_honoured_even_when_backoff_is_shorter() -> None:
    until = NOW + timedelta(seconds=120)
    state = SourceState(
        last_attempt=NOW.isoformat(), consecutive_failures=1, failing_since=NOW.isoformat(), retry_after_until=until.isoformat()
    )
    for seed in range(20):
        due = next_run(state, 60, NOW, random.Random(seed))
        assert due is not None and due >= until


def test_gone_source_is_never_scheduled() -> None:
    state = SourceState(last_attempt=NOW.isoformat(), consecutive_failures=1, gone=True)
    assert next_run(state, 60, NOW, random.Random(0)) is None


_iso_times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc)
).map(lambda d: d.isoformat())


@settings(max_examples=300, deadline=None)
@given(
    last=st.one_of(st.none(), _iso_times),
    failures=st.integers(0, 10_000),
    retry=st.one_of(st.none(), _iso_times),
    interval=st.floats(60, 7 * 86400),
    spread=st.floats(0, 180),
    seed=st.integers(0, 2**32),
)
def test_next_run_is_never_in_the_past_and_always_bounded(
    last: str | None, failures: int, retry: str | None, interval: float, spread: float, seed: int
) -> None:
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    state = SourceState(last_attempt=last, consecutive_failures=failures, retry_after_until=retry)
    due = next_run(state, interval, now, random.Random(seed), spread=spread)
    assert due is not None and due >= now
    policy = Policy()
    latest = max(
        (datetime.fromisoformat(last) if last else now) + timedelta(seconds=max(interval * 1.1, policy.backoff_cap)),
        now + timedelta(seconds=max(spread, policy.max_retry_after)),
    )
    assert due <= latest


# -- the daemon with a controllable clock -------------------------------------


def test_429_retry_after_delays_the_next_run_by_at_least_that(site: Site, tmp_path: Path) -> None:
    site.add("/busy.xml", Response(b"slow down", status=429, headers={"Retry-After": "120"}, content_type="text/plain"))
    config = load_config(write_config(tmp_path, feed_source("busy", site.url("/busy.xml"))))
    clock = FakeClock(datetime.now(timezone.utc))

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            polled_at = clock()
            report = await daemon.poll("busy")
            assert report is not None and not report.ok and report.retry_after == 120
            nxt = daemon.next_run_time("busy")
            assert nxt is not None and nxt >= polled_at + timedelta(seconds=120)
            # the interval (60 s) and the first back-off (~60 s) would both have been sooner
            assert daemon.store is not None
            assert daemon.store.state("busy").retry_after_until is not None

    run(scenario())
    assert len(site.hits("/busy.xml")) == 1


def test_failures_back_off_exponentially_then_recover(site: Site, tmp_path: Path) -> None:
    healthy = {"ok": False}

    def page(_request: object) -> Response:
        if healthy["ok"]:
            return Response(rss("恢复正常的一条新闻标题").encode(), content_type="application/rss+xml")
        return Response(b"oops", status=500, content_type="text/plain")

    site.add("/flaky.xml", page)
    config = load_config(write_config(tmp_path, feed_source("flaky", site.url("/flaky.xml"))))
    clock = FakeClock()

    async def scenario() -> list[float]:
        gaps = []
        async with daemon_for(config, clock, policy=Policy(publish_every=0, backoff_cap=600, stop_grace=1)) as daemon:
            for _ in range(6):
                await daemon.poll("flaky")
                nxt = daemon.next_run_time("flaky")
                assert nxt is not None
                gaps.append((nxt - clock()).total_seconds())
                clock.now = nxt  # jump to the scheduled time: no real waiting
            healthy["ok"] = True
            report = await daemon.poll("flaky")
            assert report is not None and report.ok and report.new == 1
            nxt = daemon.next_run_time("flaky")
            assert nxt is not None and (nxt - clock()).total_seconds() <= 66  # back to the interval
            assert daemon.store is not None and daemon.store.state("flaky").consecutive_failures == 0
        return gaps

    gaps = run(scenario())
    for gap, expected in zip(gaps, [60, 120, 240, 480, 600, 600], strict=True):
        assert expected * 0.9 - 1 <= gap <= expected + 1


def test_state_survives_restart_and_schedules_from_it(site: Site, tmp_path: Path) -> None:
    site.add("/a.xml", rss("第一条新闻的标题足够长"), content_type="application/rss+xml")
    config = load_config(write_config(tmp_path, feed_source("a", site.url("/a.xml"), interval="10m")))
    clock = FakeClock()

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            await daemon.poll("a")
        clock.advance(120)
        async with daemon_for(config, clock) as daemon:
            nxt = daemon.next_run_time("a")
            # last attempt 2 min ago, interval 10 min: the next poll is ~8 min away, not now
            assert nxt is not None and nxt >= clock() + timedelta(seconds=360)

    run(scenario())


def test_gone_source_stops_and_is_announced(site: Site, tmp_path: Path) -> None:
    site.add("/old.xml", Response(b"gone", status=410, content_type="text/plain"))
    config = load_config(write_config(tmp_path, feed_source("old", site.url("/old.xml"))))

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            report = await daemon.poll("old")
            assert report is not None and report.error_kind is ErrorKind.GONE
            assert daemon.next_run_time("old") is None
            daemon.publish_now()

    run(scenario())
    health = feedparser.parse((tmp_path / "feeds" / HEALTH_FILE).read_bytes())
    assert [e.title for e in health.entries] == ["old: the source is gone (HTTP 410); it is no longer polled"]
    all_feed = (tmp_path / "feeds" / "all.atom").read_text()
    assert "410" not in all_feed and "gone" not in all_feed  # health never leaks into content feeds


def test_a_source_that_answers_again_after_a_410_is_polled_again(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A 410 during a redesign or an outage is not always for good: once `poll --once` of the same
    # address succeeds, the source is no longer "gone" (status, health feed) and the daemon polls it.
    site.add("/old.xml", Response(b"gone", status=410, content_type="text/plain"))
    path = write_config(tmp_path, feed_source("old", site.url("/old.xml")))
    assert main(["poll", "--once", str(path)]) == 1
    site.add("/old.xml", rss("示例新闻一号标题很长"), content_type="application/rss+xml")
    assert main(["poll", "--once", str(path)]) == 0
    capsys.readouterr()
    assert main(["status", str(path)]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("old ")]
    assert row.split()[1] == "ok" and "gone" not in row
    assert feedparser.parse((tmp_path / "feeds" / HEALTH_FILE).read_bytes()).entries == []

    async def scenario() -> None:
        async with daemon_for(load_config(path)) as daemon:
            assert daemon.next_run_time("old") is not None

    run(scenario())


def test_emptied_feed_produces_one_health_entry_that_evolves(site: Site, tmp_path: Path) -> None:
    content = {"body": rss("示例新闻一号标题很长", "示例新闻二号标题很长")}
    site.add("/news.xml", lambda _r: Response(content["body"].encode(), content_type="application/rss+xml"))
    config = load_config(write_config(tmp_path, feed_source("news", site.url("/news.xml"))))
    clock = FakeClock()
    health_path = tmp_path / "feeds" / HEALTH_FILE

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            await daemon.poll("news")
            daemon.publish_now()
            assert feedparser.parse(health_path.read_bytes()).entries == []

            content["body"] = rss()  # the source now lists nothing: a layout change upstream
            clock.advance(60)
            report = await daemon.poll("news")
            assert report is not None and report.error_kind is ErrorKind.FEED_EMPTY  # a feed has no selectors
            daemon.publish_now()
            first = feedparser.parse(health_path.read_bytes()).entries
            assert len(first) == 1 and "no longer lists any entries" in first[0].title
            assert "news" in first[0].title

            clock.advance(60)
            await daemon.poll("news")  # still empty: the same incident, not a second entry
            daemon.publish_now()
            second = feedparser.parse(health_path.read_bytes()).entries
            assert [(e.id, e.title, e.updated) for e in second] == [(e.id, e.title, e.updated) for e in first]

            clock.advance(config.settings.stale_after)  # failing for too long now
            await daemon.poll("news")
            daemon.publish_now()
            third = feedparser.parse(health_path.read_bytes()).entries
            assert len(third) == 1 and third[0].id == first[0].id
            assert "failing since" in third[0].title and third[0].updated != first[0].updated

            content["body"] = rss("示例新闻三号标题很长")
            clock.advance(60)
            report = await daemon.poll("news")
            assert report is not None and report.ok
            daemon.publish_now()
            assert feedparser.parse(health_path.read_bytes()).entries == []

    run(scenario())
    assert "no longer yields" not in (tmp_path / "feeds" / "all.atom").read_text()


def test_short_failure_streak_is_not_announced() -> None:
    config = Config.model_validate({"sources": [{"name": "s", "url": "http://x.test/"}]})
    state = SourceState(
        last_attempt=NOW.isoformat(), failing_since=NOW.isoformat(), consecutive_failures=2, last_error_kind="network",
        last_success=(NOW - timedelta(hours=1)).isoformat(),  # it worked before: a short streak heals itself
    )
    assert incidents(config, {"s": state}, NOW + timedelta(hours=1)) == []
    assert [i.kind for i in incidents(config, {"s": state}, NOW + timedelta(days=4))] == ["failing"]


def test_emptied_html_list_page_is_announced(site: Site, tmp_path: Path) -> None:
    pytest.importorskip("aggregator.extract.html_list")
    page = {"items": '<li><a href="/art/1.html">第一条执法新闻的标题</a><span>2024-05-01</span></li>'
                     '<li><a href="/art/2.html">第二条执法新闻的标题</a><span>2024-05-02</span></li>'}
    site.add(
        "/list.html",
        lambda _r: Response(f'<html><body><ul class="news">{page["items"]}</ul></body></html>'.encode()),
    )
    body = (
        f'\n[[sources]]\nname = "bureau"\nurl = "{site.url("/list.html")}"\nkind = "html"\n'
        'interval = "60s"\nfetch_articles = false\n[sources.list]\nitem = "ul.news li"\ndate = "span"\n'
    )
    config = load_config(write_config(tmp_path, body))
    clock = FakeClock()

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            first = await daemon.poll("bureau")
            assert first is not None and first.ok and first.found == 2, first
            page["items"] = ""
            clock.advance(60)
            report = await daemon.poll("bureau")
            assert report is not None and report.error_kind is ErrorKind.EMPTY
            daemon.publish_now()

    run(scenario())
    entries = feedparser.parse((tmp_path / "feeds" / HEALTH_FILE).read_bytes()).entries
    assert len(entries) == 1 and entries[0].title.startswith("bureau: the page no longer yields")


# -- reload -------------------------------------------------------------------


def test_reload_adds_removes_and_reschedules_without_losing_state(site: Site, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        site.add(f"/{name}.xml", rss(f"来源{name}的一条新闻标题"), content_type="application/rss+xml")
    path = write_config(tmp_path, feed_source("a", site.url("/a.xml")) + feed_source("b", site.url("/b.xml")))
    config = load_config(path)
    clock = FakeClock()

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            await daemon.poll("a")
            await daemon.poll("b")
            assert daemon.store is not None
            before = daemon.store.state("a")
            text = path.read_text().replace('interval = "60s"', 'interval = "30m"', 1)  # a changes
            text = text.replace(feed_source("b", site.url("/b.xml")), feed_source("c", site.url("/c.xml")))
            path.write_text(text)
            assert daemon.reload("test")
            assert daemon.next_run_time("b") is None
            assert daemon.next_run_time("c") is not None
            nxt_a = daemon.next_run_time("a")
            assert nxt_a is not None and nxt_a >= clock() + timedelta(minutes=25)  # from its state, new interval
            assert daemon.store.state("a") == before  # etag, items, counters kept
            assert len(daemon.store) == 2
            assert daemon.scheduler is not None
            job = daemon.scheduler.get_job("a")
            assert job is not None and job.trigger.interval == timedelta(minutes=30)

    run(scenario())


def test_invalid_config_is_refused_and_the_old_one_kept(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.add("/a.xml", rss("一条新闻的标题足够长"), content_type="application/rss+xml")
    path = write_config(tmp_path, feed_source("a", site.url("/a.xml")))
    config = load_config(path)

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            path.write_text(path.read_text() + '\n[[sources]]\nname = "bad"\nurl = "not a url"\n')
            with caplog.at_level(logging.ERROR, logger="aggregator.daemon"):
                assert not daemon.reload("SIGHUP")
            assert daemon.config is config
            assert daemon.next_run_time("a") is not None
            assert daemon.next_run_time("bad") is None

    run(scenario())
    assert "config refused" in caplog.text and "not a url" in caplog.text


def test_config_file_change_is_noticed_without_a_signal(site: Site, tmp_path: Path) -> None:
    site.add("/a.xml", rss("一条新闻的标题足够长"), content_type="application/rss+xml")
    path = write_config(tmp_path, feed_source("a", site.url("/a.xml")))

    async def scenario() -> None:
        async with daemon_for(load_config(path)) as daemon:
            path.write_text(path.read_text() + feed_source("z", site.url("/a.xml")))
            for _ in range(100):
                if daemon.reloads:
                    break
                await asyncio.sleep(0.02)
            assert daemon.reloads == 1 and daemon.next_run_time("z") is not None

    run(scenario())


# -- lifecycle ------------------------------------------------------------------


def test_scheduler_fires_first_polls_promptly_and_publishes(site: Site, tmp_path: Path) -> None:
    site.add("/a.xml", rss("第一条新闻的标题足够长"), content_type="application/rss+xml")
    site.add("/b.xml", rss("第二条新闻的标题足够长"), content_type="application/rss+xml")
    config = load_config(write_config(tmp_path, feed_source("a", site.url("/a.xml")) + feed_source("b", site.url("/b.xml"))))

    async def scenario() -> None:
        # real clock, real APScheduler: 2 sources are spread over at most 2 s
        daemon = Daemon(config, rng=random.Random(1), policy=FAST, serve=False)
        await daemon.start()
        try:
            for _ in range(300):
                if {"a", "b"} <= daemon.reports.keys():
                    break
                await asyncio.sleep(0.02)
            assert {"a", "b"} <= daemon.reports.keys()
        finally:
            await daemon.shutdown()

    run(scenario())
    assert len(site.hits("/a.xml")) == 1 and len(site.hits("/b.xml")) == 1
    assert "第一条新闻" in (tmp_path / "feeds" / "all.atom").read_text()
    with open_store(tmp_path / "store.json") as store:  # closed cleanly: the lock is free again
        assert len(store) == 2


def test_shutdown_cancels_a_hung_poll_within_the_grace(tmp_path: Path) -> None:
    async def scenario() -> float:
        hung = await asyncio.start_server(lambda r, w: asyncio.sleep(3600), "127.0.0.1", 0)
        port = hung.sockets[0].getsockname()[1]
        path = write_config(tmp_path, feed_source("hung", f"http://127.0.0.1:{port}/x.xml"))
        # The fetch alone would wait 120 s: a shutdown well before that is the grace's cancellation.
        path.write_text(path.read_text(encoding="utf-8").replace("timeout = 10", "timeout = 120"), encoding="utf-8")
        config = load_config(path)
        daemon = Daemon(config, clock=FakeClock(), policy=FAST, serve=False)
        await daemon.start(paused=True)
        task = asyncio.create_task(daemon.poll("hung"))
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await daemon.shutdown()
        took = loop.time() - started
        assert task.done()
        hung.close()
        return took

    assert run(scenario()) < 60  # FAST.stop_grace (1 s) and the cancellation, never the fetch's 120 s
    with open_store(tmp_path / "store.json"):
        pass


def test_second_daemon_on_the_same_store_refuses(tmp_path: Path) -> None:
    from aggregator.store import StoreLocked, open_store

    config = load_config(write_config(tmp_path, ""))

    async def scenario() -> None:
        async with daemon_for(config):
            with pytest.raises(StoreLocked):
                await Daemon(config, serve=False).start(paused=True)

    run(scenario())


def test_demo_site_fills_feeds(tmp_path: Path) -> None:
    pytest.importorskip("aggregator.extract.html_list")
    from aggregator.demo import DEMO_BASE, start_demo_site

    demo = start_demo_site(port=0)
    try:
        text = (Path(__file__).parents[1] / "config" / "demo.toml").read_text(encoding="utf-8")
        text = text.replace(DEMO_BASE, demo.base_url).replace("../.state/demo/", "")
        path = tmp_path / "demo.toml"
        path.write_text(text, encoding="utf-8")
        config = load_config(path)

        async def scenario() -> None:
            async with daemon_for(config) as daemon:
                for source in config.sources:
                    report = await daemon.poll(source.name)
                    assert report is not None and report.ok and report.new >= 3, report
                daemon.publish_now()

        run(scenario())
    finally:
        demo.stop()
    feeds = tmp_path / "feeds"
    assert len(feedparser.parse((feeds / "all.atom").read_bytes()).entries) == 6
    assert len(feedparser.parse((feeds / "enforcement.atom").read_bytes()).entries) >= 3


def _entry_titles(path: Path) -> list[str]:
    return [entry.title for entry in feedparser.parse(path.read_bytes()).entries] if path.exists() else []


def test_a_rule_added_by_reload_re_sorts_stored_items_into_its_feed(site: Site, tmp_path: Path) -> None:
    """Issue 14.1: adding [categories.water] with a rule to a running daemon fills water.atom at the next publish."""
    site.add("/a.xml", rss("示例市开展春季河湖生态保护专项巡查", "示例省发布生态环境状况公报"), content_type="application/rss+xml")
    path = write_config(tmp_path, '[categories.ecology]\ntitle = "E"\n' + feed_source("a", site.url("/a.xml"), extra='categories = ["ecology"]'))
    feeds = tmp_path / "feeds"

    async def scenario() -> None:
        async with daemon_for(load_config(path)) as daemon:
            await daemon.poll("a")
            daemon.publish_now()
            assert not (feeds / "water.atom").exists()
            text = path.read_text(encoding="utf-8")
            path.write_text(
                text.replace('[categories.ecology]', '[categories.water]\ntitle = "W"\nrules = {include = ["河湖"]}\n\n[categories.ecology]'),
                encoding="utf-8",
            )
            assert daemon.reload("test")
            daemon.publish_now()
            assert _entry_titles(feeds / "water.atom") == ["示例市开展春季河湖生态保护专项巡查"]
            # A rule that now excludes it takes it out of a source-default feed too.
            path.write_text(
                path.read_text(encoding="utf-8").replace('title = "E"', 'title = "E"\nrules = {exclude = ["河湖"]}'),
                encoding="utf-8",
            )
            assert daemon.reload("test")
            daemon.publish_now()
            assert _entry_titles(feeds / "ecology.atom") == ["示例省发布生态环境状况公报"]
            # Removing the category's rule empties its feed again.
            path.write_text(path.read_text(encoding="utf-8").replace('rules = {include = ["河湖"]}\n', ""), encoding="utf-8")
            assert daemon.reload("test")
            daemon.publish_now()
            assert _entry_titles(feeds / "water.atom") == []

    run(scenario())


def test_status_shows_a_failed_poll_while_the_daemon_runs_without_another_poll(site: Site, tmp_path: Path) -> None:
    """Issue 14.2: poll state reaches the store on a timer, not only at the end of the next poll."""
    import contextlib
    import io

    from aggregator.cli import main

    site.add("/a.xml", "gone for now", status=404, content_type="text/plain")
    path = write_config(tmp_path, feed_source("a", site.url("/a.xml")))
    policy = Policy(publish_every=0.0, config_check_every=0.05, stop_grace=1.0, spread_per_source=0.2,
                    commit_check_every=0.05, state_commit_every=0.3)

    async def scenario() -> str:
        daemon = Daemon(load_config(path), rng=random.Random(1), policy=policy, serve=False)
        await daemon.start()
        try:
            for _ in range(500):
                if "a" in daemon.reports:
                    break
                await asyncio.sleep(0.02)
            assert "a" in daemon.reports and len(site.hits("/a.xml")) == 1
            for _ in range(500):  # the committer's bound here is 0.3 s; watch the file, not a clock
                with open_store(tmp_path / "store.json", readonly=True) as store:
                    if store.state("a").last_attempt:
                        break
                await asyncio.sleep(0.02)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                main(["status", str(path)])
            assert len(site.hits("/a.xml")) == 1  # no second poll wrote it
            return out.getvalue()
        finally:
            await daemon.shutdown()

    text = run(scenario())
    row = next(line for line in text.splitlines() if line.startswith("a "))
    assert "failing" in row and "never-polled" not in row, text


def test_a_source_that_never_worked_is_announced_after_three_failed_polls(site: Site, tmp_path: Path) -> None:
    """Issue 14.7: a 404 URL reaches the health feed after its first few failures, not after stale_after."""
    site.add("/typo.xml", "no such page", status=404, content_type="text/plain")
    config = load_config(write_config(tmp_path, feed_source("typo", site.url("/typo.xml"))))
    clock = FakeClock()
    health_path = tmp_path / "feeds" / HEALTH_FILE

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            for poll in range(1, 4):
                report = await daemon.poll("typo")
                assert report is not None and not report.ok
                daemon.publish_now()
                entries = feedparser.parse(health_path.read_bytes()).entries
                if poll < 3:
                    assert entries == [], f"announced after {poll} failure(s)"
                clock.advance(120)
            assert len(entries) == 1 and "typo: failing since" in entries[0].title

    run(scenario())


def test_a_source_that_never_worked_is_announced_after_an_hour_of_failing() -> None:
    config = Config.model_validate({"sources": [{"name": "s", "url": "http://x.test/"}], "settings": {"incident_after": "1h"}})
    state = SourceState(last_attempt=NOW.isoformat(), failing_since=NOW.isoformat(), consecutive_failures=1, last_error_kind="http-status")
    assert incidents(config, {"s": state}, NOW + timedelta(minutes=59)) == []
    assert [i.kind for i in incidents(config, {"s": state}, NOW + timedelta(hours=1))] == ["failing"]
    fewer = Config.model_validate({"sources": [{"name": "s", "url": "http://x.test/"}], "settings": {"incident_failures": 1}})
    assert [i.kind for i in incidents(fewer, {"s": state}, NOW)] == ["failing"]


def test_an_empty_feed_is_dated_by_the_store_not_1970(tmp_path: Path) -> None:
    """Issue 14.7: the W3C validator flags `updated` 1970-01-01; regenerating stays byte-identical."""
    from aggregator.cli import main

    path = write_config(tmp_path, '[categories.quiet]\ntitle = "Q"\n')
    assert main(["build", str(path)]) == 0
    feeds = tmp_path / "feeds"
    before = {name: (feeds / name).read_bytes() for name in ("quiet.atom", "health.atom", "all.atom")}
    with open_store(tmp_path / "store.json", readonly=True) as store:
        created = store.created
    assert created is not None and created.year >= 2024
    for name, data in before.items():
        updated = feedparser.parse(data).feed.updated_parsed
        assert updated is not None and updated.tm_year == created.year, name
        assert b"1970-01-01" not in data, name
    assert main(["build", str(path)]) == 0
    assert {name: (feeds / name).read_bytes() for name in before} == before
