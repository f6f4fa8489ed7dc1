"""Penalty decisions (Case) as readers get them: Atom extension elements and a table leading the
content, `_case` in the JSON Feed, a table on the HTML page. Items go through a real TinyDB store
and the real publish; the feeds are read with feedparser, lxml (RELAX NG) and json, the pages over
the real server on 127.0.0.1 and in Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from lxml import etree, html as lxml_html

from aggregator.config import Config, load_config
from aggregator.models import CASE_FIELDS, Case
from aggregator.pipeline import publish_from_store
from aggregator.store import open_store

from .conftest import write_config
from .pagehelpers import served
from .storehelpers import NOW, item
from .test_pages import _open
from .test_pages import browser as _page_tests_browser

browser = _page_tests_browser  # the page tests' Chromium fixture, requested below by its name

SCHEMA = Path(__file__).parent / "schema" / "atom_rfc4287.rng"
A = "{http://www.w3.org/2005/Atom}"
NS = "tag:feed-aggregator,2026:case"
C = "{" + NS + "}"

FULL = Case(
    number="示环罚〔2026〕15号",
    party='某化工<有限>公司 & "分厂"',
    credit_code="91330100MA27XXXX1X",
    violation="废气排放口颗粒物超标 1.3 倍。\n现场检查时未开启治理设施。",
    basis="《中华人民共和国大气污染防治法》第九十九条第二项",
    penalty="罚款人民币35.6万元，责令改正",
    fine_yuan=356000,
    date="2026-02-20",
    authority="某市生态环境局",
)
PARTIAL = Case(party="某印染厂", fine_yuan=1235)
HOSTILE = Case(party="<script>alert(1)</script>", penalty="罚款 & 警告 'x'")
URLS = {n: f"https://example.org/{n}" for n in (1, 2, 3, 4, 5)}


def _config(tmp_path: Path) -> Config:
    path = write_config(
        tmp_path,
        """
[categories.enforcement]
title = "生态环境执法"
rules = { include = ["处罚"] }

