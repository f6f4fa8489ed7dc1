"""What a person sees on a terminal and in pipes: log and progress apart, each failure once,
one line per poll cycle, our DEBUG without library noise, and quiet exits into `head`."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from .conftest import Response, Site, write_config
from .test_scheduler import rss

ROOT = Path(__file__).parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    return {**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "TERM": "xterm"}


def _sources(site: Site, hold: threading.Event) -> str:
    page = "<html><body><ul>" + "".join(
        f'<li><a href="/art/{n}.html">第{n}条终端测试新闻的标题足够长</a><span>2024-05-0{n}</span></li>' for n in range(1, 6)
    ) + "</ul></body></html>"

    def held(_request: object) -> Response:
        hold.wait(30)  # released by the test once the first source's progress is on screen
        return Response(page.encode())

    site.add("/list.html", held)
    site.add("/fast.xml", rss("终端测试的快速来源新闻标题"), content_type="application/rss+xml")
    site.add("/missing.xml", b"no", status=404, content_type="text/plain")
    return (
        f'[[sources]]\nname = "slow"\nurl = "{site.url("/list.html")}"\nkind = "auto"\nfetch_articles = false\n\n'
        f'[[sources]]\nname = "fast"\nurl = "{site.url("/fast.xml")}"\nkind = "feed"\n\n'
        f'[[sources]]\nname = "missing"\nurl = "{site.url("/missing.xml")}"\nkind = "feed"\n\n'
    )


def test_on_a_terminal_progress_and_log_lines_stay_apart_and_a_failure_shows_once(site: Site, tmp_path: Path) -> None:
    hold = threading.Event()
    config = write_config(tmp_path, _sources(site, hold))
    # One loopback host serves all three: let them run side by side, as different sites would.
    config.write_text(config.read_text().replace("host_delay = 0", "host_delay = 0\nhost_concurrency = 4"))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "poll", "--once", str(config)],
        stdin=slave, stdout=slave, stderr=slave, env=_env(), close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            if not hold.is_set() and "2/3" in ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")):
                hold.set()  # two sources done and drawn; the slow one now logs while progress shows
    finally:
        hold.set()
        os.close(master)
        proc.wait(timeout=60)
    # The terminal turns \n into \r\n; a bare \r (or erase-line) starts the line over.
    screen = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"))
    lines = [line.rsplit("\r", 1)[-1] for line in screen.split("\n")]
    logged = [line for line in lines if "no selectors configured" in line]
    assert logged, screen
    for line in logged:
        assert "2/3" not in line and "polling" not in line, line  # the log line did not run into the bar
    assert screen.count("HTTP 404") == 1, screen  # the failure once: in the summary, not also as a log line
    assert re.search(r"polled 3 source\(s\) in [\d.]+s: \d+ new, 0 changed, 1 failed", screen), screen


def test_debug_is_ours_and_trace_adds_the_libraries(site: Site, tmp_path: Path) -> None:
    site.add("/fast.xml", rss("调试日志测试的新闻标题足够长"), content_type="application/rss+xml")
    config = write_config(tmp_path, f'[[sources]]\nname = "fast"\nurl = "{site.url("/fast.xml")}"\nkind = "feed"\n')

    def log_of(level: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "aggregator", "--log-level", level, "poll", "--once", str(config)],
            env=_env(), capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return [line for line in done.stderr.splitlines() if " DEBUG " in line or " INFO " in line]

    debug = log_of("debug")
    names = [re.match(r"^\S+ \S+ (?:DEBUG|INFO) ([\w.]+): ", line) for line in debug]
    assert debug and all(m and m.group(1).split(".")[0] == "aggregator" for m in names), debug
    assert any(" DEBUG " in line for line in debug)
    assert any("polled 1 source(s)" in line for line in debug)
    trace = log_of("TRACE")
    assert any("httpcore" in line for line in trace)
    bad = subprocess.run([sys.executable, "-m", "aggregator", "--log-level", "LOUD", "check", str(config)],
                         env=_env(), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown log level 'LOUD'" in bad.stderr


def test_piping_check_and_status_into_head_exits_quietly(tmp_path: Path) -> None:
    body = "".join(f'[[sources]]\nname = "s{n:05d}"\nurl = "https://example.gov.cn/{n}/"\nkind = "feed"\n\n' for n in range(3000))
    config = write_config(tmp_path, body)
    for command in (["check"], ["status"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", *command, str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        )
        assert proc.stdout is not None and proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does after its line
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipeError" not in err, err
        assert proc.returncode == 141
