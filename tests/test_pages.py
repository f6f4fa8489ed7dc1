"""Readable pages and JSON Feed, from a real poll: what a browser or a JSON reader gets from the server."""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import httpx
import pytest

from aggregator.infra.browser import CHROMIUM_ARGS  # the flags the daemon launches Chromium with
from aggregator.cli import main
from aggregator.config import Config, load_config
from aggregator.publish.health import source_health
from aggregator.store import open_store

from .conftest import Site, write_config
from .pagehelpers import rss, served

HOSTILE = '<script>alert("pwned")</script> 罚款通报'
ENFORCEMENT = [
    ("某化工企业超标排放被处罚", "https://www.mee.gov.cn/ywdt/t20250423_1.shtml", "罚款20万元，责令整改。"),
    ("关于两起环境违法行为的行政处罚决定", "https://www.mee.gov.cn/ywdt/t20250423_2.shtml", "<p>详见<b>原文</b></p>"),
    (HOSTILE, "https://www.mee.gov.cn/ywdt/t20250423_3.shtml", '<img src="/pic.png" onerror="alert(1)">执法<script>alert(2)</script>'),
]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
ECOLOGY = [("生态保护红线划定完成", "https://www.mee.gov.cn/ywdt/t20250422_9.shtml", "红线。")]


def _config(tmp_path: Path, site: Site, base_url: str = "http://127.0.0.1:8080") -> Config:
    site.add("/enf.xml", rss(ENFORCEMENT), content_type="application/rss+xml")
    site.add("/eco.xml", rss(ECOLOGY), content_type="application/rss+xml")
    site.add("/broken.xml", b"gone", status=500)
    site.add("/pic.png", base64.b64decode(PNG), content_type="image/png")
    path = write_config(
        tmp_path,
        f"""
[categories.enforcement]
title = "生态环境执法"
description = "处罚 & 执法"
rules = {{ include = ["处罚", "执法", "罚款"] }}

[categories.ecology]
title = "生态"

[[sources]]
name = "mee-enforcement"
url = "{site.url('/enf.xml')}"
kind = "feed"

[[sources]]
name = "mee-ecology"
url = "{site.url('/eco.xml')}"
kind = "feed"
categories = ["ecology"]

[[sources]]
name = "broken"
url = "{site.url('/broken.xml')}"
kind = "feed"
""",
        base_url=base_url,
    )
    main(["poll", "--once", str(path)])  # exit 1: one source fails, on purpose
    return load_config(path)


def _status(config: Config) -> dict[str, Any]:
    with open_store(config.store_path, readonly=True) as store:
        rows = source_health(config, store.states(), datetime.now(timezone.utc), counts=store.counts_by_source())
    return {
        "generated": datetime.now(timezone.utc).isoformat(),
        "health_feed": "health.atom",
        "sources": [row.as_dict() for row in rows],
    }


@pytest.fixture
def polled(tmp_path: Path, site: Site) -> Config:
    return _config(tmp_path, site)


def test_feed_page_shows_the_atom_entries_escaped_in_china_time(polled: Config) -> None:
    with served(polled, lambda: _status(polled)) as base:
        atom = feedparser.parse(httpx.get(f"{base}/enforcement.atom").content)
        page = httpx.get(f"{base}/enforcement.html")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<meta name="viewport"' in html
    assert [e.title for e in atom.entries] == [t for t, _, _ in ENFORCEMENT]
    for entry in atom.entries:
        assert f'href="{entry.link}"' in html
    # 2025-04-23 02:00 UTC is 10:00 in Beijing.
    assert "2025-04-23 10:00 北京时间" in html
    assert "<script>" not in html and "onerror" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    assert "<b>原文</b>" in html  # sanitised summary markup is kept
    # Categories by their titles, linking to their pages: the slug is for URLs and the config.
    assert '<a class="tag" href="/enforcement.html">生态环境执法</a>' in html and ">enforcement<" not in html
    assert page.headers["etag"] and page.headers["last-modified"]
    # Unpublished slugs and names outside the feeds have no page.
    with served(polled) as base:
        assert httpx.get(f"{base}/nosuch.html").status_code == 404
        assert httpx.get(f"{base}/feeds.html").status_code == 404
        assert httpx.get(f"{base}/status").status_code == 404  # no status source: no page


