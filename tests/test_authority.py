"""Issue 18 (a): every entry of a merged feed names the authority it came from, in Atom, JSON Feed
and the HTML pages: the catalog's authority (and province) for a catalog source, the `authority`
key for another, the source's name without one. A real poll over loopback into a real TinyDB store.
"""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree

from aggregator.cli import main
from aggregator.config import ConfigError, Config, load_config

from .conftest import Site, write_config
from .pagehelpers import served

SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
A = "{http://www.w3.org/2005/Atom}"
CATALOG_ID = "js/nanjing/home"  # 南京市生态环境局, province 江苏: the name does not say the province
NANJING = "南京市生态环境局（江苏）"
COUNTY = "示例县生态环境分局"


def rss(items: list[tuple[str, str, str, str | None]]) -> str:
    """RSS 2.0 of (title, path, description, dc:creator) items, an hour apart."""
    rows = "".join(
        f"<item><title>{title}</title><link>{{base}}{path}</link><guid>{{base}}{path}</guid>"
        f"<description>{description}</description>"
        + (f"<dc:creator>{creator}</dc:creator>" if creator else "")
        + f"<pubDate>Wed, 23 Apr 2025 0{n}:00:00 +0000</pubDate></item>"
        for n, (title, path, description, creator) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>upstream title</title><link>http://example.org/</link><description>d</description>{rows}"
        "</channel></rss>"
    )


def setup(tmp_path: Path, site: Site) -> Path:
    site.add("/nj.xml", rss([
        ("南京市开展长江禁渔执法检查", "/nj/1.html", "联合执法检查。", "张三"),
        ("南京市召开生态环境保护工作会议", "/nj/2.html", "会议要求……加强监管执法。", None),
    ]).replace("{base}", site.base), content_type="application/rss+xml")
    site.add("/county.xml", rss([
        ("关于某化工公司的处理情况", "/county/1.html", "依法对其作出罚款人民币5万元的行政处罚。", None),
    ]).replace("{base}", site.base), content_type="application/rss+xml")
    site.add("/plain.xml", rss([("一则通知", "/plain/1.html", "通知。", None)]).replace("{base}", site.base),
             content_type="application/rss+xml")
    example = (Path(__file__).parents[1] / "config" / "example.toml").read_text(encoding="utf-8")
    categories = example[example.index("# --- categories"):example.index("# --- sources")]
    return write_config(tmp_path, categories + f"""
[[sources]]
catalog = "{CATALOG_ID}"
url = "{site.url('/nj.xml')}"   # the catalog entry, pointed at this loopback site
fetch_articles = false

[[sources]]
name = "county"
url = "{site.url('/county.xml')}"
kind = "feed"
authority = "{COUNTY}"

[[sources]]
name = "plain"
url = "{site.url('/plain.xml')}"
kind = "feed"
""")


@pytest.fixture
def polled(tmp_path: Path, site: Site) -> Config:
    path = setup(tmp_path, site)
    assert main(["poll", "--once", str(path)]) == 0
    return load_config(path)


def entries_by_title(data: bytes) -> dict[str, feedparser.FeedParserDict]:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    return {entry.title: entry for entry in parsed.entries}


def test_atom_entries_name_their_authority_as_author_and_source(polled: Config) -> None:
    data = (polled.output_dir / "all.atom").read_bytes()
    assert SCHEMA.validate(etree.fromstring(data)), SCHEMA.error_log
    entries = entries_by_title(data)
    patrol = entries["南京市开展长江禁渔执法检查"]
    # Readers show the author: the authority; the page's own byline is a contributor.
    assert patrol.author == NANJING and [a.name for a in patrol.authors] == [NANJING]
    assert [c.name for c in patrol.contributors] == ["张三"]
    assert patrol.source.title == NANJING and patrol.source.link == polled.source("js-nanjing-home").url
    assert patrol.source.id.startswith("urn:uuid:")
    meeting = entries["南京市召开生态环境保护工作会议"]
    assert meeting.author == NANJING and "contributors" not in meeting  # no byline: the authority alone
    county = entries["关于某化工公司的处理情况"]
    assert county.author == COUNTY and county.source.title == COUNTY
    plain = entries["一则通知"]
    assert plain.author == "plain" and plain.source.title == "plain"  # no authority key: the source's name
    # One source id per source, the same in every entry of it.
    assert meeting.source.id == patrol.source.id != county.source.id


