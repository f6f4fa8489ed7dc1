"""What a long-running daemon's log says about routine things: each once, in one line of ours."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.cli.common import _setup_logging
from aggregator.config import load_config
from aggregator.scheduler import Daemon, Policy

from .conftest import Request, Response, Site, write_config
from .test_scheduler import feed_source, rss


def _list_page(count: int, css: str) -> str:
    rows = "".join(
        f'<li><a href="/news/t20250423_{n}.shtml">生态环境部通报第{n}批环境违法典型案例</a><span>2025-04-{1 + n % 28:02d}</span></li>'
        for n in range(count, 0, -1)
    )
    return f'<html><head><meta charset="utf-8"></head><body><ul class="{css}">{rows}</ul></body></html>'


def _detected(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "auto-detected list" in r.getMessage() and r.levelno >= logging.INFO]


def test_an_auto_detected_list_is_logged_once_per_change(tmp_path: Path, site: Site, caplog: pytest.LogCaptureFixture) -> None:
    # The page grows by one item each poll (so it is read again every time) while its list stays the same.
    page = {"count": 5, "css": "news-list"}

    def listing(_request: Request) -> Response:
        page["count"] += 1
        return Response(_list_page(page["count"], page["css"]).encode())

    site.add("/list.html", listing)
    path = write_config(
        tmp_path, f'[[sources]]\nname = "auto-list"\nurl = "{site.url("/list.html")}"\nkind = "html"\nfetch_articles = false\n'
    )
    caplog.set_level(logging.DEBUG)
    for _ in range(3):  # one process polling again and again, as the daemon does
        assert main(["poll", "--once", str(path)]) == 0
    assert len(_detected(caplog)) == 1, [r.getMessage() for r in _detected(caplog)]
    page["css"] = "article-rows"  # the site's layout changes: what was detected changes
    assert main(["poll", "--once", str(path)]) == 0
    assert len(_detected(caplog)) == 2
    assert 'ul.article-rows' in _detected(caplog)[-1].getMessage()


def test_a_run_skipped_while_the_poll_is_running_is_one_line_of_ours(
    tmp_path: Path, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    _setup_logging("INFO")  # what every command does; APScheduler's own WARNING would pass it
    asked, release = threading.Event(), threading.Event()

    def slow(_request: Request) -> Response:
        asked.set()
        release.wait(30)
        return Response(rss("慢速来源的新闻标题足够长").encode(), content_type="application/rss+xml")

    site.add("/slow.xml", slow)
    config = load_config(write_config(tmp_path, feed_source("slow", site.url("/slow.xml"))))
    ours = "slow: the previous poll is still running at the next scheduled one; that one is skipped"

    async def scenario() -> None:
        daemon = Daemon(config, policy=Policy(publish_every=0, spread_per_source=0.05, stop_grace=1.0), serve=False)
        await daemon.start()
        try:
            assert await asyncio.to_thread(asked.wait, 30)
            assert daemon.scheduler is not None
            daemon.scheduler.modify_job("slow", next_run_time=datetime.now(timezone.utc))  # due while it runs
            for _ in range(600):
                if any(r.getMessage() == ours for r in caplog.records):
                    break
                await asyncio.sleep(0.05)
        finally:
            release.set()
            await daemon.shutdown()

    caplog.set_level(logging.INFO)
    asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count(ours) == 1, messages
    assert not any("maximum number of running instances" in m for m in messages), messages
    assert [r.levelno for r in caplog.records if r.getMessage() == ours] == [logging.INFO]
