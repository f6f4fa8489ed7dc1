"""base_url follows [serve] unless set; an explicit one that contradicts [serve] is warned about."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import feedparser
from lxml import etree

from aggregator.cli import main
from aggregator.config import parse_config


def _check(path: Path) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["check", str(path)]) == 0
    return out.getvalue()


def test_links_and_check_follow_the_serve_port(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[settings]\nstore = "s.json"\noutput_dir = "feeds"\n\n[serve]\nport = 9000\n\n[categories.a]\ntitle = "A"\n')
    assert main(["build", str(path)]) == 0
    opml = etree.parse(str(tmp_path / "feeds" / "feeds.opml"))
    urls = opml.xpath("//outline/@xmlUrl")
    assert urls and all(url.startswith("http://127.0.0.1:9000/") for url in urls), urls
    feed = feedparser.parse((tmp_path / "feeds" / "a.atom").read_bytes())
    assert [link.href for link in feed.feed.links if link.rel == "self"] == ["http://127.0.0.1:9000/a.atom"]
    text = _check(path)
    assert "served as http://127.0.0.1:9000/" in text and ":8080" not in text and "base_url" not in text


def test_an_explicit_base_url_on_the_same_host_but_another_port_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[settings]\nbase_url = "http://localhost:8080"\n\n[serve]\nport = 9000\n')
    text = _check(path)
    assert "warning: settings.base_url http://localhost:8080 names port 8080, but [serve] listens on 127.0.0.1:9000" in text


def test_a_base_url_elsewhere_is_not_warned_about_and_is_kept() -> None:
    config = parse_config('[settings]\nbase_url = "https://feeds.example.org/"\n\n[serve]\nport = 9000\n')
    assert config.settings.base_url == "https://feeds.example.org/"
    assert not [w for w in config.warnings() if "base_url" in w]
    assert parse_config('[serve]\nhost = "::1"\nport = 8081\n').settings.base_url == "http://[::1]:8081"
