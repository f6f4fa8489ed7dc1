"""Publish: valid, stable Atom (RFC 4287 RELAX NG + feedparser), OPML, atomic writes."""

from __future__ import annotations

import logging
import os
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator.models import StoredItem
from aggregator.publish import (
    FeedSpec,
    feed_id,
    publish,
    render_atom,
    render_opml,
    write_atomic,
)

SCHEMA = Path(__file__).parent / "schema" / "atom_rfc4287.rng"
A = "{http://www.w3.org/2005/Atom}"
SH = ZoneInfo("Asia/Shanghai")
BASE = "http://127.0.0.1:8080"
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=SH)


def item(key: str, when: datetime | None, **kwargs: object) -> StoredItem:
    fields: dict[str, object] = {
        "key": key,
        "atom_id": f"tag:feed-aggregator,2024:{key}",
        "source": "生态环境部",
        "url": f"https://www.mee.gov.cn/ywdt/{key}.shtml",
        "title": f"标题 {key}",
        "published": when,
        "updated": when or T0,
        "first_seen": when or T0,
        "categories": ("enforcement",),
    }
    fields.update(kwargs)
    return StoredItem(**fields)  # type: ignore[arg-type]


@pytest.fixture()
def items() -> list[StoredItem]:
    return [
        item(
            "repost",
            T0,
            title="关于\x0b环境执法\x00的通报",
            content_html=(
                '<p onclick="steal()">正文\x00内容\x0b<script>alert(1)</script>'
                '<img src="/images/photo.jpg" alt="现场"><a href="detail.html">详情</a></p>'
            ),
            summary_html="<b>摘要</b>",
            original_url="https://www.zj.gov.cn/art/2024/3/1/art_1_2.html",
            author="张三",
            origin="浙江日报",
            updated=T0 + timedelta(hours=5),
        ),
        # No published date: sorted (and first-seen) by first_seen.
        item("unpublished", None, first_seen=T0 - timedelta(days=1), updated=T0 - timedelta(days=1), origin="新华社"),
        # Equal sort times: order must come from the key.
        item("tie-b", T0 - timedelta(days=2)),
        item("tie-a", T0 - timedelta(days=2)),
        # original_url equal to url: one link only.
        item("same-link", T0 - timedelta(days=3), original_url="https://www.mee.gov.cn/ywdt/same-link.shtml"),
        item("oldest", T0 - timedelta(days=30), published=datetime(2024, 1, 30, 2, 0, tzinfo=timezone.utc)),
    ]


