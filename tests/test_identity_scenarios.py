"""Items never duplicate, never vanish, and land in the right feeds, across changing upstream pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.cli import main
from aggregator.models import Item
from aggregator.store import open_store

from .conftest import Site, write_config

ATOM = "{http://www.w3.org/2005/Atom}"


def rss(entries: list[tuple[str, str, str]], *, guid: bool = False) -> str:
    """(title, link, body) rows as RSS 2.0; each row's date is fixed by its title, whatever its position."""
    rows = []
    for title, link, body in entries:
        age = timedelta(minutes=zlib.crc32(title.encode()) % 5000)
        date = (datetime(2026, 3, 1, 12, tzinfo=timezone.utc) - age).strftime("%a, %d %b %Y %H:%M:%S +0000")
        guid_tag = f"<guid>{escape(link)}</guid>" if guid else ""
        rows.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>{guid_tag}"
            f"<pubDate>{date}</pubDate><description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.gov.cn/</link><description>d</description>{''.join(rows)}</channel></rss>"
    )


def titles(path: Path) -> list[str]:
    root = etree.parse(str(path)).getroot()
    return [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]


CATEGORIES = """
[categories.enforcement]
title = "执法"
rules = { include = ["执法", "处罚", "罚款", "查处"], exclude = ["招聘"] }

[categories.ecology]
title = "生态"
rules = { include = ["生态", "绿水青山"], exclude = ["罚款"] }
"""


def one_source(tmp_path: Path, site: Site, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        CATEGORIES
        + f"""
[[sources]]
name = "bureau"
url = "{site.url('/rss.xml')}"
kind = "feed"
{extra}
""",
    )


def poll(config: Path) -> None:
    assert main(["poll", "--once", str(config)]) == 0


ROWS = [
    ("市生态环境局查处一起偷排案件", "http://sthjj.example.gov.cn/art/2026/3/1/art_1_1.html", "依法查处，罚款十万元。"),
    ("绿水青山就是金山银山理念宣讲", "http://sthjj.example.gov.cn/art/2026/3/1/art_1_2.html", "生态文明建设。"),
    ("2026年执法人员招聘公告", "http://sthjj.example.gov.cn/art/2026/3/1/art_1_3.html", "招聘执法辅助人员。"),
    ("河长制工作推进会召开", "http://sthjj.example.gov.cn/art/2026/3/1/art_1_4.html", "会议部署。"),
]


def test_an_edit_updates_one_entry(tmp_path: Path, site: Site) -> None:
    site.add("/rss.xml", rss(ROWS))
    config = one_source(tmp_path, site)
    poll(config)
    edited = [(t, link, body + "（更新）" if n == 0 else body) for n, (t, link, body) in enumerate(ROWS)]
    site.add("/rss.xml", rss(edited))
    poll(config)
    all_titles = titles(tmp_path / "feeds" / "all.atom")
    assert sorted(all_titles) == sorted(t for t, _, _ in ROWS)
    root = etree.parse(str(tmp_path / "feeds" / "all.atom")).getroot()
    (entry,) = [e for e in root.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == ROWS[0][0]]
    assert "（更新）" in entry.findtext(f"{ATOM}summary")


def test_a_row_missing_for_three_polls_comes_back_as_the_same_item(tmp_path: Path, site: Site) -> None:
    site.add("/rss.xml", rss(ROWS))
    config = one_source(tmp_path, site)
    poll(config)
    before = (tmp_path / "feeds" / "all.atom").read_bytes()
    site.add("/rss.xml", rss(ROWS[1:]))
    for _ in range(3):
        poll(config)
        # Dropping off the page does not remove an item from the feed.
        assert ROWS[0][0] in titles(tmp_path / "feeds" / "all.atom")
    site.add("/rss.xml", rss(ROWS))
    poll(config)
    assert (tmp_path / "feeds" / "all.atom").read_bytes() == before


def test_url_variants_of_one_article_are_one_item(tmp_path: Path, site: Site) -> None:
    link = "http://sthjj.example.gov.cn/news/2026/0301/42.html"
    variants = [
        link,
        link.replace("http://", "https://"),
        link.replace("http://", "http://www."),
        link + "?utm_source=wechat&utm_medium=share",
        link.replace(".gov.cn/", ".gov.cn:80/") + "#top",
    ]
    site.add("/rss.xml", rss([("同一篇文章", variants[0], "正文")]))
    config = one_source(tmp_path, site)
    poll(config)
    for variant in variants[1:]:
        site.add("/rss.xml", rss([("同一篇文章", variant, "正文")]))
        poll(config)
    assert titles(tmp_path / "feeds" / "all.atom") == ["同一篇文章"]


def test_a_repost_on_a_second_source_shows_once(tmp_path: Path, site: Site) -> None:
    title, link, body = ROWS[0]
    site.add("/rss.xml", rss([ROWS[0]]))
    # A portal reposts the same article at its own address, same title and day.
    site.add("/portal.xml", rss([(title, "http://portal.example.com/news/abc.html", body)]))
    config = write_config(
        tmp_path,
        CATEGORIES
        + f"""
[[sources]]
name = "bureau"
url = "{site.url('/rss.xml')}"
kind = "feed"

[[sources]]
name = "portal"
url = "{site.url('/portal.xml')}"
kind = "feed"
""",
    )
    poll(config)
    poll(config)
    assert titles(tmp_path / "feeds" / "all.atom") == [title]
    assert titles(tmp_path / "feeds" / "enforcement.atom") == [title]
    with open_store(tmp_path / "store.json") as store:
        (item,) = list(store.items())
        assert item.source == "bureau" and item.url == link and item.sources == ("bureau", "portal")


