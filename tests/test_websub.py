"""WebSub: every feed links the hub, and a loopback hub hears once per changed feed, never for nothing."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from urllib.parse import parse_qs

import feedparser

from aggregator.config import load_config
from aggregator.publish.websub import HubPinger
from aggregator.scheduler import Daemon, Policy

from .conftest import Request, Response, Site, write_config
from .pagehelpers import rss

FAST = Policy(publish_every=0.0, config_check_every=60.0, stop_grace=1.0, spread_per_source=0.2)
ENF = [("某企业超标排放被处罚", "https://www.mee.gov.cn/ywdt/t1.shtml", "罚款")]
ECO = [("湿地保护", "https://www.mee.gov.cn/ywdt/t2.shtml", "湿地")]


def pings(site: Site) -> list[str]:
    """The hub.url of each publish ping the hub received, in order."""
    found = []
    for request in site.hits("/hub"):
        assert request.method == "POST"
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
        form = parse_qs(request.body.decode())
        assert form["hub.mode"] == ["publish"]
        found += form["hub.url"]
    return found


def test_one_ping_per_changed_feed_and_none_when_nothing_changed(tmp_path: Path, site: Site) -> None:
    site.add("/hub", Response(b"", status=204))
    site.add("/enf.xml", rss(ENF), content_type="application/rss+xml")
    site.add("/eco.xml", rss(ECO), content_type="application/rss+xml")
    path = write_config(
        tmp_path,
        f"""
[categories.enforcement]
title = "执法"
rules = {{ include = ["处罚"] }}
[categories.ecology]
title = "生态"
[[sources]]
name = "enf"
url = "{site.url('/enf.xml')}"
kind = "feed"
[[sources]]
name = "eco"
url = "{site.url('/eco.xml')}"
kind = "feed"
categories = ["ecology"]
""",
        base_url="https://feeds.example.org/env",
    )
    text = path.read_text(encoding="utf-8").replace("[settings]\n", f'[settings]\nwebsub_hub = "{site.url("/hub")}"\n', 1)
    path.write_text(text, encoding="utf-8")
    config = load_config(path)

    async def main() -> None:
        daemon = Daemon(config, rng=random.Random(1), policy=FAST, serve=False)
        await daemon.start(paused=True)
        try:
            await daemon.websub.drain()
            base = "https://feeds.example.org/env"
            # The first publish wrote every feed: each is announced once.
            assert sorted(pings(site)) == sorted(f"{base}/{s}.atom" for s in ("all", "enforcement", "ecology", "health"))
            site.requests.clear()

            await daemon.poll("enf")  # new enforcement item: all + enforcement change, ecology does not
            daemon.publish_now()
            await daemon.websub.drain()
            assert sorted(pings(site)) == [f"{base}/all.atom", f"{base}/enforcement.atom"]
            site.requests.clear()

            await daemon.poll("eco")
            daemon.publish_now()
            await daemon.websub.drain()
            assert sorted(pings(site)) == [f"{base}/all.atom", f"{base}/ecology.atom"]
            site.requests.clear()

            await daemon.poll("enf")  # the same content again: no feed changes
            await daemon.poll("eco")
            daemon.publish_now()
            await daemon.websub.drain()
            assert pings(site) == []
        finally:
            await daemon.shutdown()

    asyncio.run(main())
    for name in ("all", "enforcement", "ecology", "health"):
        parsed = feedparser.parse((config.output_dir / f"{name}.atom").read_bytes())
        assert {"rel": "hub", "href": site.url("/hub")} in [{"rel": l.rel, "href": l.href} for l in parsed.feed.links]


def test_a_failing_hub_is_retried_until_it_answers(site: Site) -> None:
    answers = iter([500, 503])

    def hub(request: Request) -> Response:
        return Response(b"", status=next(answers, 204))

    site.add("/hub", hub)

    async def main() -> None:
        pinger = HubPinger(site.url("/hub"), retry_delays=(0.0,))
        pinger.start()
        try:
            pinger.announce(["https://feeds.example.org/all.atom"])
            await pinger.drain()
            assert pinger.pending and "HTTP 500" in (pinger.last_error or "")
            pinger.announce(["https://feeds.example.org/all.atom"])  # changed again while waiting: still one
            await pinger.drain(retries=True)
            assert pinger.pending == {} and pinger.sent == 1 and pinger.last_error is None
        finally:
            await pinger.close()

    asyncio.run(main())
    assert pings(site) == ["https://feeds.example.org/all.atom"] * 3


def test_no_hub_no_link(tmp_path: Path, site: Site) -> None:
    site.add("/enf.xml", rss(ENF), content_type="application/rss+xml")
    path = write_config(tmp_path, f'[[sources]]\nname = "enf"\nurl = "{site.url("/enf.xml")}"\nkind = "feed"\n')
    from aggregator.cli import main

    assert main(["poll", "--once", str(path)]) == 0
    assert b'rel="hub"' not in (tmp_path / "feeds" / "all.atom").read_bytes()
