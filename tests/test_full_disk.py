"""Issue 23.2-23.4, with a real full disk and real second processes: the daemon's store and feeds
folder on a small tmpfs that the test fills and frees, `aggregator status` and a second
`aggregator build` run beside it as processes of their own."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest

from aggregator.config import load_config

from .conftest import Site, write_config
from .pagehelpers import rss as page_rss
from .test_daemon_process import Daemon, wait_for
from .test_scheduler import daemon_for, feed_source, rss

FEED_TYPE = "application/rss+xml; charset=utf-8"
BASE = "https://example.gov.cn/disk/"
OLD = ("磁盘写满之前的第一条新闻", "磁盘写满之前的第二条新闻")
NEW = "磁盘写满期间发现的新闻"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a real file system that really runs out of space."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a real full disk) needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk`; the file returned gives them back when deleted."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def disk_config(tmp_path: Path, disk: Path, site: Site, on_disk: tuple[str, ...] = ("store", "output_dir")) -> Path:
    """The config outside the disk (it is edited while the disk is full); the store and/or feeds on it."""
    path = write_config(tmp_path, '[categories.news]\ntitle = "新闻"\n' + feed_source("a", site.url("/a.xml"), interval="1h", extra='categories = ["news"]'))
    text = path.read_text(encoding="utf-8")
    if "store" in on_disk:
        text = text.replace('store = "store.json"', f'store = "{disk}/store.json"')
    if "output_dir" in on_disk:
        text = text.replace('output_dir = "feeds"', f'output_dir = "{disk}/feeds"')
    text = text.replace("[serve]\nenabled = false", '[serve]\nenabled = true\nhost = "127.0.0.1"\nport = 0')
    path.write_text(text, encoding="utf-8")
    return path


def aggregator(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args], capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )


@pytest.fixture
def on_disk() -> tuple[str, ...]:
    return ("store", "output_dir")


@pytest.fixture
def running(site: Site, tmp_path: Path, small_disk: Path, on_disk: tuple[str, ...]) -> Iterator[tuple[Daemon, Path, httpx.Client]]:
    """The daemon with its store and/or feeds on the small disk, its first poll (two items) published and served."""
    site.add("/a.xml", rss(*OLD, base=BASE), content_type=FEED_TYPE)
    config = disk_config(tmp_path, small_disk, site, on_disk)
    daemon = Daemon(config)
    try:
        port = int(wait_for("the HTTP server", lambda: daemon.logged(r"serving feeds on http://127\.0\.0\.1:(\d+)/"), 60, daemon.log).group(1))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for("the first poll to be served", lambda: len(entries(client)) == 2, 60, daemon.log)
            yield daemon, config, client
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.send_signal(signal.SIGTERM)
            try:
                daemon.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.proc.kill()
                daemon.proc.wait()


def entries(client: httpx.Client, feed: str = "/all.atom") -> list[str]:
    response = client.get(feed)
    assert response.status_code == 200, response.text
    return [entry.title for entry in feedparser.parse(response.content).entries]


def poll_soon(config: Path) -> None:
    """Edit what the source sends: the daemon reloads and polls it again right away (its interval is 1h)."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('categories = ["news"]', f'categories = ["news"]\nheaders = {{X-Edit = "{text.count("X-Edit")}"}}', 1), encoding="utf-8")


@pytest.mark.parametrize("on_disk", [("store", "output_dir"), ("store",), ("output_dir",)], ids=["both", "store", "feeds"])
def test_items_found_while_the_disk_is_full_reach_the_feeds_once_space_is_freed(
    running: tuple[Daemon, Path, httpx.Client], site: Site, small_disk: Path, on_disk: tuple[str, ...]
) -> None:
    """23.2: no poll, `build` or restart needed after space is freed; one ERROR line, no traceback, an INFO line."""
    daemon, config, client = running
    started = time.monotonic()
    filler = fill(small_disk)
    site.add("/a.xml", rss(*OLD, NEW, base=BASE.replace("disk", "disk2")), content_type=FEED_TYPE)
    poll_soon(config)
    wait_for("the poll that finds the new item", lambda: daemon.logged(r"a: 3 found, 3 new"), 60, daemon.log)
    wait_for("the full disk to be reported", lambda: daemon.logged(r"ERROR .*No space left on device"), 60, daemon.log)
    assert NEW not in entries(client)
    polls = len(site.hits("/a.xml"))

    filler.unlink()
    wait_for("the new item in the served feed", lambda: NEW in entries(client), 60, daemon.log)
    assert NEW in entries(client, "/news.atom")
    wait_for("the recovery to be reported", lambda: daemon.logged(r"INFO .*written again"), 30, daemon.log)
    minutes = (time.monotonic() - started) // 60  # a slow machine may take longer than a minute: one more line each
    assert len(site.hits("/a.xml")) == polls  # no further poll brought it in

    log = "".join(daemon.log)
    assert "Traceback" not in log, log
    full = [line for line in daemon.log if "No space left on device" in line]
    assert all(" ERROR " in line for line in full), log
    for setting in on_disk:  # said once each, and again at most once a minute
        assert len([line for line in full if f"settings.{setting}:" in line]) <= 1 + minutes, log
    assert any(f"settings.{setting}:" in line for line in full for setting in on_disk), log


