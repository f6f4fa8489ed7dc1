"""Politeness over real HTTP on 127.0.0.1: conditional GET, per-host limits, hung hosts, robots.txt."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from pathlib import Path

from aggregator.config import Config, load_config
from aggregator.models import ErrorKind
from aggregator.scheduler import Daemon, Policy

from .conftest import Request, Response, Site, write_config
from .test_scheduler import FakeClock, daemon_for, feed_source, rss, run

FEED_TYPE = "application/rss+xml; charset=utf-8"


def test_second_poll_is_conditional_and_a_304_is_not_a_failure(site: Site, tmp_path: Path) -> None:
    body = rss("条件请求测试新闻标题一", "条件请求测试新闻标题二").encode()
    validators = {"ETag": '"v1"', "Last-Modified": "Fri, 10 May 2024 01:00:00 GMT"}

    def feed(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(b"", status=304, headers=validators)
        return Response(body, headers=validators, content_type=FEED_TYPE)

    site.add("/feed.xml", feed)
    config = load_config(write_config(tmp_path, feed_source("cond", site.url("/feed.xml"))))
    clock = FakeClock()

    async def scenario() -> None:
        async with daemon_for(config, clock) as daemon:
            first = await daemon.poll("cond")
            clock.advance(60)
            second = await daemon.poll("cond")
            assert first is not None and first.ok and first.new == 2
            assert second is not None and second.ok and second.not_modified
            assert daemon.store is not None
            state = daemon.store.state("cond")
            assert state.consecutive_failures == 0 and state.etag == '"v1"'
            assert len(daemon.store) == 2

    run(scenario())
    first, second = site.hits("/feed.xml")
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["if-modified-since"] == "Fri, 10 May 2024 01:00:00 GMT"


def test_unchanged_body_without_validators_counts_as_not_modified(site: Site, tmp_path: Path) -> None:
    site.add("/plain.xml", rss("没有验证头的新闻标题"), content_type=FEED_TYPE)
    config = load_config(write_config(tmp_path, feed_source("plain", site.url("/plain.xml"))))

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            await daemon.poll("plain")
            again = await daemon.poll("plain")
            assert again is not None and again.ok and again.not_modified

    run(scenario())


def _tracking_feed(site: Site, path: str, gauge: dict[str, int], lock: threading.Lock) -> None:
    def handler(_request: Request) -> Response:
        with lock:
            gauge["now"] += 1
            gauge["max"] = max(gauge["max"], gauge["now"])
        try:
            time.sleep(0.25)  # hold the request open so an overlap would be seen
            return Response(rss(f"{path} 的一条新闻标题足够长").encode(), content_type=FEED_TYPE)
        finally:
            with lock:
                gauge["now"] -= 1

    site.add(path, handler)


def _concurrency_seen(site: Site, tmp_path: Path, host_concurrency: int) -> int:
    gauge, lock = {"now": 0, "max": 0}, threading.Lock()
    names = ["one", "two", "three"]
    for name in names:
        _tracking_feed(site, f"/{name}.xml", gauge, lock)
    body = "".join(feed_source(name, site.url(f"/{name}.xml")) for name in names)
    path = write_config(tmp_path, body)
    path.write_text(path.read_text().replace("host_delay = 0", f"host_delay = 0\nhost_concurrency = {host_concurrency}"))
    config = load_config(path)

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            reports = await asyncio.gather(*(daemon.poll(name) for name in names))
            assert all(r is not None and r.ok for r in reports)

    run(scenario())
    return gauge["max"]


def test_sources_on_one_host_are_never_fetched_at_once_with_limit_1(site: Site, tmp_path: Path) -> None:
    assert _concurrency_seen(site, tmp_path, host_concurrency=1) == 1


def test_the_concurrency_probe_does_see_overlap_when_allowed(site: Site, tmp_path: Path) -> None:
    # Guards the test above: with a limit of 3 the same probe sees parallel requests.
    assert _concurrency_seen(site, tmp_path, host_concurrency=3) >= 2


def test_a_hanging_source_does_not_delay_the_others(site: Site, tmp_path: Path) -> None:
    site.add("/ok.xml", rss("正常来源的新闻标题足够长"), content_type=FEED_TYPE)

    async def scenario() -> None:
        # accepts connections and never answers a byte
        hung = await asyncio.start_server(lambda r, w: asyncio.sleep(3600), "127.0.0.1", 0)
        port = hung.sockets[0].getsockname()[1]
        body = feed_source("hang", f"http://127.0.0.1:{port}/feed.xml") + feed_source("ok", site.url("/ok.xml"))
        config = load_config(write_config(tmp_path, body))
        # Real clock and the real scheduler: both sources are due at once.
        policy = Policy(publish_every=0, spread_per_source=0.05, stop_grace=1.0)  # both due within 0.1 s
        # The hang's time limit is the ok source's whole allowance: roomy, so a loaded machine still
        # finishes it first; the order (ok done while hang is in flight) is what shows no delay.
        daemon = Daemon(config, rng=random.Random(2), policy=policy, poll_time_limit=5.0, serve=False)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await daemon.start()
        try:
            while "ok" not in daemon.reports and loop.time() - started < 60:
                await asyncio.sleep(0.02)
            assert daemon.reports["ok"].ok
            assert "hang" not in daemon.reports and len(daemon._inflight) == 1  # still hanging meanwhile
            while "hang" not in daemon.reports and loop.time() - started < 60:
                await asyncio.sleep(0.02)
            hang = daemon.reports["hang"]
            assert not hang.ok and hang.error_kind is ErrorKind.TIMEOUT
            assert daemon.next_run_time("hang") is not None  # backs off, keeps polling later
            assert daemon.store is not None and daemon.store.state("hang").consecutive_failures == 1
        finally:
            await daemon.shutdown()
            hung.close()

    run(scenario())


def _robots_config(site: Site, tmp_path: Path, *, respect: bool) -> Config:
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    site.add("/private/feed.xml", rss("不该被抓取的新闻标题"), content_type=FEED_TYPE)
    extra = "" if respect else "respect_robots = false"
    return load_config(write_config(tmp_path, feed_source("private", site.url("/private/feed.xml"), extra=extra)))


def test_robots_disallow_is_obeyed(site: Site, tmp_path: Path) -> None:
    config = _robots_config(site, tmp_path, respect=True)

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            report = await daemon.poll("private")
            assert report is not None and report.error_kind is ErrorKind.ROBOTS

    run(scenario())
    assert site.hits("/robots.txt") and not site.hits("/private/feed.xml")


def test_robots_opt_out_per_source(site: Site, tmp_path: Path) -> None:
    config = _robots_config(site, tmp_path, respect=False)

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            report = await daemon.poll("private")
            assert report is not None and report.ok

    run(scenario())
    assert len(site.hits("/private/feed.xml")) == 1


def test_user_agent_and_source_headers_are_sent(site: Site, tmp_path: Path) -> None:
    site.add("/h.xml", rss("带自定义请求头的新闻标题"), content_type=FEED_TYPE)
    extra = 'headers = { Referer = "https://www.example.gov.cn/" }'
    config = load_config(write_config(tmp_path, feed_source("h", site.url("/h.xml"), extra=extra)))

    async def scenario() -> None:
        async with daemon_for(config) as daemon:
            await daemon.poll("h")

    run(scenario())
    (request,) = site.hits("/h.xml")
    assert request.headers["user-agent"] == config.settings.user_agent
    assert request.headers["referer"] == "https://www.example.gov.cn/"


def test_cookies_a_site_sets_are_sent_back_in_later_runs(tmp_path: Path, site: Site) -> None:
    from aggregator.cli import main

    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x.gov.cn/</link>'
        "<description>d</description><item><title>一条新闻</title><link>http://x.gov.cn/a/1.html</link></item>"
        "</channel></rss>"
    ).encode()
    site.add("/rss.xml", feed, content_type="application/rss+xml", headers={"Set-Cookie": "JSESSIONID=abc123; Path=/"})
    config = write_config(
        tmp_path, f'[[sources]]\nname = "s"\nurl = "{site.url("/rss.xml")}"\nkind = "feed"\n'
    )
    assert main(["poll", "--once", str(config)]) == 0
    assert "cookie" not in site.hits("/rss.xml")[0].headers
    # A new process: the cookie comes back from the jar kept beside the store.
    assert main(["poll", "--once", str(config)]) == 0
    assert site.hits("/rss.xml")[-1].headers.get("cookie") == "JSESSIONID=abc123"


def test_a_host_left_idle_has_its_connection_closed_but_keeps_its_robots_rules(site: Site) -> None:
    """A daemon meets ever more hosts; an unused one must not hold a socket for the life of the process."""
    from aggregator.fetch import IDLE_CLIENT_SECONDS, Fetcher

    site.add("/page.html", "<html><body>ok</body></html>")
    now = [1000.0]
    first = site.url("/page.html")
    other = first.replace("127.0.0.1", "localhost")  # another origin on the same server

    async def scenario() -> tuple[object, object, int]:
        async with Fetcher(user_agent="t", host_delay=0, clock=lambda: now[0]) as fetcher:
            await fetcher.fetch(first)
            now[0] += IDLE_CLIENT_SECONDS + 1
            await fetcher.fetch(other)  # any fetch sweeps idle hosts
            idle_client = fetcher._host(first).client  # noqa: SLF001
            robots_before = len(site.hits("/robots.txt"))
            again = await fetcher.fetch(first)  # reopens, without asking robots.txt again
            return idle_client, again.status, len(site.hits("/robots.txt")) - robots_before

    idle_client, status, robots_requests = asyncio.run(scenario())
    assert idle_client is None
    assert status == 200 and robots_requests == 0