def spec(items: list[StoredItem], slug: str = "enforcement") -> FeedSpec:
    return FeedSpec(slug=slug, title="执法动态", subtitle="环境执法新闻", items=items)


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def entries(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{A}entry")


def entry_by_key(root: etree._Element, key: str) -> etree._Element:
    for entry in entries(root):
        if entry.findtext(f"{A}id") == f"tag:feed-aggregator,2024:{key}":
            return entry
    raise AssertionError(f"no entry for {key}")


def links(entry: etree._Element) -> list[tuple[str | None, str | None, str | None]]:
    return [(ln.get("rel"), ln.get("type"), ln.get("href")) for ln in entry.findall(f"{A}link")]


def test_validates_against_rfc4287_schema(items: list[StoredItem]) -> None:
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    data = render_atom(spec(items), BASE, 50, "0.1.0")
    root = parse(data)
    assert schema.validate(root), schema.error_log


def test_empty_feed_is_valid_and_deterministic() -> None:
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    data = render_atom(spec([]), BASE, 50, "0.1.0")
    root = parse(data)
    assert schema.validate(root), schema.error_log
    assert root.findtext(f"{A}updated") == "1970-01-01T00:00:00+00:00"
    assert data == render_atom(spec([]), BASE, 50, "0.1.0")


def test_feedparser_reads_it_without_bozo(items: list[StoredItem]) -> None:
    parsed = feedparser.parse(render_atom(spec(items), BASE, 50, "0.1.0"))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "执法动态"
    assert len(parsed.entries) == len(items)
    first = parsed.entries[0]
    assert first.title == "关于环境执法的通报"
    assert first.link == "https://www.mee.gov.cn/ywdt/repost.shtml"  # the alternate, not the via link
    assert first.author == "张三"


def test_feed_metadata(items: list[StoredItem]) -> None:
    root = parse(render_atom(spec(items), BASE + "/", 50, "0.1.0"))
    # Pinned: a feed id must never change, or every reader sees a new feed.
    assert feed_id("all") == "urn:uuid:36b4d866-c7cd-5253-9413-58fcec7b649a"
    expected_id = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "feed-aggregator:feed:enforcement"))
    assert root.findtext(f"{A}id") == expected_id
    other = parse(render_atom(spec(items), "https://feeds.example.org/x", 50, "0.1.0"))
    assert other.findtext(f"{A}id") == expected_id  # independent of where it is served
    assert root.findtext(f"{A}title") == "执法动态"
    assert root.findtext(f"{A}subtitle") == "环境执法新闻"
    # Feed updated is the newest entry update (repost: T0 + 5h = 07:00 UTC), not now.
    assert root.findtext(f"{A}updated") == "2024-03-01T07:00:00+00:00"
    assert links(root) == [
        ("self", "application/atom+xml", f"{BASE}/enforcement.atom"),
        ("alternate", "text/html", f"{BASE}/"),
    ]
    assert root.findtext(f"{A}author/{A}name")
    generator = root.find(f"{A}generator")
    assert generator is not None and generator.text == "feed-aggregator" and generator.get("version") == "0.1.0"


def test_entry_ids_dates_authors_categories(items: list[StoredItem]) -> None:
    root = parse(render_atom(spec(items), BASE, 50, "0.1.0"))
    repost = entry_by_key(root, "repost")
    assert repost.findtext(f"{A}updated") == "2024-03-01T07:00:00+00:00"
    assert repost.findtext(f"{A}published") == "2024-03-01T02:00:00+00:00"
    assert repost.findtext(f"{A}author/{A}name") == "张三"
    assert [c.get("term") for c in repost.findall(f"{A}category")] == ["enforcement"]

    unpublished = entry_by_key(root, "unpublished")
    assert unpublished.find(f"{A}published") is None
    assert unpublished.findtext(f"{A}updated") == "2024-02-29T02:00:00+00:00"
    assert unpublished.findtext(f"{A}author/{A}name") == "新华社"  # origin when no author

    tie = entry_by_key(root, "tie-a")
    assert tie.findtext(f"{A}author/{A}name") == "生态环境部"  # source name as last resort


def test_feedgen_drops_entry_link_rel() -> None:
    """The feedgen 1.0.0 bug we work around: entry links lose rel and type.

    If this fails, feedgen has been fixed and publish._fix_entry_links is a no-op.
    """
    fg = FeedGenerator()
    fg.id("urn:x")
    fg.title("t")
    fg.updated(T0)
    entry = fg.add_entry()
    entry.id("urn:y")
    entry.title("t")
    entry.updated(T0)
    entry.link(href="https://a.example/1", rel="alternate", type="text/html")
    entry.link(href="https://b.example/1", rel="via", type="text/html")
    raw = parse(fg.atom_str())
    assert [ln.get("rel") for ln in raw.iter(f"{A}link")] == [None, None]


def test_entry_links_keep_rel_and_type(items: list[StoredItem]) -> None:
    root = parse(render_atom(spec(items), BASE, 50, "0.1.0"))
    assert links(entry_by_key(root, "repost")) == [
        ("alternate", "text/html", "https://www.mee.gov.cn/ywdt/repost.shtml"),
        ("via", "text/html", "https://www.zj.gov.cn/art/2024/3/1/art_1_2.html"),
    ]
    assert links(entry_by_key(root, "same-link")) == [
        ("alternate", "text/html", "https://www.mee.gov.cn/ywdt/same-link.shtml"),
    ]
    parsed = feedparser.parse(render_atom(spec(items), BASE, 50, "0.1.0"))
    rels = [(ln.rel, ln.href) for ln in parsed.entries[0].links]
    assert rels == [
        ("alternate", "https://www.mee.gov.cn/ywdt/repost.shtml"),
        ("via", "https://www.zj.gov.cn/art/2024/3/1/art_1_2.html"),
    ]


