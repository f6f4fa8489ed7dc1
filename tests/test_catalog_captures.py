"""Captures of the real sites, as the catalog's evidence, run through the real readers.

`tests/fixtures/catalog/` keeps pages the sites served, saved in public repositories, with
their provenance (`manifest.json`: repository, path, commit, sha256, URL, capture date). Every
record is checked against its bytes, and every catalog entry whose evidence is a capture is
polled from a loopback server serving its capture at a path shaped like the entry's URL: the
Atom feed must hold the rows a person counted on the page, with their titles, absolute links
and dates, and the article's full text, date and 来源 where the article was captured too.

Public captures of catalog columns were searched for in 2026-12 (the code index, the stored
repositories of page-extraction datasets and spiders): none was found for any column the
catalog lists, so no entry has evidence of kind "capture" yet and the per-entry test below has
no case. By preset: trs, hanweb, gkmlpt, gd-post, ucap and generic have no public capture of a
catalog column. One capture of a catalog site is kept: 江西省生态环境厅's column col42150, not
a catalog column but the same platform and list module as `jx/sthjt/xzcf`, `jx/sthjt/col42066`
and `jx/sthjt/col42067`; it shows that platform writes its lists in with a script, so an entry
on it must render.

The presets' article readers are also run on real article pages of their platforms (kept in
`tests/fixtures/real/` with their provenance); the one-row list pages linking to them are
written for the tests and are no evidence for any entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import lxml.html
import pytest
from lxml import etree

from aggregator import catalog
from aggregator.cli import main

from .conftest import FIXTURES, Site, write_config

CAPTURES = FIXTURES / "catalog"
MANIFEST = json.loads((CAPTURES / "manifest.json").read_text(encoding="utf-8"))["captures"]
REAL = {p["file"]: p for p in json.loads((FIXTURES / "real" / "manifest.json").read_text(encoding="utf-8"))["pages"]}
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
CATEGORIES = "".join(f'[categories.{name}]\ntitle = "{title}"\n' for name, title in catalog.CATEGORY_TITLES.items())
# The manifest's conventions: whitespace of every kind is deleted before text is compared.
BLANKS = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
BEIJING = ZoneInfo("Asia/Shanghai")
CAPTURED = [e for e in catalog.entries() if e.evidence_kind == "capture"]


def squeeze(text: str) -> str:
    return BLANKS.sub("", text)


def text_of(html: str) -> str:
    return squeeze(lxml.html.fromstring(f"<div>{html}</div>").text_content())


def beijing_time(entry: feedparser.FeedParserDict) -> str:
    """The entry's publication time as the site shows it (Beijing time), "YYYY-MM-DD HH:MM"."""
    return datetime.fromisoformat(entry.published).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def poll_feeds(tmp_path: Path, sources: str, categories: list[str]) -> list[feedparser.FeedParserDict]:
    """The entries of the category feeds a poll of `sources` writes, each feed valid Atom (schema and feedparser)."""
    config = write_config(tmp_path, CATEGORIES + sources)
    assert main(["poll", str(config), "--once"]) == 0
    entries: list[feedparser.FeedParserDict] = []
    for path in (tmp_path / "feeds" / f"{name}.atom" for name in categories):
        assert SCHEMA.validate(etree.parse(str(path))), (path.name, SCHEMA.error_log)
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, path.name
        entries.extend(parsed.entries)
    return entries


# --- the kept bytes are what the provenance names ----------------------------------------------------


