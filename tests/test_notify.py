"""Notifications end to end: Apprise's JSON webhook target against a loopback server, a real store, restarts."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from aggregator.cli import main
from aggregator.config import Config, ConfigError, load_config
from aggregator.scheduler import Daemon, Policy
from aggregator.serve.pages import Renderer

from .conftest import Request, Response, Site, write_config
from .pagehelpers import rss

FAST = Policy(publish_every=0.0, config_check_every=60.0, stop_grace=1.0, spread_per_source=0.2)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Hook:
    """The webhook Apprise posts to: answers with `status`, keeps the messages it accepted."""

    def __init__(self, site: Site) -> None:
        self.status = 200
        self.attempts = 0
        self.messages: list[dict[str, Any]] = []  # what the team saw in its chat
        site.add("/hook", self.handle)

    def handle(self, request: Request) -> Response:
        self.attempts += 1
        if self.status < 300:
            self.messages.append(json.loads(request.body))
        return Response(b"{}", status=self.status, content_type="application/json")


def enforcement(n: int, prefix: str = "案") -> list[tuple[str, str, str]]:
    return [(f"{prefix}{i}号行政处罚决定", f"https://www.mee.gov.cn/zfxx/{prefix}{i}.shtml", "罚款。") for i in range(n)]


def setup(tmp_path: Path, site: Site, items: list[tuple[str, str, str]], notify: str = "") -> Config:
    site.add("/enf.xml", rss(items), content_type="application/rss+xml")
    site.add("/eco.xml", rss([("湿地保护进展", "https://www.mee.gov.cn/st/1.shtml", "湿地")]), content_type="application/rss+xml")
    notify = notify or f"""
[[notify]]
name = "team"
url = "json://{site.base.removeprefix('http://')}/hook"
categories = ["enforcement"]
"""
    path = write_config(
        tmp_path,
        f"""
