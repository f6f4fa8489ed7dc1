"""`aggregator run` as a real process: serve, reload on SIGHUP, stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from aggregator.store import open_store

from .conftest import Response, Site, write_config
from .test_scheduler import feed_source, rss

T = TypeVar("T")
FEED_TYPE = "application/rss+xml; charset=utf-8"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, log: list[str]) -> T:
    """Poll `probe` until it returns something truthy; fail with the daemon's log on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; daemon log:\n" + "".join(log))


class Daemon:
    def __init__(self, config: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", str(config)],
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def logged(self, pattern: str) -> re.Match[str] | None:
        for line in list(self.log):
            match = re.search(pattern, line)
            if match:
                return match
        return None


@pytest.fixture
def daemon_process(site: Site, tmp_path: Path) -> Iterator[tuple[Daemon, Path]]:
    site.add("/a.xml", rss("进程测试来源一的新闻标题", "进程测试来源一的第二条新闻"), content_type=FEED_TYPE)
    site.add("/b.xml", rss("进程测试来源二的新闻标题", base="https://example.gov.cn/b/"), content_type=FEED_TYPE)
    path = write_config(tmp_path, '[categories.news]\ntitle = "新闻"\n' + feed_source("a", site.url("/a.xml"), extra='categories = ["news"]'))
    path.write_text(path.read_text().replace("[serve]\nenabled = false", '[serve]\nenabled = true\nhost = "127.0.0.1"\nport = 0'))
    daemon = Daemon(path)
    try:
        yield daemon, path
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(timeout=5)


def test_serve_reload_and_clean_stop(daemon_process: tuple[Daemon, Path], site: Site, tmp_path: Path) -> None:
    daemon, path = daemon_process
    log = daemon.log
    port = int(wait_for("the HTTP server", lambda: daemon.logged(r"serving feeds on http://127\.0\.0\.1:(\d+)/"), 20, log).group(1))
    base = f"http://127.0.0.1:{port}"

    with httpx.Client(base_url=base, timeout=5) as client:
        def feed_with_items() -> httpx.Response | None:
            response = client.get("/all.atom")
            return response if response.status_code == 200 and "进程测试来源一的新闻标题" in response.text else None

        first = wait_for("the first poll to reach the served feed", feed_with_items, 15, log)
        assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
        etag = first.headers["etag"]
        again = client.get("/all.atom", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get("/news.atom").status_code == 200
        assert "新闻" in client.get("/").text

        # add a source, then SIGHUP
        path.write_text(path.read_text() + feed_source("b", site.url("/b.xml")))
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for("the added source to be polled", lambda: site.hits("/b.xml"), 15, log)
        wait_for("the reload to be logged", lambda: daemon.logged(r"config applied \(1 added, 0 removed"), 30, log)

        # SIGHUP itself (the file watcher might have won the race above): an unchanged config is a no-op
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for("SIGHUP to be handled", lambda: daemon.logged(r"SIGHUP: config applied \(0 added, 0 removed, 0 changed"), 30, log)

        # a broken config is refused and the daemon keeps serving
        good = path.read_text()
        path.write_text(good + '\n[[sources]]\nname = "broken"\nurl = "nope"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for("the refusal to be logged", lambda: daemon.logged(r"config refused, keeping the running one"), 30, log)
        assert client.get("/all.atom").status_code == 200

    daemon.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = daemon.proc.wait(timeout=60)
    assert code == 0, "".join(log)
    # Prompt, however loaded the machine: it did not wait for the source's next poll (60 s away).
    assert time.monotonic() - started < 30
    daemon._reader.join(timeout=2)
    assert any("SIGTERM: stopping" in line for line in log)
    assert not any("Traceback" in line for line in log), "".join(log)

    with open_store(tmp_path / "store.json") as store:  # intact, and the lock was released
        sources = {item.source for item in store.items()}
        assert len(store) == 3 and sources == {"a", "b"}
        assert store.state("b").last_success is not None


def test_ctrl_c_stops_the_daemon_without_a_worker_traceback(site: Site, tmp_path: Path) -> None:
    """Issue 14.5: the terminal sends SIGINT to the whole process group, parse workers included."""
    site.add("/a.xml", rss("按下Ctrl-C之前的新闻标题", "按下Ctrl-C之前的第二条新闻"), content_type=FEED_TYPE)
    path = write_config(tmp_path, feed_source("a", site.url("/a.xml")), workers=2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", str(path)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,  # a group of its own, like a shell job
    )
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        # The poll's feed was parsed in a worker, so the pool's processes exist now.
        wait_for("the first poll", lambda: any("a: 2 found, 2 new" in line for line in log), 30, log)
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=5)
    text = "".join(log)
    assert code == 0, text
    assert "SIGINT: stopping" in text and "daemon stopped" in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text


def _start(path: Path) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", str(path)],
        cwd=path.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr or []), daemon=True)
    reader.start()
    return proc, log, reader