def test_every_capture_is_the_bytes_its_provenance_names() -> None:
    kept = {p.relative_to(CAPTURES).as_posix() for p in CAPTURES.rglob("*") if p.is_file()} - {"manifest.json", "README.md"}
    assert {r["file"] for r in MANIFEST} == kept, "every file under tests/fixtures/catalog/ has one manifest record"
    for record in MANIFEST:
        data = (CAPTURES / record["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"], record["file"]
        assert len(data) == record["bytes"] and len(data) < 300_000, record["file"]
        assert re.fullmatch(r"[0-9a-f]{40}", record["commit"]) and re.fullmatch(r"[\w.-]+/[\w.-]+", record["repository"])
        assert record["url"].startswith(("http://", "https://")) and record["path"] and record["captured"] and record["fidelity"]
        if record["entry"] is None:
            # A capture of a column the catalog does not list says why, and which entries of its site it tells about.
            assert record["why_no_entry"] and [catalog.entry(i).id for i in record["platform_of"]] == record["platform_of"]
            continue
        entry = catalog.entry(record["entry"])
        assert entry.evidence_kind == "capture", entry.id
        if record["kind"] == "list":  # the entry's evidence names its list capture; an article capture sits beside it
            assert entry.checked_against == f"tests/fixtures/catalog/{record['file']}"
            assert entry.capture == {k: record[k] for k in catalog.CAPTURE_KEYS}, entry.id
        else:
            assert Path(entry.checked_against).parent == Path("tests/fixtures/catalog", record["file"]).parent, entry.id
    recorded = {f"tests/fixtures/catalog/{r['file']}" for r in MANIFEST if r["entry"] and r["kind"] == "list"}
    for entry in CAPTURED:
        assert entry.checked_against in recorded, f"{entry.id}: its capture has no record in tests/fixtures/catalog/manifest.json"


# --- every entry reads its own capture ----------------------------------------------------------------


def records_of(entry: catalog.Entry) -> dict[str, dict[str, Any]]:
    """The entry's captures by kind (list, article)."""
    return {r["kind"]: r for r in MANIFEST if r["entry"] == entry.id}


@pytest.mark.parametrize("entry", CAPTURED, ids=[e.id for e in CAPTURED])
def test_an_entry_reads_its_own_capture(entry: catalog.Entry, site: Site, tmp_path: Path) -> None:
    captured = records_of(entry)
    listed, article = captured["list"], captured.get("article")
    where = urlsplit(entry.url)
    path = where.path + (f"?{where.query}" if where.query else "")
    list_url = site.url(path)
    site.add(path, (CAPTURES / listed["file"]).read_bytes())
    if article:
        site.add(urlsplit(article["url"]).path, (CAPTURES / article["file"]).read_bytes())
    entries = poll_feeds(tmp_path, f"""
[[sources]]
catalog = "{entry.id}"
url = "{list_url}"
backfill_pages = 0
fetch_articles = {'true' if article else 'false'}
""", list(entry.categories))
    expected = listed["expected"]
    assert len(entries) >= expected["n_items"], [e.title for e in entries]
    by_title = {squeeze(e.title): e for e in entries}
    for row in expected["first_3"]:
        shown = by_title[squeeze(row["title"])]  # titles as the page shows them
        # Absolute: a relative href resolved under the loopback host, an off-site one kept as it is.
        assert shown.link == urljoin(list_url, row["href"]), (row, shown.link)
        if row.get("date"):
            assert beijing_time(shown).startswith(row["date"]), (row, shown.published)
    if article:
        wanted = article["expected"]
        shown = by_title[squeeze(wanted["title"])]
        assert squeeze(wanted["body_first_30"]) in text_of(shown.content[0].value)
        assert beijing_time(shown).startswith(wanted["date"]), shown.published
        if wanted.get("source"):
            assert [c.name for c in shown.contributors] == [wanted["source"]]  # the byline; the author is the authority


# --- the 江西 platform: its lists are written in by a script -----------------------------------------


def test_the_jiangxi_platform_builds_its_lists_in_the_browser_so_its_entries_render(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    record = next(r for r in MANIFEST if r["id"] == "jx-sthjt-col42150")
    page = (CAPTURES / record["file"]).read_bytes()
    where = urlsplit(record["url"])
    site.add(where.path, page)
    # Read with the selectors of the entry that read this platform without a browser: the real page has no
    # rows in its HTML, and the reader says why and what to set.
    selectors = catalog.entry("jx/sthjt/xzcf").template()["list"]
    code = main(["try", site.url(where.path), "--item", selectors["item"], "--title", selectors["title"], "--date", selectors["date"]])
    said = capsys.readouterr().out
    assert code == 1 and ": 0 items" in said, said
    assert "a list that a script builds after the page loads is not in the HTML" in said and "render = true" in said
    # What the page's script would write in: its rows are in the page as data (counted in the manifest).
    data = re.search(rb"articleList: (\[.*?\]),\n", page, re.S)
    assert data is not None
    rows = json.loads(data.group(1))
    assert len(rows) == record["expected"]["script_rows"]
    assert [(r["title"], r["pubDate"], json.loads(r["urls"])["pc"]) for r in rows[:3]] == [
        (row["title"], row["date"], row["href"]) for row in record["expected"]["first_3"]
    ]
    # So every entry of this platform is read in the browser.
    for entry_id in record["platform_of"]:
        template = catalog.entry(entry_id).template()
        assert template.get("render") is True and catalog.entry(entry_id).needs_browser, entry_id


# --- the presets' article readers on real article pages of their platforms ---------------------------

REAL_ARTICLES = [
    # preset, the real page, the path it is served at (its own URL's), the one-row list written for the test
    ("hanweb", "fgw-zj-gov-cn-article-hanweb.html", "/col/col1621004/index.html",
     '<script type="text/xml"><datastore><recordset><record><![CDATA[<li><a href="{href}" title="{title}">{title}</a>'
     "<span>{day}</span></li>]]></record></recordset></datastore></script>"),
    ("trs", "g01_cmse_gov.html", "/ztbd/xwfbh/index.shtml",
     '<ul class="list"><li><a href="./{relative}">{title}</a><span>{day}</span></li></ul>'),
    ("trs", "g04_nmg_gov.html", "/zwyw/jrgz/index.shtml",
     '<ul class="list"><li><a href="./{relative}">{title}</a><span>{day}</span></li></ul>'),
]


@pytest.mark.parametrize(("preset", "file", "list_path", "rows"), REAL_ARTICLES, ids=[f"{p}-{f.split('.')[0]}" for p, f, _, _ in REAL_ARTICLES])
def test_a_preset_reads_a_real_article_of_its_platform_whole(preset: str, file: str, list_path: str, rows: str, site: Site, tmp_path: Path) -> None:
    real = REAL[file]
    expected = real["expected"]
    article_path = urlsplit(expected["url"]).path
    relative = article_path[len(list_path.rsplit("/", 1)[0]) + 1:]
    day = expected["publish_datetime"][:10]
    listing = rows.format(href=article_path, relative=relative, title=expected["title"], day=day)
    site.add(list_path, f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>列表</title></head><body>{listing}</body></html>')
    site.add(article_path, (FIXTURES / "real" / file).read_bytes())
    [entry] = poll_feeds(tmp_path, f"""
[[sources]]
name = "{preset}-real"
preset = "{preset}"
url = "{site.url(list_path)}"
categories = ["ecology"]
backfill_pages = 0
""", ["ecology"])
    assert squeeze(entry.title) == squeeze(expected["title"])
    assert entry.link == site.url(article_path)
    body = text_of(entry.content[0].value)
    assert squeeze(expected["body_first_30"]) in body and squeeze(expected["body_last_30"]) in body
    # The whole text once: a body copied into a hidden block further down the page is not read twice.
    assert body.count(squeeze(expected["body_first_30"])) == 1, body[:200]
    assert len(body) >= expected["body_len_nows"], len(body)
    # The date the page shows, to the minute where it shows one.
    assert beijing_time(entry).startswith(expected["publish_datetime"][:16]), entry.published
    # The entry is credited to the source (README "Which authority an entry comes from"); the page's
    # 来源 is its byline, a contributor, when the page names no 作者.
    assert entry.author == f"{preset}-real"
    if expected["source"] and not expected["author"]:
        assert [c.name for c in entry.get("contributors", [])] == [expected["source"]]
