"""End to end over real HTTP: upstream feeds -> `aggregator poll --once` -> Atom files."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from aggregator.cli import main
from aggregator.normalise.urls import atom_id, item_key
from aggregator.store import open_store

from .conftest import FIXTURES, Site, write_config

SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
ATOM = "{http://www.w3.org/2005/Atom}"


def feed_config(tmp_path: Path, site: Site) -> Path:
    return write_config(
        tmp_path,
        f"""
[categories.enforcement]
title = "执法"
description = "Enforcement news"
rules = {{ include = ["执法", "处罚", "督办", "罚款"] }}

[categories.ecology]
title = "生态"

[[sources]]
name = "mee"
url = "{site.url('/mee.xml')}"
kind = "feed"
categories = ["ecology"]

[[sources]]
name = "city"
url = "{site.url('/city/rss.xml')}"
kind = "feed"

[[sources]]
name = "desk"
url = "{site.url('/desk.atom')}"
kind = "auto"

[[sources]]
name = "province"
url = "{site.url('/gb.xml')}"
kind = "feed"

[[sources]]
name = "ctl"
url = "{site.url('/ctl.xml')}"
kind = "feed"
""",
    )


@pytest.fixture
def feeds_site(site: Site) -> Site:
    xml = "application/rss+xml"
    site.add_file("/mee.xml", "feeds/rss2-guid.xml", content_type=xml)
    site.add_file("/city/rss.xml", "feeds/rss2-noguid.xml", content_type="text/xml")
    # Served as text/html on purpose: many servers do, and `auto` must still see a feed.
    site.add_file("/desk.atom", "feeds/atom-xmlbase.xml", content_type="text/html")
    site.add_file("/gb.xml", "feeds/rss-gb2312.xml", content_type="application/xml")
    site.add_file("/ctl.xml", "feeds/rss-control-chars.xml", content_type=xml)
    return site


def entries(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {entry.findtext(f"{ATOM}title"): entry for entry in root.iter(f"{ATOM}entry")}


def test_poll_once_writes_valid_atom_per_category(tmp_path: Path, feeds_site: Site) -> None:
    config = feed_config(tmp_path, feeds_site)
    assert main(["poll", "--once", str(config)]) == 0
    out = tmp_path / "feeds"
    assert sorted(p.name for p in out.glob("[!.]*")) == [  # the hidden .lock names who publishes here
        "all.atom",
        "ecology.atom",
        "enforcement.atom",
        "feeds.opml",
        "health.atom",
    ]

    for path in out.glob("*.atom"):
        tree = etree.parse(str(path))
        assert SCHEMA.validate(tree), f"{path.name}: {SCHEMA.error_log}"
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path.name, parsed.get("bozo_exception"))

    everything = entries(out / "all.atom")
    # The duplicate guid was pushed twice upstream; it is one entry here.
    assert sum("绿剑2023" in title for title in everything) == 1
    assert len(everything) == 3 + 2 + 2 + 1 + 2

    supervised = everything["生态环境部对5起环境违法案件挂牌督办"]
    url = "https://www.mee.gov.cn/ywdt/xwfb/202305/t20230512_1029888.shtml"
    assert supervised.findtext(f"{ATOM}id") == atom_id(item_key(url, url))
    assert supervised.findtext(f"{ATOM}published") == "2023-05-12T08:00:00+00:00"
    assert supervised.find(f"{ATOM}link").get("href") == url
    assert supervised.find(f"{ATOM}link").get("rel") == "alternate"

    # Upstream HTML is sanitised and sent escaped: the script is gone, the image is absolute.
    quality = everything["生态环境部通报2023年4月全国地表水环境质量状况"]
    summary = quality.find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert "<script" not in summary.text and "onerror" not in summary.text
    # Relative URLs in content resolve against the feed document (or xml:base), as feed readers do.
    assert f'src="{feeds_site.url("/images/chart.png")}"' in summary.text
    river = everything["River cleanup finished ahead of schedule"]
    assert 'href="http://news.example.org/env/data/tonnes.csv"' in river.findtext(f"{ATOM}content")

    # xml:base and relative links resolve, per entry.
    assert everything["River cleanup finished ahead of schedule"].find(f"{ATOM}link").get("href") == (
        "http://news.example.org/env/2023/07/river-cleanup.html"
    )
    assert everything["Air quality improves"].find(f"{ATOM}link").get("href") == "http://news.example.org/other/air.html"
    assert everything["一家企业超标排放被罚款20万元"].find(f"{ATOM}link").get("href") == (
        feeds_site.url("/art/2023/5/30/art_1_100.html")
    )
    # GB2312 bytes come out as the right characters.
    assert "关于开展生态环境执法检查的通知" in everything
    # Control characters are removed, the entry is kept.
    assert "Title with vertical tab and SOH" in everything

    # An entry without a date has no published element, never "now" pretending to be one.
    undated = everything["一家企业超标排放被罚款20万元"]
    assert undated.find(f"{ATOM}published") is None

    # Category feeds: source default plus keyword rules over every source.
    ecology = entries(out / "ecology.atom")
    assert set(ecology) == {
        "生态环境部通报2023年4月全国地表水环境质量状况",
        "生态环境部对5起环境违法案件挂牌督办",
        "“绿剑2023”执法专项行动启动",
    }
    enforcement = entries(out / "enforcement.atom")
    assert set(enforcement) == {
        "生态环境部对5起环境违法案件挂牌督办",
        "“绿剑2023”执法专项行动启动",
        "一家企业超标排放被罚款20万元",
        "关于开展生态环境执法检查的通知",
    }

    # Newest first; an undated item counts from when it was first seen (now).
    root = etree.parse(str(out / "enforcement.atom")).getroot()
    assert [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")] == [
        "一家企业超标排放被罚款20万元",
        "生态环境部对5起环境违法案件挂牌督办",
        "“绿剑2023”执法专项行动启动",
        "关于开展生态环境执法检查的通知",
    ]

    opml = etree.parse(str(out / "feeds.opml"))
    assert sorted(o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")) == [
        "http://127.0.0.1:8080/all.atom",
        "http://127.0.0.1:8080/ecology.atom",
        "http://127.0.0.1:8080/enforcement.atom",
        "http://127.0.0.1:8080/health.atom",  # so readers importing the OPML get broken-source alerts
    ]


def test_second_poll_is_byte_identical_and_edits_update_in_place(tmp_path: Path, feeds_site: Site) -> None:
    config = feed_config(tmp_path, feeds_site)
    out = tmp_path / "feeds"
    assert main(["poll", "--once", str(config)]) == 0
    first = {p.name: p.read_bytes() for p in out.glob("[!.]*")}

    assert main(["poll", "--once", str(config)]) == 0
    assert {p.name: p.read_bytes() for p in out.glob("[!.]*")} == first
    assert main(["build", str(config)]) == 0
    assert {p.name: p.read_bytes() for p in out.glob("[!.]*")} == first

    edited = (FIXTURES / "feeds/rss2-guid.xml").read_text("utf-8").replace(
        "督办案件涉及自动监测数据弄虚作假等问题，依法查处。", "督办案件涉及自动监测数据弄虚作假、偷排偷放等问题。"
    )
    feeds_site.add("/mee.xml", edited, content_type="application/rss+xml")
    assert main(["poll", "--once", str(config)]) == 0

    everything = entries(out / "all.atom")
    assert len(everything) == 10
    supervised = everything["生态环境部对5起环境违法案件挂牌督办"]
    assert "偷排偷放" in supervised.findtext(f"{ATOM}summary")
    updated = datetime.fromisoformat(supervised.findtext(f"{ATOM}updated"))
    assert updated > datetime(2025, 1, 1, tzinfo=timezone.utc)  # changed now, so updated is now
    assert supervised.findtext(f"{ATOM}published") == "2023-05-12T08:00:00+00:00"
    with open_store(tmp_path / "store.json") as store:
        assert len(store) == 10


def test_broken_source_is_reported_and_others_publish(tmp_path: Path, feeds_site: Site, capsys) -> None:
    feeds_site.add("/gb.xml", b"<html><body>Server error</body></html>", status=500)
    config = feed_config(tmp_path, feeds_site)
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert "province: FAILED http-status" in out
    assert len(entries(tmp_path / "feeds" / "all.atom")) == 9
    assert main(["status", str(config)]) == 1
    assert "http-status: " in capsys.readouterr().out


def test_second_process_on_the_same_store_is_refused(tmp_path: Path, feeds_site: Site, capsys) -> None:
    config = feed_config(tmp_path, feeds_site)
    with open_store(tmp_path / "store.json"):
        assert main(["poll", "--once", str(config)]) == 3
        assert "one daemon owns a store at a time" in capsys.readouterr().err
        # status reads without the lock, so it works while the daemon runs.
        assert main(["status", str(config)]) == 0
        assert "never-polled" in capsys.readouterr().out


def test_bad_config_is_refused_with_file_line_and_key(tmp_path: Path, capsys) -> None:
    config = write_config(
        tmp_path,
        """