def test_sigterm_gives_in_flight_polls_the_stated_grace(site: Site, tmp_path: Path) -> None:
    """Issue 14.12 / README: on SIGTERM a poll in flight may finish within 3 s, and its items are kept."""
    from aggregator.scheduler import DEFAULT_POLICY

    assert DEFAULT_POLICY.stop_grace == 3.0  # the README and the unit say 3 s
    release = threading.Event()
    asked = threading.Event()

    def slow(_request: object) -> Response:
        asked.set()
        release.wait(30)
        return Response(rss("宽限期内完成的轮询新闻标题").encode(), content_type=FEED_TYPE)

    site.add("/slow.xml", slow)
    path = write_config(tmp_path, feed_source("slow", site.url("/slow.xml")))
    proc, log, reader = _start(path)
    try:
        assert asked.wait(30), "".join(log)
        proc.send_signal(signal.SIGTERM)
        wait_for("the grace to be announced", lambda: any("waiting up to 3s for 1 poll(s) in flight" in line for line in log), 15, log)
        release.set()  # the poll finishes inside the grace
        assert proc.wait(timeout=15) == 0, "".join(log)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    with open_store(tmp_path / "store.json") as store:
        assert [item.title for item in store.items()] == ["宽限期内完成的轮询新闻标题"]
    assert "宽限期内完成的轮询新闻标题" in (tmp_path / "feeds" / "all.atom").read_text(encoding="utf-8")


def test_sigterm_cancels_a_poll_that_outlives_the_grace(site: Site, tmp_path: Path) -> None:
    release = threading.Event()
    asked = threading.Event()

    def hung(_request: object) -> Response:
        asked.set()
        release.wait(120)
        return Response(b"", status=500)

    site.add("/hung.xml", hung)
    path = write_config(tmp_path, feed_source("hung", site.url("/hung.xml")))
    # The fetch would wait 120 s for the hung answer: stopping well before that is the cancellation.
    path.write_text(path.read_text(encoding="utf-8").replace("timeout = 10", "timeout = 120"), encoding="utf-8")
    proc, log, reader = _start(path)
    try:
        assert asked.wait(30), "".join(log)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0, "".join(log)
        assert time.monotonic() - started < 60  # 3 s of grace, then cancelled: not the hung fetch's 120 s
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    assert any("hung: poll cancelled by shutdown" in line for line in log), "".join(log)


def test_sighup_while_the_store_is_still_opening_is_replayed_not_fatal(site: Site, tmp_path: Path) -> None:
    """Issue 14.12, deterministically: the store file is a FIFO, so start-up waits inside open_store()
    until the test writes it; a SIGHUP sent right then must not kill the daemon."""
    site.add("/a.xml", rss("启动途中收到SIGHUP的新闻标题"), content_type=FEED_TYPE)
    path = write_config(tmp_path, feed_source("a", site.url("/a.xml")))
    fifo = tmp_path / "store.json"
    os.mkfifo(fifo)
    proc, log, reader = _start(path)
    try:
        with open(fifo, "wb") as writer:  # returns once the daemon has opened the store for reading
            proc.send_signal(signal.SIGHUP)
            writer.write(b"{\"items\": {}}")  # an empty store, in stock TinyDB form
        started = lambda: any("daemon started" in line for line in log) or proc.poll() is not None  # noqa: E731
        wait_for("the daemon to run", started, 30, log)
        assert proc.poll() is None, f"the daemon died of the SIGHUP (exit {proc.returncode})"
        wait_for("the replayed reload", lambda: any("SIGHUP (during start-up): config applied" in line for line in log), 30, log)
        assert proc.poll() is None, "".join(log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, "".join(log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