def test_a_second_process_with_another_store_cannot_publish_to_the_live_feeds_folder(
    running: tuple[Daemon, Path, httpx.Client], tmp_path: Path, small_disk: Path
) -> None:
    """23.3: refused with one line naming the folder and the daemon that owns it; the live feeds keep their entries."""
    daemon, config, client = running
    other = tmp_path / "other.json"
    for command in (["build"], ["poll", "--once"]):
        done = aggregator("--store", str(other), *command, str(config))
        assert done.returncode == 3, done.stderr  # cli/common.py EXIT_STORE: the store or the feeds folder
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(small_disk / "feeds") in lines[0] and f"pid {daemon.proc.pid}" in lines[0], lines[0]
        assert str(small_disk / "store.json") in lines[0], lines[0]  # the store it publishes from
        assert len(entries(client)) == 2 and len(entries(client, "/news.atom")) == 2
        parsed = feedparser.parse((small_disk / "feeds" / "all.atom").read_bytes())
        assert len(parsed.entries) == 2
    assert not other.exists()  # refused before anything was written, even an empty store
    # The same store: the daemon owns both; the way out is to stop it, not another feeds folder.
    done = aggregator("build", str(config))
    assert done.returncode == 3 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "one process owns a store at a time. Stop it first" in done.stderr and "point `output_dir`" not in done.stderr

    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=15) == 0, "".join(daemon.log)
    # Once the daemon is gone, the folder is free: the other store may publish there.
    done = aggregator("--store", str(other), "build", str(config))
    assert done.returncode == 0, done.stderr


