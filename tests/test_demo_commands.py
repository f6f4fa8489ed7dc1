"""`poll --once --demo` and `build --demo` work on the demo config, as `run --demo` does."""

from __future__ import annotations

import contextlib
import io
import socket
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
