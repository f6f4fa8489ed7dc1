"""`poll --once --demo` and `build --demo` work on the demo config, as `run --demo` does."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.demo import DEMO_BASE, DEMO_PORT

ROOT = Path(__file__).parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _demo_config(tmp_path: Path) -> Path:
    pytest.importorskip("aggregator.extract.html_list")
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace(DEMO_BASE, f"http://127.0.0.1:{_free_port()}").replace("../.state/demo/", "")
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_poll_once_and_build_with_demo(tmp_path: Path) -> None:
    path = _demo_config(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["poll", "--once", "--demo", str(path)]) == 0, out.getvalue()
    assert "FAILED" not in out.getvalue()
    feeds = tmp_path / "feeds"
    assert len(feedparser.parse((feeds / "all.atom").read_bytes()).entries) == 6
    (feeds / "all.atom").unlink()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["build", "--demo", str(path)]) == 0
    assert len(feedparser.parse((feeds / "all.atom").read_bytes()).entries) == 6


def test_the_demo_serves_its_feeds_on_8080_as_the_readme_says() -> None:
    config = load_config(ROOT / "config" / "demo.toml")
    assert (config.serve.host, config.serve.port) == ("127.0.0.1", 8080)
    assert config.settings.base_url == "http://127.0.0.1:8080"
    assert all(f":{DEMO_PORT}/" in source.url for source in config.sources)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "feeds on http://127.0.0.1:8080/" in readme and "poll --once --demo" in readme


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args], env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def _demo_copy(tmp_path: Path, site_port: int | None = None) -> Path:
    """config/demo.toml with its data beside it, feeds served on a free port, the site where asked."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8").replace("../.state/demo/", "")
    text = text.replace("port = 8080", f"port = {_free_port()}")
    if site_port is not None:
        text = text.replace(DEMO_BASE, f"http://127.0.0.1:{site_port}")
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["run", "--demo"], ["poll", "--once", "--demo"]])
def test_a_busy_sample_site_port_is_exit_4_with_the_way_out(tmp_path: Path, command: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _cli(*command, str(_demo_copy(tmp_path, port)))
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if "sample site" in line and "cannot" in line]
    assert f"127.0.0.1:{port}" in line and "--demo-port PORT" in line and "AGGREGATOR_DEMO_PORT" in line, line


def test_the_sample_site_moves_with_demo_port(tmp_path: Path) -> None:
    path = _demo_copy(tmp_path)  # sources as shipped, on 127.0.0.1:8765
    moved = _free_port()
    done = _cli("poll", "--once", "--demo", "--demo-port", str(moved), str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"demo: sample site on http://127.0.0.1:{moved}" in done.stderr
    entries = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes()).entries
    assert len(entries) == 6 and all(f"127.0.0.1:{moved}/" in entry.link for entry in entries)


def test_demo_port_from_the_environment_reaches_every_load_of_the_config(tmp_path: Path) -> None:
    # What `check` shows is what a reload of the daemon reads: the sources on the moved port.
    done = _cli("check", str(_demo_copy(tmp_path)), env={"AGGREGATOR_DEMO_PORT": "18765"})
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:18765/news.xml" in done.stdout and ":8765/" not in done.stdout
    bad = _cli("check", str(_demo_copy(tmp_path)), env={"AGGREGATOR_DEMO_PORT": "80000"})
    assert bad.returncode == 2 and "AGGREGATOR_DEMO_PORT='80000' is not a port" in bad.stderr, bad.stderr