[[sources]]
name = "x"
url = "https://example.org/"
interval = "soon"
""",
    )
    assert main(["check", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}:" in err and "sources[0].interval" in err and "30m" in err
    line = int(err.split(f"{config}:")[1].split(":")[0])
    assert config.read_text().splitlines()[line - 1].startswith("interval")


def test_feed_dates_without_a_zone_are_in_the_sources_zone(tmp_path: Path, site: Site) -> None:
    dates = ["2024-05-01 09:42:56", "Wed, 01 May 2024 09:42:56 CST", "Wed, 01 May 2024 09:42:56 +0000"]
    rows = "".join(
        f"<item><title>第{n}条</title><link>http://a.gov.cn/{n}.html</link><pubDate>{d}</pubDate></item>"
        for n, d in enumerate(dates)
    )
    site.add("/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{rows}</channel></rss>')
    config = write_config(tmp_path, f'[[sources]]\nname = "s"\nurl = "{site.url("/rss.xml")}"\nkind = "feed"\n')
    assert main(["poll", "--once", str(config)]) == 0
    published = {t: e.findtext(f"{ATOM}published") for t, e in entries(tmp_path / "feeds" / "all.atom").items()}
    # 09:42:56 in Asia/Shanghai is 01:42:56Z; an explicit +0000 is respected.
    assert published == {
        "第0条": "2024-05-01T01:42:56+00:00",
        "第1条": "2024-05-01T01:42:56+00:00",
        "第2条": "2024-05-01T09:42:56+00:00",
    }


LINKLESS_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>无链接</title><link>https://example.gov.cn/site/</link><description>d</description>
<item><guid isPermaLink="false">42</guid><title>只有编号的条目</title><description>编号条目的摘要。</description></item>
<item><title>只有标题的条目</title></item>
<item><description>&lt;p&gt;只有正文的条目，没有标题也没有链接。&lt;/p&gt;</description></item>
<item><guid isPermaLink="false">urn:uuid:0b7c5a4e-8f0e-4c55-9a57-8f6f6d1d2c11</guid><title>带永久编号的条目</title></item>
<item><title>有链接的条目</title><link>https://example.gov.cn/site/a.html</link></item>
</channel></rss>"""