def test_the_example_enforcement_rules_take_headlines_and_decisions_not_every_news_item(polled: Config) -> None:
    enforcement = entries_by_title((polled.output_dir / "enforcement.atom").read_bytes())
    assert set(enforcement) == {"南京市开展长江禁渔执法检查", "关于某化工公司的处理情况"}
    assert enforcement["关于某化工公司的处理情况"].author == COUNTY


def test_json_feed_and_page_show_the_authority(polled: Config) -> None:
    with served(polled) as base:
        doc = httpx.get(f"{base}/all.json").json()
        html = httpx.get(f"{base}/all.html").text
    items = {item["title"]: item for item in doc["items"]}
    patrol = items["南京市开展长江禁渔执法检查"]
    assert patrol["authors"] == [{"name": NANJING}, {"name": "张三"}]
    assert patrol["_authority"] == {"name": NANJING, "url": polled.source("js-nanjing-home").url}
    assert items["关于某化工公司的处理情况"]["_authority"]["name"] == COUNTY
    assert meta(html, "南京市开展长江禁渔执法检查").startswith(
        f'<span class="authority">{NANJING}</span> · <span class="source">张三</span>'
    )
    county = meta(html, "关于某化工公司的处理情况")
    assert county.startswith(f'<span class="authority">{COUNTY}</span>') and 'class="source"' not in county
    assert meta(html, "一则通知").startswith('<span class="authority">plain</span>')


def meta(html: str, title: str) -> str:
    """The line under an entry's headline on a feed page: authority, byline, date, categories."""
    found = re.search(rf'>{re.escape(title)}</a></h2>\s*<p class="meta">\s*(.*?)</p>', html, re.S)
    assert found, title
    return found.group(1)


def test_regenerating_gives_identical_bytes_and_follows_a_renamed_authority(polled: Config) -> None:
    assert polled.path is not None
    feeds = sorted(polled.output_dir.glob("*.atom"))
    before = {path.name: path.read_bytes() for path in feeds}
    assert main(["build", str(polled.path)]) == 0
    assert {path.name: path.read_bytes() for path in feeds} == before
    # The name is the current config's, resolved at each publish: stored items follow an edit.
    text = polled.path.read_text(encoding="utf-8").replace(f'authority = "{COUNTY}"', 'authority = "示例县生态环境局"')
    polled.path.write_text(text, encoding="utf-8")
    assert main(["build", str(polled.path)]) == 0
    renamed = entries_by_title((polled.output_dir / "all.atom").read_bytes())["关于某化工公司的处理情况"]
    assert renamed.author == "示例县生态环境局" and renamed.source.title == "示例县生态环境局"


def test_an_override_beside_catalog_names_the_source_differently(tmp_path: Path, site: Site) -> None:
    path = setup(tmp_path, site)
    text = path.read_text(encoding="utf-8").replace("fetch_articles = false", 'fetch_articles = false\nauthority = "南京市生态环境局"')
    path.write_text(text, encoding="utf-8")
    assert load_config(path).source("js-nanjing-home").label == "南京市生态环境局"


def test_an_empty_authority_is_refused_with_its_line_and_fix(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[sources]]\nname = "s"\nurl = "https://example.org/"\nauthority = "  "\n')
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("authority"))
    assert f"config.toml:{line}: sources[0].authority (source \"s\")" in message
    assert 'authority = "某某市生态环境局", or remove the key' in message


def test_a_repost_names_the_source_that_found_it_first_not_every_lister(tmp_path: Path, site: Site) -> None:
    path = setup(tmp_path, site)
    assert main(["poll", "--once", str(path)]) == 0
    # A province's column lists the county's item later, under the same link.
    site.add("/province.xml", rss([
        ("关于某化工公司的处理情况", "/county/1.html", "依法对其作出罚款人民币5万元的行政处罚。", None),
    ]).replace("{base}", site.base), content_type="application/rss+xml")
    with path.open("a", encoding="utf-8") as config:
        config.write(f'\n[[sources]]\nname = "province"\nurl = "{site.url("/province.xml")}"\nkind = "feed"\n'
                     'authority = "示例省生态环境厅"\n')
    assert main(["poll", "--once", str(path)]) == 0
    entry = entries_by_title((tmp_path / "feeds" / "all.atom").read_bytes())["关于某化工公司的处理情况"]
    assert entry.author == COUNTY and entry.source.title == COUNTY
    assert "示例省生态环境厅" not in (tmp_path / "feeds" / "all.atom").read_text(encoding="utf-8")