def test_pruned_items_still_listed_upstream_are_not_added_again(tmp_path: Path, site: Site) -> None:
    rows = [(f"第{n}条生态环境新闻标题", f"http://sthjj.example.gov.cn/art/2026/3/1/art_1_{n}.html", "正文") for n in range(14)]
    site.add("/rss.xml", rss(rows))
    config = one_source(tmp_path, site)
    text = config.read_text(encoding="utf-8").replace("timeout = 10", "timeout = 10\nretention_count = 10")
    config.write_text(text, encoding="utf-8")
    poll(config)
    kept = titles(tmp_path / "feeds" / "all.atom")
    newest = sorted(rows, key=lambda row: zlib.crc32(row[0].encode()) % 5000)[:10]
    assert sorted(kept) == sorted(title for title, _, _ in newest)  # the ten newest are kept
    poll(config)
    poll(config)
    assert titles(tmp_path / "feeds" / "all.atom") == kept
    with open_store(tmp_path / "store.json") as store:
        assert len(store) == 10


def test_rules_put_items_in_the_right_feeds(tmp_path: Path, site: Site) -> None:
    site.add("/rss.xml", rss(ROWS))
    poll(one_source(tmp_path, site))
    feeds = tmp_path / "feeds"
    # 查处 and 罚款 make it enforcement; ecology's rules exclude 罚款.
    assert titles(feeds / "enforcement.atom") == [ROWS[0][0]]
    assert titles(feeds / "ecology.atom") == [ROWS[1][0]]
    # A recruitment notice mentions 执法 but enforcement excludes 招聘.
    assert ROWS[2][0] not in titles(feeds / "enforcement.atom")
    assert len(titles(feeds / "all.atom")) == 4


def test_source_filters_keep_only_matching_items(tmp_path: Path, site: Site) -> None:
    site.add("/rss.xml", rss(ROWS))
    config = one_source(tmp_path, site, 'drop = { include = ["招聘", "会议"] }')
    poll(config)
    assert sorted(titles(tmp_path / "feeds" / "all.atom")) == sorted([ROWS[0][0], ROWS[1][0]])


# -- properties of the diff ---------------------------------------------------

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
poll_rows = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from(["a", "b", "c"])),  # (article number, body version)
    max_size=40,
)


def as_items(rows: list[tuple[int, str]]) -> list[Item]:
    return [
        Item(
            key=f"url:https://e.org/{n}",
            source="s",
            url=f"https://e.org/{n}",
            title=f"Article {n} on the environment",
            published=NOW - timedelta(days=n),
            updated=None,
            content_html=body,
            content_hash=f"{n}:{body}",
        )
        for n, body in rows
    ]


@settings(max_examples=60, deadline=None)
@given(polls=st.lists(poll_rows, min_size=1, max_size=5))
def test_diff_properties(tmp_path_factory, polls: list[list[tuple[int, str]]]) -> None:
    path = tmp_path_factory.mktemp("diff") / "store.json"
    with open_store(path) as store:
        keys: set[str] = set()
        for rows in polls:
            items = as_items(rows)
            store.apply("s", items, NOW)
            keys |= {item.key for item in items}
            snapshot = sorted((i.key, i.content_hash, i.updated) for i in store.items())
            again = store.apply("s", items, NOW + timedelta(hours=1))
            # Applying the same poll result twice changes nothing.
            assert not again.new and not again.changed
            assert sorted((i.key, i.content_hash, i.updated) for i in store.items()) == snapshot
            # Never more entries than distinct keys.
            assert len(store) <= len(keys)


def test_a_category_can_have_its_own_entry_limit(tmp_path: Path, site: Site) -> None:
    site.add("/rss.xml", rss(ROWS))
    config = one_source(tmp_path, site)
    text = config.read_text(encoding="utf-8").replace('title = "执法"\n', 'title = "执法"\nfeed_entries = 1\n')
    config.write_text(text, encoding="utf-8")
    poll(config)
    assert len(titles(tmp_path / "feeds" / "enforcement.atom")) == 1
    assert len(titles(tmp_path / "feeds" / "all.atom")) == 4


def test_status_explains_why_items_are_in_their_feeds(tmp_path: Path, site: Site, capsys) -> None:
    site.add("/rss.xml", rss(ROWS))
    config = one_source(tmp_path, site)
    poll(config)
    capsys.readouterr()
    assert main(["status", str(config), "--explain", "4"]) == 0
    out = capsys.readouterr().out
    assert f"- {ROWS[0][0]}  [enforcement]" in out
    assert "enforcement: body matches '罚款'" in out and "ecology: excluded by body matching '罚款'" in out
    assert f"- {ROWS[2][0]}  [-]" in out  # the recruitment notice
    assert "excluded" in out and "招聘" in out
