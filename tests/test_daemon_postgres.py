"""The daemon on a PostgreSQL store whose server stops mid-run: polls say so, nothing is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import feedparser
import pytest

from aggregator.config import load_config
from aggregator.models import ErrorKind
from aggregator.store import open_store

from .conftest import Site, write_config
from .test_scheduler import daemon_for, feed_source, rss

FEED_TYPE = "application/rss+xml; charset=utf-8"
BASE = "https://sthjj.example.gov.cn/a/"


def test_the_database_going_away_mid_run_costs_polls_not_items(
    site: Site, tmp_path: Path, postgres_server: object, caplog: pytest.LogCaptureFixture
) -> None:
    from .pgserver import PgServer

    assert isinstance(postgres_server, PgServer)
    server = PgServer(postgres_server.bindir)  # a private server: stopping the session's would break other tests
    try:
        server.start()
        url = server.url(server.create_database())
        site.add("/a.xml", rss("数据库停机前的第一条新闻", "数据库停机前的第二条新闻", base=BASE), content_type=FEED_TYPE)
        config = load_config(write_config(tmp_path, feed_source("a", site.url("/a.xml"))).as_posix())
        config = config.model_copy(update={"settings": config.settings.model_copy(update={"store": url})})

        async def scenario() -> None:
            async with daemon_for(config) as daemon:
                assert (await daemon.poll("a")).new == 2  # type: ignore[union-attr]
                daemon.publish_now()
                with open_store(url, readonly=True) as reader:
                    assert len(reader) == 2  # committed before the feeds were written
                assert "store_error" not in daemon.status_document()
                server.stop()
                status = daemon.status_document()  # /status.json: what was last read, and why it is not newer
                assert "start PostgreSQL" in status["store_error"] and [r["name"] for r in status["sources"]] == ["a"]
                site.add("/a.xml", rss("数据库停机前的第一条新闻", "数据库停机前的第二条新闻", "停机期间发布的新闻", base=BASE),
                         content_type=FEED_TYPE)
                down = await daemon.poll("a")
                assert down is not None and not down.ok and down.error_kind == ErrorKind.STORE
                assert "start PostgreSQL or fix `store`" in down.error and "\n" not in down.error
                server.start()
                back = await daemon.poll("a")
                assert back is not None and back.ok and back.new == 1
                daemon.publish_now()

        asyncio.run(scenario())
        assert "Traceback" not in caplog.text
        with open_store(url, readonly=True) as store:
            titles = sorted(item.title for item in store.items())
            assert titles == sorted(["数据库停机前的第一条新闻", "数据库停机前的第二条新闻", "停机期间发布的新闻"])
            assert store.state("a").consecutive_failures == 0
        feed = feedparser.parse(tmp_path / "feeds" / "all.atom")
        assert len(feed.entries) == 3 and not feed.bozo
    finally:
        server.destroy()


def _cli(*args: str, cwd: Path) -> tuple[int, list[str]]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "aggregator", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr.strip().splitlines()


def test_a_database_down_at_start_or_a_wrong_password_is_one_line_and_exit_3(
    site: Site, tmp_path: Path, postgres_url: str
) -> None:
    from .pgserver import free_port

    site.add("/a.xml", rss("启动时数据库不可用", base=BASE), content_type=FEED_TYPE)
    config = write_config(tmp_path, feed_source("a", site.url("/a.xml")))
    down = f"postgresql://aggregator:secret@127.0.0.1:{free_port()}/feeds"
    code, lines = _cli("--store", down, "poll", "--once", str(config), cwd=tmp_path)
    assert code == 3 and len(lines) == 1, lines
    assert "cannot connect" in lines[0] and "start PostgreSQL or fix `store`" in lines[0] and "secret" not in lines[0]
    wrong = postgres_url.replace(":test-password-7f3a@", ":not-the-password@")
    code, lines = _cli("--store", wrong, "poll", "--once", str(config), cwd=tmp_path)
    assert code == 3 and len(lines) == 1 and "authentication failed" in lines[0] and "not-the-password" not in lines[0]
    code, lines = _cli("--store", postgres_url, "poll", "--once", str(config), cwd=tmp_path)
    assert code == 0, lines
    with open_store(postgres_url, readonly=True) as store:
        assert [item.title for item in store.items()] == ["启动时数据库不可用"]