def test_index_lists_counts_and_last_update(polled: Config) -> None:
    with served(polled) as base:
        html = httpx.get(f"{base}/").text
    rows = dict(re.findall(r'data-slug="([a-z-]+)">.*?<td class="count">(\d+)</td>', html, re.S))
    assert rows == {"all": "4", "enforcement": "3", "ecology": "1", "health": "0"}
    assert '<a class="page" href="/enforcement.html">生态环境执法</a>' in html
    assert "处罚 &amp; 执法" in html
    assert "2025-04-23 10:00" in html  # the enforcement feed's newest entry
    assert "<th>Newest entry (北京时间)</th><th>Subscribe</th>" in html and "Last update" not in html
    assert re.search(r'data-slug="health">.*?<td class="updated">—<br>', html, re.S)  # no entry, no date
    written = datetime.fromtimestamp((polled.output_dir / "all.atom").stat().st_mtime, timezone.utc)
    shown = written.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"Feeds last written {shown} (北京时间)" in html
    assert re.search(rf'data-slug="all">.*?<small class="changed">feed changed {shown}</small>', html, re.S)


def test_index_says_when_the_sources_were_polled_apart_from_the_newest_entry(polled: Config) -> None:
    # Items from April, polled today: the page must not read as if nothing had happened since April.
    status = _status(polled)
    with served(polled, lambda: status) as base:
        html = httpx.get(f"{base}/").text
    polled_at = max(datetime.fromisoformat(row["last_attempt"]) for row in status["sources"])
    shown = polled_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"Sources last polled {shown}" in html and "a quiet source leaves its newest entry old" in html


def test_status_page_matches_status_json(polled: Config) -> None:
    with served(polled, lambda: _status(polled)) as base:
        doc = httpx.get(f"{base}/status.json").json()
        html = httpx.get(f"{base}/status").text
    by_name = {row["name"]: row for row in doc["sources"]}
    assert by_name["broken"]["status"] == "failing" and by_name["mee-enforcement"]["items_stored"] == 3
    for name, row in by_name.items():
        cells = re.search(rf'data-name="{name}">(.*?)</tr>', html, re.S)
        assert cells, name
        assert f"status-{row['status']}" in cells.group(1)
        assert f'<td class="items">{row["items_stored"]}</td>' in cells.group(1)
    assert "http-status" in html  # the broken source's error kind
    assert "<th>Last poll</th><th>Last success</th><th>Items stored</th><th>Next poll</th>" in html


def test_links_follow_the_base_url_path(tmp_path: Path, site: Site) -> None:
    config = _config(tmp_path, site, base_url="https://example.org/env/feeds/")
    with served(config, lambda: _status(config)) as base:
        index = httpx.get(f"{base}/").text
        page = httpx.get(f"{base}/all.html").text
        status = httpx.get(f"{base}/status").text
    for html in (index, page, status):
        hrefs = re.findall(r'href="([^"]+)"', html)
        local = [h for h in hrefs if not h.startswith(("https://www.mee.gov.cn", "http://127.0.0.1", "data:"))]
        assert local and all(h.startswith("/env/feeds/") for h in local), local
    assert '<a class="page" href="/env/feeds/enforcement.html">' in index


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _absolute(url: Any) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def validate_json_feed(doc: Any) -> list[str]:
    """The JSON Feed 1.1 rules a reader relies on; returns what is wrong."""
    problems = []
    if not isinstance(doc, dict):
        return ["top level is not an object"]
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"version {doc.get('version')!r}")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        problems.append("title missing")
    for key in ("home_page_url", "feed_url"):
        if key in doc and not _absolute(doc[key]):
            problems.append(f"{key} not absolute: {doc[key]!r}")
    if not isinstance(doc.get("items"), list):
        return problems + ["items missing"]
    ids = set()
    for n, item in enumerate(doc["items"]):
        where = f"items[{n}]"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id must be a non-empty string")
        ids.add(item.get("id"))
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            problems.append(f"{where}: needs content_html or content_text")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item and not _absolute(item[key]):
                problems.append(f"{where}: {key} not absolute: {item[key]!r}")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.match(item[key]):
                problems.append(f"{where}: {key} not RFC 3339: {item[key]!r}")
        if "authors" in item and not all(isinstance(a, dict) and a.get("name") for a in item["authors"]):
            problems.append(f"{where}: authors must be objects with a name")
        if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
            problems.append(f"{where}: tags must be strings")
    if len(ids) != len(doc["items"]):
        problems.append("item ids repeat")
    return problems