def test_relative_url_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    bad = item("relative", T0, url="/ywdt/relative.shtml", original_url="https://www.zj.gov.cn/a.html")
    with caplog.at_level(logging.WARNING, logger="aggregator.publish"):
        data = render_atom(spec([bad]), BASE, 50, "0.1.0")
    assert "non-absolute url" in caplog.text
    root = parse(data)
    assert links(entries(root)[0]) == [("via", "text/html", "https://www.zj.gov.cn/a.html")]
    # Without an alternate link the entry needs content to stay valid.
    assert entries(root)[0].find(f"{A}content") is not None
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    assert schema.validate(root), schema.error_log


def test_naive_datetime_skips_only_that_item(caplog: pytest.LogCaptureFixture, items: list[StoredItem]) -> None:
    naive = item("naive", None, first_seen=datetime(2024, 1, 1), updated=datetime(2024, 1, 1))
    with caplog.at_level(logging.ERROR, logger="aggregator.publish"):
        root = parse(render_atom(spec([*items, naive]), BASE, 50, "0.1.0"))
    assert "naive" in caplog.text
    assert len(entries(root)) == len(items)


def test_content_is_sanitised_escaped_html(items: list[StoredItem]) -> None:
    data = render_atom(spec(items), BASE, 50, "0.1.0")
    assert b"<script" not in data and b"&lt;script" not in data
    assert b"onclick" not in data and b"steal()" not in data
    assert b"&lt;p&gt;" in data  # markup travels escaped, as type="html" requires
    assert b"\x00" not in data and b"\x0b" not in data
    content = entry_by_key(parse(data), "repost").find(f"{A}content")
    assert content is not None and content.get("type") == "html"
    assert len(content) == 0  # text only, no child elements
    assert content.text is not None
    assert '<img src="https://www.mee.gov.cn/images/photo.jpg" alt="现场">' in content.text
    assert 'href="https://www.mee.gov.cn/ywdt/detail.html"' in content.text
    assert "正文内容" in content.text
    summary = entry_by_key(parse(data), "repost").find(f"{A}summary")
    assert summary is not None and summary.get("type") == "html" and summary.text == "<b>摘要</b>"


def test_forbidden_characters_everywhere_do_not_break_the_feed() -> None:
    nasty = item(
        "nasty\x01",
        T0,
        atom_id="tag:feed-aggregator,2024:nasty\x02",
        title="坏\ud800字符\ufffe\x1f",
        author="作者\x0c",
        content_html="<p>\udfff\x08ok</p>",
        categories=("enforce\x00ment",),
    )
    odd_spec = FeedSpec(slug="all", title="全部\x00", subtitle="\x0b", items=[nasty])
    data = render_atom(odd_spec, BASE, 50, "0.1\x00")
    root = parse(data)
    entry = entries(root)[0]
    assert entry.findtext(f"{A}title") == "坏字符"
    assert entry.findtext(f"{A}id") == "tag:feed-aggregator,2024:nasty"
    assert entry.findtext(f"{A}author/{A}name") == "作者"
    assert root.findtext(f"{A}title") == "全部"
    assert feedparser.parse(data).bozo == 0


def test_order_ties_and_limit(items: list[StoredItem]) -> None:
    root = parse(render_atom(spec(items), BASE, 50, "0.1.0"))
    ids = [e.findtext(f"{A}id", "").rsplit(":", 1)[1] for e in entries(root)]
    assert ids == ["repost", "unpublished", "tie-a", "tie-b", "same-link", "oldest"]
    limited = parse(render_atom(spec(items), BASE, 3, "0.1.0"))
    assert [e.findtext(f"{A}id", "").rsplit(":", 1)[1] for e in entries(limited)] == ["repost", "unpublished", "tie-a"]