def test_entries_without_a_link_are_kept_keyed_and_valid(site: Site, tmp_path: Path) -> None:
    """Issue 14.8: entries with only an id, a title or content are published, linking to the feed's site."""
    from lxml import etree

    from aggregator.cli import main

    from .conftest import write_config

    site.add("/a.xml", LINKLESS_RSS, content_type="application/rss+xml")
    site.add("/b.xml", LINKLESS_RSS.replace("无链接", "另一个"), content_type="application/rss+xml")
    body = "".join(f'[[sources]]\nname = "{n}"\nurl = "{site.url(f"/{n}.xml")}"\nkind = "feed"\n\n' for n in ("a", "b"))
    config = write_config(tmp_path, body)
    assert main(["poll", "--once", str(config), "--source", "a"]) == 0
    data = (tmp_path / "feeds" / "all.atom").read_bytes()
    schema = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
    assert schema.validate(etree.fromstring(data)), schema.error_log
    entries = feedparser.parse(data).entries
    assert len(entries) == 5
    by_title = {entry.title: entry for entry in entries}
    assert {"只有编号的条目", "只有标题的条目", "带永久编号的条目", "有链接的条目"} <= by_title.keys()
    assert any(title.startswith("只有正文的条目") for title in by_title)
    for entry in entries:
        assert entry.id.startswith("urn:uuid:")
        assert entry.get("summary") or entry.get("content"), entry.title
        if entry.title != "有链接的条目":
            assert entry.link == "https://example.gov.cn/site/"
    # A second poll finds the same items again: keys are stable, not one per poll.
    assert main(["poll", "--once", str(config), "--source", "a"]) == 0
    again = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes()).entries
    assert sorted(e.id for e in again) == sorted(e.id for e in entries)
    # The same counter "42" in another feed is another item; the permanent urn:uuid is one item.
    assert main(["poll", "--once", str(config), "--source", "b"]) == 0
    with open_store(tmp_path / "store.json") as store:
        items = list(store.items())
    assert len(items) == 8, [i.key for i in items]  # b adds its own "42", title-only and content-only entries
    assert [i.sources for i in items if i.title == "带永久编号的条目"] == [("a", "b")]


def test_status_columns_say_what_they_count(tmp_path: Path, feeds_site: Site, capsys) -> None:
    feeds_site.add("/gb.xml", b"<html><body>Server error</body></html>", status=500)
    config = feed_config(tmp_path, feeds_site)
    main(["poll", "--once", str(config)])
    capsys.readouterr()
    assert main(["status", str(config)]) == 1
    header, _rule, *rows = capsys.readouterr().out.splitlines()
    names = ["source", "status", "items stored", "last poll", "last success", "failures in a row", "items in last poll",
             "next poll", "last error"]
    starts = [header.index(name) for name in names]
    assert starts == sorted(starts)

    def cell(line: str, name: str) -> str:
        at = names.index(name)
        end = starts[at + 1] if at + 1 < len(names) else len(line)
        return line[starts[at]:end].strip()

    by_name = {cell(line, "source"): line for line in rows}
    mee = by_name["mee"]
    assert cell(mee, "items stored") == "3" and cell(mee, "items in last poll").isdigit()
    assert cell(mee, "last success").endswith("s ago") and cell(mee, "failures in a row") == "0"
    assert cell(mee, "next poll").startswith("in ")  # by the interval, from the last poll
    failing = next(line for name, line in by_name.items() if "http-status" in line)
    assert cell(failing, "last success") == "never" and cell(failing, "failures in a row") == "1"
    assert cell(failing, "last error").startswith("http-status: ")