def test_status_says_the_store_and_feeds_cannot_be_written(
    running: tuple[Daemon, Path, httpx.Client], small_disk: Path
) -> None:
    """23.4: `aggregator status` (its own process), /status and /status.json say why, not "ok"."""
    daemon, config, client = running
    done = aggregator("status", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cannot" not in done.stdout

    filler = fill(small_disk)
    done = aggregator("status", str(config))
    assert done.returncode == 3, done.stdout + done.stderr  # the store or the feeds folder cannot be written
    assert "Traceback" not in done.stderr
    said = done.stdout + done.stderr
    for setting, path in (("store", small_disk / "store.json"), ("output_dir", small_disk / "feeds")):
        line = next((line for line in said.splitlines() if f"settings.{setting}" in line), None)
        assert line is not None and str(path) in line and "No space left on device" in line, said

    document = client.get("/status.json").json()
    assert "No space left on device" in document["store_write_error"], document
    assert str(small_disk / "store.json") in document["store_write_error"]
    assert "No space left on device" in document["output_error"], document
    page = client.get("/status").text
    assert "The store cannot be written" in page and "The feeds folder cannot be written" in page, page

    filler.unlink()  # what failed meanwhile (a commit that was due) is written on the committer's next tick

    def clear() -> bool:
        document = client.get("/status.json").json()
        return document.get("store_write_error") is None and document.get("output_error") is None

    wait_for("/status.json to say all is written again", clear, 60, daemon.log)
    assert aggregator("status", str(config)).returncode == 0


def test_a_reload_onto_a_feeds_folder_another_process_publishes_to_is_refused(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """23.3, by reload: moving `output_dir` onto a folder in use keeps the running config and folder."""
    site.add("/a.xml", rss(*OLD, base=BASE), content_type=FEED_TYPE)
    config = write_config(tmp_path, feed_source("a", site.url("/a.xml")))
    theirs = tmp_path / "theirs"
    holder = subprocess.Popen(  # another store's process, owning `theirs` until told to stop
        [sys.executable, "-c", "import sys; from aggregator.publish.claim import OutputClaim;"
         f" c = OutputClaim(__import__('pathlib').Path({str(theirs)!r}), 'other.json', 'build'); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"

        async def scenario() -> None:
            async with daemon_for(load_config(config)) as daemon:
                await daemon.poll("a")
                config.write_text(config.read_text(encoding="utf-8").replace('output_dir = "feeds"', f'output_dir = "{theirs}"'), encoding="utf-8")
                with caplog.at_level(logging.ERROR, logger="aggregator.daemon"):
                    assert not daemon.reload("SIGHUP")
                assert daemon.config.output_dir == tmp_path / "feeds"
                daemon.publish_now()

        asyncio.run(scenario())
    finally:
        holder.communicate("", timeout=10)
    refused = [r.getMessage() for r in caplog.records if "config refused" in r.getMessage()]
    assert len(refused) == 1 and str(theirs) in refused[0] and f"pid {holder.pid}" in refused[0], refused
    assert len(feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes()).entries) == 2
    assert not (theirs / "all.atom").exists()


def test_notifications_go_on_after_a_full_disk(
    site: Site, tmp_path: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A message sent while the store cannot record it must not stop the notifier for good (nor log a traceback)."""
    from .test_notify import FAST as NOTIFY_POLICY
    from .test_notify import Clock, Hook, enforcement
    from .test_notify import setup as notify_setup

    hook = Hook(site)
    config = notify_setup(tmp_path, site, enforcement(1, "旧"))
    config = config.model_copy(update={"settings": config.settings.model_copy(update={"store": str(small_disk / "store.json")})})
    clock = Clock()

    async def scenario() -> None:
        from aggregator.scheduler import Daemon as InProcess

        daemon = InProcess(config, clock=clock, policy=NOTIFY_POLICY, serve=False)
        await daemon.start(paused=True)
        try:
            await daemon.poll("enf")
            await asyncio.wait_for(daemon.notifier.drain(), 60)
            filler = fill(small_disk)
            for round, prefix in enumerate(("满", "空")):  # found while the disk is full, then after it is freed
                site.add("/enf.xml", page_rss(enforcement(1, prefix)), content_type="application/rss+xml")
                clock.advance(600)
                await daemon.poll("enf")
                await asyncio.wait_for(daemon.notifier.drain(), 60)
                assert len(hook.messages) == 2 + round and prefix in hook.messages[-1]["message"]
                if round == 0:
                    filler.unlink()
        finally:
            await daemon.shutdown()

    asyncio.run(scenario())
    assert "Traceback" not in caplog.text and "never retrieved" not in caplog.text, caplog.text


@pytest.mark.parametrize("on_disk", [("store",)], ids=["store"])
def test_stopping_while_the_store_cannot_be_written_says_what_is_not_kept(
    running: tuple[Daemon, Path, httpx.Client], site: Site, small_disk: Path
) -> None:
    """A SIGTERM on a full disk: the staged poll goes with the process, and the last line says so."""
    daemon, config, _client = running
    fill(small_disk)
    site.add("/a.xml", rss(*OLD, NEW, base=BASE.replace("disk", "disk3")), content_type=FEED_TYPE)
    poll_soon(config)
    wait_for("the full disk to be reported", lambda: daemon.logged(r"ERROR .*No space left on device"), 60, daemon.log)
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=30) == 3
    wait_for("the last line", lambda: daemon.logged(r"Stopped with the last polls' changes unwritten"), 10, daemon.log)
    last = [line for line in daemon.log if "Stopped with" in line][-1]
    assert "nothing staged is lost" not in last and "No space left on device" in last, last
    assert "Traceback" not in "".join(daemon.log)


def test_a_read_only_feeds_folder_does_not_stop_polling(site: Site, tmp_path: Path, small_disk: Path) -> None:
    """The feeds folder went read-only with its lock file in it: the poll still stores what it found,
    and the lock (taken on the file opened for reading) still keeps a second publisher out."""
    from aggregator.publish.claim import OutputClaim
    from aggregator.store import OutputError, open_store

    site.add("/a.xml", rss(*OLD, base=BASE), content_type=FEED_TYPE)
    config = disk_config(tmp_path, small_disk, site, on_disk=("output_dir",))
    assert aggregator("build", str(config)).returncode == 0  # the folder and its .lock exist
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0
    done = aggregator("poll", "--once", str(config))
    assert "Traceback" not in done.stderr, done.stderr
    assert "Read-only file system" in done.stderr, done.stderr
    with open_store(tmp_path / "store.json") as store:
        assert len(store) == 2  # polled and stored; the feeds follow once the folder can be written
    with OutputClaim(small_disk / "feeds", "store.json", "test"):
        with pytest.raises(OutputError, match="is in use by"):
            OutputClaim(small_disk / "feeds", "other.json", "test")