[[sources]]
name = "s"
url = "http://127.0.0.1:9/list.xml"
kind = "feed"
""",
    )
    return load_config(path)


def _items() -> list[Any]:
    """As a poll hands them to the store: classified (every title has 处罚)."""
    enforcement = {"categories": ("enforcement",)}
    return [
        item(1, title="行政处罚决定书 示环罚〔2026〕15号", body="决定书正文", case=FULL, **enforcement),
        item(2, title="处罚信息公开 某印染厂", body="公开表", case=PARTIAL, **enforcement),
        item(3, title="环境执法检查通报 没有处罚决定", body="普通新闻", **enforcement),
        item(4, title="处罚 <值> 转义", body="转义", case=HOSTILE, **enforcement),
        item(5, title="处罚 空的案件", body="空白", case=Case(party="  ", number=""), **enforcement),
    ]


def _publish(config: Config) -> list[Path]:
    with open_store(config.store_path) as store:
        store.apply("s", _items(), NOW)
        store.commit()
        return publish_from_store(config, store, NOW)


@pytest.fixture
def published(tmp_path: Path) -> Config:
    config = _config(tmp_path)
    _publish(config)
    return config


def _atom(config: Config, slug: str = "enforcement") -> bytes:
    return (config.output_dir / f"{slug}.atom").read_bytes()


def _entries_by_link(data: bytes) -> dict[str, etree._Element]:
    root = etree.fromstring(data)
    return {e.find(f"{A}link[@rel='alternate']").get("href"): e for e in root.iterfind(f"{A}entry")}


def test_feedparser_reads_the_case_fields_as_entry_keys(published: Config) -> None:
    feed = feedparser.parse(_atom(published))
    assert not feed.bozo
    by_link = {entry.link: entry for entry in feed.entries}
    full = by_link[URLS[1]]
    assert {k: v for k, v in full.items() if k.startswith("case_")} == {
        "case_number": "示环罚〔2026〕15号",
        "case_party": '某化工<有限>公司 & "分厂"',
        "case_credit_code": "91330100MA27XXXX1X",
        "case_violation": "废气排放口颗粒物超标 1.3 倍。\n现场检查时未开启治理设施。",
        "case_basis": "《中华人民共和国大气污染防治法》第九十九条第二项",
        "case_penalty": "罚款人民币35.6万元，责令改正",
        "case_fine_yuan": "356000",
        "case_date": "2026-02-20",
        "case_authority": "某市生态环境局",
    }
    partial = by_link[URLS[2]]
    assert {k: v for k, v in partial.items() if k.startswith("case_")} == {"case_party": "某印染厂", "case_fine_yuan": "1235"}
    for plain in (URLS[3], URLS[5]):  # no case, and a case of blank fields only
        assert not [k for k in by_link[plain] if k.startswith("case")]
        assert by_link[plain].content[0].value.startswith("<p>")


def test_the_content_starts_with_a_table_of_the_stated_fields(published: Config) -> None:
    feed = feedparser.parse(_atom(published))
    by_link = {entry.link: entry for entry in feed.entries}

    def rows(link: str) -> list[tuple[str, str]]:
        content = by_link[link].content[0]
        assert content.type == "text/html"
        tree = lxml_html.fragment_fromstring(content.value, create_parent="div")
        first = tree[0]
        assert first.tag == "table"
        return [(tr.find("th").text_content(), tr.find("td").text_content()) for tr in first.iter("tr")]

    assert rows(URLS[1]) == [
        ("当事人", '某化工<有限>公司 & "分厂"'),
        ("统一社会信用代码", "91330100MA27XXXX1X"),
        ("文号", "示环罚〔2026〕15号"),
        ("违法事实", "废气排放口颗粒物超标 1.3 倍。现场检查时未开启治理设施。"),  # a <br> between the lines
        ("处罚依据", "《中华人民共和国大气污染防治法》第九十九条第二项"),
        ("处罚决定", "罚款人民币35.6万元，责令改正"),
        ("罚款", "356,000 元（35.6 万元）"),
        ("决定日期", "2026-02-20"),
        ("处罚机关", "某市生态环境局"),
    ]
    assert rows(URLS[2]) == [("当事人", "某印染厂"), ("罚款", "1,235 元")]
    assert by_link[URLS[1]].content[0].value.endswith("</table><p>决定书正文</p>")
    # Values are text: markup in them is escaped, never a tag.
    hostile = by_link[URLS[4]].content[0].value
    assert "<script>" not in hostile and "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    assert rows(URLS[4]) == [("当事人", "<script>alert(1)</script>"), ("处罚决定", "罚款 & 警告 'x'")]
    assert by_link[URLS[3]].content[0].value == "<p>普通新闻</p>"


def test_raw_elements_namespace_and_rfc4287_schema(published: Config) -> None:
    data = _atom(published)
    assert etree.RelaxNG(etree.parse(str(SCHEMA))).validate(etree.fromstring(data))
    # Declared once, on the feed element, under the documented prefix.
    assert data.count(b"xmlns:case=") == 1
    root = etree.fromstring(data)
    assert root.nsmap["case"] == NS
    entries = _entries_by_link(data)
    full = entries[URLS[1]]
    assert [etree.QName(e).localname for e in full.iterchildren(f"{C}*")] == list(CASE_FIELDS)
    assert full.findtext(f"{C}fine_yuan") == "356000"  # a plain integer: no separators, no unit
    assert full.xpath("case:party/text()", namespaces={"case": NS}) == ['某化工<有限>公司 & "分厂"']
    assert [etree.QName(e).localname for e in entries[URLS[2]].iterchildren(f"{C}*")] == ["party", "fine_yuan"]
    for plain in (URLS[3], URLS[5]):
        assert list(entries[plain].iterchildren(f"{C}*")) == []
    # A feed with no case at all does not even declare the namespace.
    assert b"feed-aggregator,2026:case" not in _atom(published, "health")


def test_regenerating_with_no_new_data_changes_no_byte(published: Config) -> None:
    before = {p.name: p.read_bytes() for p in published.output_dir.glob("*.atom")}
    assert b"<case:party>" in before["all.atom"]
    assert _publish(published) == []  # the same items again: nothing rewritten
    after = {p.name: p.read_bytes() for p in published.output_dir.glob("*.atom")}
    assert after == before


def _serialised(entry: etree._Element) -> bytes:
    entry.tail = None  # the indent before the next element, which depends on the entry's place
    return etree.tostring(entry)


def test_an_item_without_a_case_is_published_as_before(tmp_path: Path) -> None:
    """The entry of an item without a case is the same element whether or not other entries have one."""
    config = _config(tmp_path)
    with open_store(config.store_path) as store:
        store.apply("s", [_items()[2]], NOW)
        store.commit()
        publish_from_store(config, store, NOW)
    alone = _atom(config, "all")
    assert b"case" not in alone.replace(b"\xe6\xa1\x88", b"")  # no namespace, no element ("案" aside)
    entry_alone = _serialised(_entries_by_link(alone)[URLS[3]])
    _publish(config)
    entry_beside_cases = _serialised(_entries_by_link(_atom(config, "all"))[URLS[3]])
    # Only the namespace declaration inherited from the feed element differs in the standalone serialisation.
    assert entry_beside_cases.replace(f' xmlns:case="{NS}"'.encode(), b"") == entry_alone


def test_json_feed_carries_case_objects_and_the_same_table(published: Config) -> None:
    atom = {link: e.findtext(f"{A}content") for link, e in _entries_by_link(_atom(published)).items()}
    with served(published) as base:
        response = httpx.get(f"{base}/enforcement.json")
    assert response.status_code == 200
    items = {i["url"]: i for i in json.loads(response.content)["items"]}
    assert items[URLS[1]]["_case"] == FULL.as_dict()
    assert list(items[URLS[1]]["_case"]) == list(CASE_FIELDS)
    assert items[URLS[2]]["_case"] == dict.fromkeys(CASE_FIELDS) | {"party": "某印染厂", "fine_yuan": 1235}
    assert items[URLS[1]]["_case"]["fine_yuan"] == 356000  # a JSON number
    assert Case(**items[URLS[4]]["_case"]) == HOSTILE
    for link in (URLS[1], URLS[2], URLS[4]):
        assert items[link]["content_html"].startswith("<table>")
        assert items[link]["content_html"] == atom[link]
    for plain in (URLS[3], URLS[5]):
        assert "_case" not in items[plain] and not items[plain]["content_html"].startswith("<table>")


def _page_rows(page: str) -> dict[str, list[tuple[str, str]]]:
    tree = lxml_html.fromstring(page)
    found = {}
    for article in tree.xpath('//article[@class="entry"]'):
        link = article.xpath(".//h2/a/@href")[0]
        found[link] = [
            (tr.find("th").text_content(), tr.find("td").text_content())
            for tr in article.xpath('.//table[@class="case"]//tr')
        ]
    return found


def test_the_html_page_shows_the_case_as_a_table(published: Config) -> None:
    with served(published) as base:
        response = httpx.get(f"{base}/enforcement.html")
    assert response.status_code == 200
    page = response.text
    rows = _page_rows(page)
    assert rows[URLS[1]][0] == ("当事人", '某化工<有限>公司 & "分厂"')
    assert ("罚款", "356,000 元（35.6 万元）") in rows[URLS[1]] and len(rows[URLS[1]]) == 9
    assert rows[URLS[2]] == [("当事人", "某印染厂"), ("罚款", "1,235 元")]
    assert rows[URLS[3]] == [] and rows[URLS[5]] == []
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The entry's text follows the table once: the table that leads the feed content is not repeated.
    article = lxml_html.fromstring(page).xpath(f'//article[.//a[@href="{URLS[1]}"]]')[0]
    assert article.xpath('string(.//div[@class="summary"])') == "决定书正文"
    assert article.text_content().count("某市生态环境局") == 1


def test_case_entry_in_chromium(published: Config, browser: Any, tmp_path: Path) -> None:
    """What a person sees; the element screenshot is bench/case-entry.png."""
    with served(published) as base:
        page, errors = _open(browser, f"{base}/enforcement.html", tmp_path / "enforcement.png")
        entry = page.locator("article.entry", has=page.locator(f'a[href="{URLS[1]}"]'))
        table = entry.locator("table.case")
        assert table.is_visible()
        assert table.locator("tr").count() == 9
        cells = {tr.locator("th").inner_text(): tr.locator("td") for tr in table.locator("tr").all()}
        assert cells["罚款"].inner_text() == "356,000 元（35.6 万元）"
        # The two lines of 违法事实 stay two lines.
        violation = cells["违法事实"].inner_text()
        assert violation.splitlines() == ["废气排放口颗粒物超标 1.3 倍。", "现场检查时未开启治理设施。"]
        # Fits the phone-width window without sideways scrolling.
        assert page.evaluate("document.body.scrollWidth") <= 420
        box = entry.bounding_box()
        assert box is not None
        margin = 8  # a little page around the entry, so the picture does not start at the first letter
        page.screenshot(
            path=str(tmp_path / "case-entry.png"),
            clip={"x": max(box["x"] - margin, 0), "y": max(box["y"] - margin, 0),
                  "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin},
        )
        page.close()
    assert errors == []
    assert (tmp_path / "case-entry.png").stat().st_size > 1000