def test_validator_catches_broken_json_feeds() -> None:
    good = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "content_text": "x"}]}
    assert validate_json_feed(good) == []
    assert validate_json_feed({**good, "feed_url": "/all.json"})
    assert validate_json_feed({**good, "items": [{"id": "1", "content_text": "x", "date_published": "2025-04-23 10:00"}]})
    assert validate_json_feed({**good, "items": [{"id": "1"}]})
    assert validate_json_feed({**good, "version": "1.1"})


def test_json_feed_validates_and_matches_the_atom(polled: Config) -> None:
    with served(polled) as base:
        for slug in ("all", "enforcement", "ecology", "health"):
            reply = httpx.get(f"{base}/{slug}.json")
            assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/feed+json")
            doc = reply.json()
            assert validate_json_feed(doc) == [], slug
            assert doc["feed_url"] == f"http://127.0.0.1:8080/{slug}.json"
            atom = feedparser.parse(httpx.get(f"{base}/{slug}.atom").content)
            assert [i["id"] for i in doc["items"]] == [e.id for e in atom.entries]
            assert [i["title"] for i in doc["items"]] == [e.title for e in atom.entries]
            again = httpx.get(f"{base}/{slug}.json", headers={"If-None-Match": reply.headers["etag"]})
            assert again.status_code == 304


def test_json_feed_is_byte_identical_after_a_rebuild(polled: Config) -> None:
    with served(polled) as base:
        before = httpx.get(f"{base}/all.json").content
    assert main(["build", str(polled.path)]) == 0
    with served(polled) as base:
        assert httpx.get(f"{base}/all.json").content == before


# -- in a real browser -------------------------------------------------------------------------


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None




@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium via Playwright's sync API, which holds an event loop: request it after any poll fixture."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        message = (
            "Chromium driven by Playwright is needed for the page tests: `apt-get install -y chromium` and "
            "`pip install playwright` (never `playwright install`); .ci/run does both"
        )
        if os.environ.get("AGGREGATOR_SKIP_BROWSER") == "1":
            pytest.skip(message + " (skipped: AGGREGATOR_SKIP_BROWSER=1)")
        pytest.fail(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Any, url: str, shot: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 420, "height": 900})  # a phone-sized window
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    response = page.goto(url)
    assert response is not None and response.status == 200
    page.screenshot(path=str(shot), full_page=True)
    return page, errors


def test_pages_in_chromium(polled: Config, browser: Any, tmp_path: Path) -> None:
    with served(polled, lambda: _status(polled)) as base:
        index, errors = _open(browser, f"{base}/", tmp_path / "index.png")
        counts = {
            row.get_attribute("data-slug"): row.locator("td.count").inner_text()
            for row in index.locator("tr.feed").all()
        }
        assert counts == {"all": "4", "enforcement": "3", "ecology": "1", "health": "0"}
        assert index.locator("meta[name=viewport]").count() == 1
        # A phone-width window does not need sideways scrolling for the page itself.
        assert index.evaluate("document.body.scrollWidth") <= 420

        index.locator('a.page[href$="enforcement.html"]').click()
        index.wait_for_url(f"{base}/enforcement.html")
        titles = index.locator("article.entry h2").all_inner_texts()
        assert titles == [t for t, _, _ in ENFORCEMENT]  # the <script> title shows as text
        assert index.locator("article.entry").first.locator("time").inner_text() == "2025-04-23 10:00 北京时间"
        index.screenshot(path=str(tmp_path / "feed.png"), full_page=True)
        assert index.locator("script").count() == 0

        status, status_errors = _open(browser, f"{base}/status", tmp_path / "status.png")
        cells = {
            row.get_attribute("data-name"): row.locator("td.status").inner_text()
            for row in status.locator("tr.source").all()
        }
        assert cells["broken"].startswith("failing") and cells["mee-enforcement"] == "ok"
        assert status.locator('tr.source[data-name="mee-enforcement"] td.items').inner_text() == "3"
        index.close()
        status.close()
    assert errors == [] and status_errors == []
    for name in ("index.png", "feed.png", "status.png"):
        assert (tmp_path / name).stat().st_size > 1000