def test_byte_identical_for_identical_input(items: list[StoredItem]) -> None:
    first = render_atom(spec(items), BASE, 50, "0.1.0")
    shuffled = list(items)
    random.Random(4).shuffle(shuffled)
    assert render_atom(spec(items), BASE, 50, "0.1.0") == first
    assert render_atom(spec(shuffled), BASE, 50, "0.1.0") == first  # input order does not matter
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<feed")
    assert "执法动态".encode() in first  # UTF-8, not character references


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "all.atom"
    assert write_atomic(target, b"one") is True
    assert target.read_bytes() == b"one"
    os.utime(target, (1_000_000, 1_000_000))
    assert write_atomic(target, b"one") is False
    assert target.stat().st_mtime == 1_000_000  # untouched, so ETag/Last-Modified stay
    assert write_atomic(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.atom"]  # no temporary files left


def test_publish_writes_feeds_and_opml(tmp_path: Path, items: list[StoredItem]) -> None:
    specs = [
        FeedSpec(slug="all", title="全部", subtitle="所有来源", items=items),
        spec(items[:2]),
        FeedSpec(slug="ecology", title="生态 & 自然", subtitle="", items=[]),
    ]
    changed = publish(specs, tmp_path / "feeds", BASE, 50, opml_title="环境新闻")
    out = tmp_path / "feeds"
    assert sorted(p.name for p in changed) == ["all.atom", "ecology.atom", "enforcement.atom", "feeds.opml"]
    assert publish(specs, out, BASE, 50, opml_title="环境新闻") == []  # unchanged data: nothing rewritten

    opml = etree.parse(str(out / "feeds.opml")).getroot()
    assert opml.tag == "opml" and opml.get("version") == "2.0"
    assert opml.findtext("head/title") == "环境新闻"
    outlines = [(o.get("text"), o.get("xmlUrl"), o.get("type")) for o in opml.iter("outline")]
    assert outlines == [
        ("全部", f"{BASE}/all.atom", "rss"),
        ("执法动态", f"{BASE}/enforcement.atom", "rss"),
        ("生态 & 自然", f"{BASE}/ecology.atom", "rss"),
    ]
    for name in ("all.atom", "enforcement.atom", "ecology.atom"):
        assert feedparser.parse((out / name).read_bytes()).bozo == 0


def test_publish_refuses_bad_or_duplicate_slugs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        publish([spec([]), spec([])], tmp_path, BASE, 10)
    with pytest.raises(ValueError, match="safe file name"):
        publish([spec([], slug="../etc")], tmp_path, BASE, 10)
    assert list(tmp_path.iterdir()) == []


def test_render_opml_is_deterministic() -> None:
    feeds = [("all", "全部", f"{BASE}/all.atom")]
    assert render_opml(feeds, "t") == render_opml(feeds, "t")
    assert b"dateCreated" not in render_opml(feeds, "t")


def test_a_category_removed_from_the_config_loses_its_feed_file(tmp_path: Path) -> None:
    from aggregator.cli import main

    from .conftest import write_config

    both = '[categories.air]\ntitle = "大气"\n[categories.water]\ntitle = "水"\n'
    config = write_config(tmp_path, both)
    assert main(["build", str(config)]) == 0
    feeds = tmp_path / "feeds"
    (feeds / "notes.atom").write_text("<feed>kept: not written by us</feed>", encoding="utf-8")
    assert (feeds / "water.atom").is_file()

    write_config(tmp_path, '[categories.air]\ntitle = "大气"\n')
    assert main(["build", str(config)]) == 0
    assert not (feeds / "water.atom").exists()
    assert (feeds / "air.atom").is_file() and (feeds / "notes.atom").is_file()
    assert b"water.atom" not in (feeds / "feeds.opml").read_bytes()
