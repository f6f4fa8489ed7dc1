"""The health feed as a reader sees it: one time zone on its page, sentences that read apart."""

from __future__ import annotations

import html
import re
from pathlib import Path

import feedparser
import httpx
import pytest

from aggregator.cli import main
from aggregator.config import load_config

from .conftest import Site, write_config
from .pagehelpers import served

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _broken_source_polled(tmp_path: Path, site: Site, zone: str) -> Path:
    site.add("/broken.xml", b"down", status=500)
    path = write_config(tmp_path, f'[[sources]]\nname = "broken"\nurl = "{site.url("/broken.xml")}"\nkind = "feed"\n')
    # A source that never worked is an incident at its first failure with incident_failures = 1.
    text = path.read_text(encoding="utf-8").replace("timeout = 10", f'timeout = 10\nincident_failures = 1\ntimezone = "{zone}"')
    path.write_text(text, encoding="utf-8")
    assert main(["poll", "--once", str(path)]) == 1
    return path


def _page_text(markup: str) -> str:
    """What a browser shows of some inline markup: tags dropped, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def _entries_text(page: str) -> str:
    return " ".join(_page_text(entry) for entry in re.findall(r'<article class="entry">(.*?)</article>', page, re.S))


@pytest.mark.parametrize(("zone", "label"), [("Asia/Shanghai", "北京时间"), ("Europe/Berlin", "Europe/Berlin")])
def test_the_health_page_shows_every_time_in_the_configs_zone(tmp_path: Path, site: Site, zone: str, label: str) -> None:
    config = load_config(_broken_source_polled(tmp_path, site, zone))
    with served(config) as base:
        atom = feedparser.parse(httpx.get(f"{base}/health.atom").content)
        page = httpx.get(f"{base}/health.html").text
    [entry] = atom.entries
    # The headline's time and the time the page prints beside the entry are one and the same.
    headline = re.search(r"failing since (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) (\S+)", entry.title)
    assert headline, entry.title
    assert headline.group(2) == label, entry.title
    listed = re.findall(r"<time [^>]*>([^<]+)</time>", page)
    assert listed == [f"{headline.group(1)} {label}"], (listed, entry.title)
    assert "UTC" not in _entries_text(page)
    # Atom's own timestamps stay RFC 3339, whatever the page shows.
    raw = (tmp_path / "feeds" / "health.atom").read_text("utf-8")
    for stamp in re.findall(r"<(?:updated|published)>([^<]+)</", raw):
        assert RFC3339.match(stamp), stamp


def test_the_health_summary_reads_as_separate_sentences(tmp_path: Path, site: Site) -> None:
    config = load_config(_broken_source_polled(tmp_path, site, "Asia/Shanghai"))
    with served(config) as base:
        page = httpx.get(f"{base}/health.html").text
        atom = feedparser.parse(httpx.get(f"{base}/health.atom").content)
    shown = _entries_text(page)
    # Each sentence ends before the next begins: no "details.Source" or "北京时间.Error".
    assert not re.search(r"[.。:)][A-Z]", shown), shown
    assert "for details. Source: broken; first failure" in shown, shown
    assert re.search(r"北京时间\. Error \(http-status\): .+\.", shown), shown
    # A reader that shows the entry as text (its summary, or its content without tags) reads the same.
    [entry] = atom.entries
    text = _page_text(entry.get("content", [{}])[0].get("value", "") or entry.get("summary", ""))
    assert not re.search(r"[.。:)][A-Z]", text), text