[categories.enforcement]
title = "生态环境执法"
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
{notify}
""",
    )
    return load_config(path)


def daemon_session(config: Config, clock: Clock, steps: Callable[[Daemon], Any]) -> None:
    async def run() -> None:
        daemon = Daemon(config, clock=clock, rng=random.Random(3), policy=FAST, serve=False)
        await daemon.start(paused=True)
        try:
            await daemon.notifier.drain()
            await steps(daemon)
        finally:
            await daemon.shutdown()

    asyncio.run(run())


def test_new_items_give_one_message_and_a_restart_repeats_nothing(tmp_path: Path, site: Site) -> None:
    hook = Hook(site)
    config = setup(tmp_path, site, enforcement(2, "旧"))
    clock = Clock()

    async def first(daemon: Daemon) -> None:
        await daemon.poll("enf")
        await daemon.poll("eco")  # ecology items are not for this target
        await daemon.notifier.drain()
        assert len(hook.messages) == 1  # the first poll: one summary
        assert "2 items from the first poll of enf" in hook.messages[0]["title"]
        # Upstream publishes two enforcement notices and one other item.
        site.add(
            "/enf.xml",
            rss([*enforcement(2, "新"), ("春季植树活动", "https://www.mee.gov.cn/x/tree.shtml", "植树"), *enforcement(2, "旧")]),
            content_type="application/rss+xml",
        )
        clock.advance(600)
        await daemon.poll("enf")
        await daemon.notifier.drain()

    daemon_session(config, clock, first)
    assert len(hook.messages) == 2
    message = hook.messages[1]
    assert message["title"] == "生态环境执法: 2 new items"
    assert "新0号行政处罚决定" in message["message"] and "新1号行政处罚决定" in message["message"]
    assert quote("https://www.mee.gov.cn/zfxx/新0.shtml", safe=":/") in message["message"]
    assert "旧0" not in message["message"] and "植树" not in message["message"]
    assert "http://127.0.0.1:8080/enforcement.html" in message["message"]

    async def again(daemon: Daemon) -> None:
        clock.advance(600)
        await daemon.poll("enf")  # the same page: nothing new
        await daemon.poll("eco")
        await daemon.notifier.drain()

    daemon_session(load_config(config.path), clock, again)  # a restart
    assert len(hook.messages) == 2


def test_a_failing_target_retries_shows_in_status_and_keeps_its_message_over_a_restart(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = Hook(site)
    hook.status = 500
    config = setup(tmp_path, site, enforcement(3))
    clock = Clock()
    seen: dict[str, Any] = {}

    async def failing(daemon: Daemon) -> None:
        report = await daemon.poll("enf")
        assert report is not None and report.ok  # the poll is not affected by the target
        await daemon.notifier.drain()
        clock.advance(31)  # the first retry is due after 30 s
        await daemon.notifier.drain(retries=True)
        seen["status"] = daemon.status_document()["notify"]

    daemon_session(config, clock, failing)
    assert hook.attempts == 2 and hook.messages == []  # the first try and one retry
    (row,) = seen["status"]
    assert row["name"] == "team" and row["status"] == "failing" and row["pending"] == 1 and row["failures"] == 2
    assert "500" in row["last_error"] or "error" in row["last_error"].lower()
    assert (tmp_path / "feeds" / "enforcement.atom").read_text(encoding="utf-8").count("<entry>") == 3

    # `aggregator status` (reading the store the daemon left) shows it too.
    main(["status", str(config.path)])
    out = capsys.readouterr().out
    assert "team" in out and "failing" in out

    page = Renderer(base_url=config.settings.base_url, timezone_name="Asia/Shanghai").status(
        {"sources": [], "notify": seen["status"]}
    ).decode()
    assert 'data-name="team"' in page and "status-failing" in page  # and so does /status

    hook.status = 200

    async def recovered(daemon: Daemon) -> None:
        clock.advance(3600)
        daemon.notifier.retry_now()
        await daemon.notifier.drain(retries=True)
        seen["status"] = daemon.status_document()["notify"]

    daemon_session(load_config(config.path), clock, recovered)
    assert len(hook.messages) == 1 and "3 items from the first poll of enf" in hook.messages[0]["title"]
    assert seen["status"][0]["status"] == "ok" and seen["status"][0]["pending"] == 0

    async def idle(daemon: Daemon) -> None:
        await daemon.poll("enf")
        await daemon.notifier.drain(retries=True)

    daemon_session(load_config(config.path), clock, idle)
    assert len(hook.messages) == 1  # sent once, never again


def test_first_poll_of_a_200_item_backfill_is_one_summary(tmp_path: Path, site: Site) -> None:
    hook = Hook(site)
    config = setup(tmp_path, site, enforcement(200))

    async def steps(daemon: Daemon) -> None:
        await daemon.poll("enf")
        await daemon.notifier.drain()

    daemon_session(config, Clock(), steps)
    assert len(hook.messages) == 1
    (message,) = hook.messages
    assert message["title"] == "生态环境执法: 200 items from the first poll of enf"
    assert message["message"].count("\n- ") + message["message"].startswith("- ") == 10  # up to N titles
    assert "... and 190 more" in message["message"]


def test_digest_collects_polls_into_one_message(tmp_path: Path, site: Site) -> None:
    hook = Hook(site)
    url = f"json://{site.base.removeprefix('http://')}/hook"
    notify = f'[[notify]]\nname = "digest"\nurl = "{url}"\ncategories = ["enforcement"]\ndigest = "15m"\n'
    config = setup(tmp_path, site, enforcement(1, "甲"), notify)
    clock = Clock()

    async def steps(daemon: Daemon) -> None:
        await daemon.poll("enf")
        site.add("/enf.xml", rss([*enforcement(2, "乙"), *enforcement(1, "甲")]), content_type="application/rss+xml")
        clock.advance(300)
        await daemon.poll("enf")
        await daemon.notifier.drain()
        assert hook.messages == []  # the window is still open
        clock.advance(15 * 60)
        daemon.notifier._wake.set()
        await daemon.notifier.drain()

    daemon_session(config, clock, steps)
    assert len(hook.messages) == 1
    assert hook.messages[0]["title"].startswith("生态环境执法: 3 ")
    assert all(t in hook.messages[0]["message"] for t in ("甲0", "乙0", "乙1"))


def test_health_incidents_raised_and_resolved(tmp_path: Path, site: Site) -> None:
    hook = Hook(site)
    url = f"json://{site.base.removeprefix('http://')}/hook"
    notify = f'[[notify]]\nname = "ops"\nurl = "{url}"\nhealth = true\n'
    config = setup(tmp_path, site, enforcement(2), notify)
    empty = rss([])

    async def steps(daemon: Daemon) -> None:
        await daemon.poll("enf")
        await daemon.notifier.drain()
        assert hook.messages == []  # items are not for this target
        site.add("/enf.xml", empty, content_type="application/rss+xml")
        await daemon.poll("enf")  # the source used to list items and lists none: emptied
        await daemon.notifier.drain()
        assert len(hook.messages) == 1 and "EMPTIED: enf" in hook.messages[0]["message"]
        site.add("/enf.xml", rss(enforcement(2)), content_type="application/rss+xml")
        await daemon.poll("enf")
        await daemon.notifier.drain()

    daemon_session(config, Clock(), steps)
    assert len(hook.messages) == 2 and "RESOLVED: enf" in hook.messages[1]["message"]


def test_notify_test_command(tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    hook = Hook(site)
    notify = (
        f'[[notify]]\nname = "team"\nurl = "json://{site.base.removeprefix("http://")}/hook"\ncategories = ["all"]\n'
        '[[notify]]\nname = "secret"\nurl = "env:AGG_TEST_HOOK"\nhealth = true\n'
    )
    config = setup(tmp_path, site, enforcement(1), notify)
    assert main(["notify", "test", "team", str(config.path)]) == 0
    assert len(hook.messages) == 1 and "test message for team" in hook.messages[0]["title"]

    monkeypatch.delenv("AGG_TEST_HOOK", raising=False)
    assert main(["notify", "test", "secret", str(config.path)]) == 1
    assert "environment variable AGG_TEST_HOOK is not set" in capsys.readouterr().err
    monkeypatch.setenv("AGG_TEST_HOOK", f"json://{site.base.removeprefix('http://')}/hook")
    assert main(["notify", "test", "secret", str(config.path)]) == 0
    assert len(hook.messages) == 2

    assert main(["notify", "test", "nobody", str(config.path)]) == 2
    assert "targets: team, secret" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('name = "a"\nurl = "json://x"\ncategories = ["nosuch"]', "unknown category 'nosuch'"),
        ('name = "a"\nurl = "json://x"', "nothing to send"),
        ('name = "a"\nurl = "env:"\nhealth = true', "environment variable"),
        ('name = "a"\nurl = "json://x"\nhealth = true\ndigest = "soon"', "not a duration"),
    ],
)
def test_bad_notify_tables_are_refused(tmp_path: Path, table: str, message: str) -> None:
    path = write_config(tmp_path, f'[categories.enforcement]\ntitle = "x"\n[[notify]]\n{table}\n')
    with pytest.raises(ConfigError, match=message):
        load_config(path)
