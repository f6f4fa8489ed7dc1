"""Issue 20: entries our feeds published that real readers mis-showed, when sources are upstream
feeds (and list rows). Each test serves upstream data on loopback, runs real polls, and reads
our Atom with feedparser as a reader would."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import feedparser
import httpx
from lxml import etree

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.extract.feed import _linkless_id
from aggregator.normalise.urls import atom_id, item_key
from aggregator.serve.jsonfeed import render_json_feed
from aggregator.serve.pages import read_atom

from .conftest import Site, write_config
from .pagehelpers import served

SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
RSS = "application/rss+xml"


def rss(*items: str, title: str = "upstream", built: int = 0) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example.org/</link><description>d</description>"
        f"<lastBuildDate>Thu, 02 May 2024 09:{built:02d}:00 GMT</lastBuildDate>{''.join(items)}</channel></rss>"
    )


def atom(*entries: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>up</title>'
        "<id>urn:uuid:5f0c1c8e-4b7e-4f57-9e0a-6a0b1f3d9c21</id><updated>2024-05-02T08:00:00Z</updated>"
        f'<link href="https://news.example.org/"/>{"".join(entries)}</feed>'
    )


def sources(site: Site, *names: str) -> str:
    return "".join(f'[[sources]]\nname = "{n}"\nurl = "{site.url(f"/{n}.xml")}"\nkind = "feed"\n\n' for n in names)


def published(tmp_path: Path) -> bytes:
    data = (tmp_path / "feeds" / "all.atom").read_bytes()
    assert SCHEMA.validate(etree.fromstring(data)), SCHEMA.error_log
    return data


def read(tmp_path: Path) -> list[feedparser.FeedParserDict]:
    parsed = feedparser.parse(published(tmp_path))
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed.entries


def test_an_item_two_feeds_list_under_different_titles_stays_still(site: Site, tmp_path: Path, capsys) -> None:
    link = "<link>https://news.example.org/2024/05/report.html</link><pubDate>Thu, 02 May 2024 08:00:00 GMT</pubDate>"
    site.add("/a.xml", rss(f"<item><title>Annual report published</title>{link}</item>"), content_type=RSS)
    site.add("/b.xml", rss(f"<item><title>Report: the year in figures</title>{link}</item>"), content_type=RSS)
    config = write_config(tmp_path, sources(site, "a", "b"))
    assert main(["poll", "--once", str(config), "--source", "a"]) == 0
    assert main(["poll", "--once", str(config)]) == 0  # b lists it too: one entry, still a's
    first = published(tmp_path)
    capsys.readouterr()
    for built in range(1, 4):
        # Upstream rebuilds its feeds (a new lastBuildDate), so each poll really reads both again.
        site.add("/a.xml", rss(f"<item><title>Annual report published</title>{link}</item>", built=built), content_type=RSS)
        site.add("/b.xml", rss(f"<item><title>Report: the year in figures</title>{link}</item>", built=built),
                 content_type=RSS)
        assert main(["poll", "--once", str(config)]) == 0
        out = capsys.readouterr().out
        assert "a: 1 found, 0 new, 0 changed" in out and "b: 1 found, 0 new, 0 changed" in out
        assert published(tmp_path) == first  # no rewrite, no `updated` moved to the poll time
    [entry] = read(tmp_path)
    assert entry.title == "Annual report published"
    assert entry.updated == "2024-05-02T08:00:00+00:00"
    # Its own source still edits it.
    site.add("/a.xml", rss(f"<item><title>Annual report published (corrected)</title>{link}</item>"), content_type=RSS)
    assert main(["poll", "--once", str(config)]) == 0
    assert [e.title for e in read(tmp_path)] == ["Annual report published (corrected)"]


def test_html_and_xhtml_titles_are_shown_as_text(site: Site, tmp_path: Path) -> None:
    site.add(
        "/a.xml",
        atom(
            '<entry><title type="html">It&amp;#8217;s &amp;amp; &lt;em&gt;here&lt;/em&gt;</title>'
            '<id>tag:news.example.org,2024:1</id><link href="https://news.example.org/1"/>'
            "<updated>2024-05-02T08:00:00Z</updated></entry>",
            '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Rates <b>cut</b> &amp; '
            "held</div></title><id>tag:news.example.org,2024:2</id><link href=\"https://news.example.org/2\"/>"
            "<updated>2024-05-02T09:00:00Z</updated></entry>",
            '<entry><title type="text">AT&amp;T &lt;b&gt; is literal</title><id>tag:news.example.org,2024:3</id>'
            '<link href="https://news.example.org/3"/><updated>2024-05-02T10:00:00Z</updated></entry>',
        ),
        content_type="application/atom+xml",
    )
    site.add(
        "/b.xml",
        rss("<item><title>Caf&amp;eacute; &lt;i&gt;opens&lt;/i&gt;</title><link>https://news.example.org/4</link></item>",
            "<item><title>No link &amp;amp; &lt;b&gt;no id&lt;/b&gt;</title></item>"),
        content_type=RSS,
    )
    config = write_config(tmp_path, sources(site, "a", "b"))
    assert main(["poll", "--once", str(config)]) == 0
    titles = {entry.link: entry.title for entry in read(tmp_path)}
    assert titles == {
        "https://news.example.org/1": "It\u2019s & here",
        "https://news.example.org/2": "Rates cut & held",
        "https://news.example.org/3": "AT&T <b> is literal",  # a text title keeps what it says
        "https://news.example.org/4": "Caf\u00e9 opens",
        "https://news.example.org/": "No link & no id",
    }
    # An entry without link or id keeps the key it had when its title was published with markup.
    [linkless] = [e for e in read(tmp_path) if e.link == "https://news.example.org/"]
    assert linkless.id == atom_id(_linkless_id(site.url("/b.xml"), None, "No link &amp; <b>no id</b>", "", ""))


def test_entries_sharing_a_link_with_distinct_ids_are_all_kept(site: Site, tmp_path: Path) -> None:
    page = "<link>https://news.example.org/notices.html</link>"

    def item(guid: str, title: str, day: int) -> str:
        return (f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>{page}'
                f"<pubDate>Thu, {day:02d} May 2024 08:00:00 GMT</pubDate></item>")

    solo = ("<item><title>Solo</title><link>https://news.example.org/solo.html</link></item>"
            '<item><guid isPermaLink="false">http://news.example.org/p/9.html</guid><title>Guid page</title></item>')
    site.add("/a.xml", rss(item("n-2", "Second notice", 2), item("n-1", "First notice", 1), solo), content_type=RSS)
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    entries = {entry.title: entry for entry in read(tmp_path)}
    assert set(entries) == {"Second notice", "First notice", "Solo", "Guid page"}
    # A web address given only as the guid is still the entry's page, and its key is what it was.
    assert entries["Guid page"].link == "http://news.example.org/p/9.html"
    assert entries["Guid page"].id == atom_id(item_key("http://news.example.org/p/9.html", "http://news.example.org/p/9.html"))
    assert entries["First notice"].link == entries["Second notice"].link == "https://news.example.org/notices.html"
    # Ids of entries that never shared a link, and of the first on a shared one, are what they were.
    assert entries["Solo"].id == atom_id(item_key("https://news.example.org/solo.html"))
    assert entries["First notice"].id == atom_id(item_key("https://news.example.org/notices.html"))
    ids = {title: entry.id for title, entry in entries.items()}
    # A third notice on the same page: one new entry, the others keep their ids.
    site.add("/a.xml", rss(item("n-3", "Third notice", 3), item("n-2", "Second notice", 2),
                           item("n-1", "First notice", 1), solo), content_type=RSS)
    assert main(["poll", "--once", str(config)]) == 0
    again = {entry.title: entry.id for entry in read(tmp_path)}
    assert len(again) == 5 and {t: again[t] for t in ids} == ids


def test_an_empty_feed_is_reported_as_empty_not_as_selectors(site: Site, tmp_path: Path, capsys) -> None:
    site.add("/a.xml", rss(), content_type=RSS)
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert "a: FAILED" in out and "the feed lists no entries" in out
    assert "selector" not in out
    assert main(["status", str(config)]) == 1
    status = capsys.readouterr().out
    assert "feed-empty: " in status and "selector" not in status


def test_a_feed_that_empties_is_announced_as_an_empty_feed(site: Site, tmp_path: Path) -> None:
    site.add("/a.xml", rss("<item><title>Only notice</title><link>https://news.example.org/1.html</link></item>"),
             content_type=RSS)
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    site.add("/a.xml", rss(), content_type=RSS)
    assert main(["poll", "--once", str(config)]) == 1
    [incident] = feedparser.parse((tmp_path / "feeds" / "health.atom").read_bytes()).entries
    assert incident.title == "a: the feed no longer lists any entries"
    text = incident.get("content", [{}])[0].get("value", "") or incident.summary
    assert "feed-empty" in text and "selector" not in text + incident.title


def test_entries_with_only_content_src_or_an_enclosure_are_kept(site: Site, tmp_path: Path) -> None:
    site.add(
        "/a.xml",
        atom(
            "<entry><title>Budget 2024 (PDF)</title><id>tag:news.example.org,2024:budget</id>"
            '<content src="https://news.example.org/files/budget.pdf" type="application/pdf"/>'
            "<updated>2024-05-02T08:00:00Z</updated></entry>",
            "<entry><title>Episode 12</title><id>urn:uuid:0b7c5a4e-8f0e-4c55-9a57-8f6f6d1d2c12</id>"
            '<link rel="enclosure" href="https://cdn.example.org/ep12.mp3" type="audio/mpeg" length="1234"/>'
            "<updated>2024-05-02T09:00:00Z</updated></entry>",
        ),
        content_type="application/atom+xml",
    )
    site.add(
        "/b.xml",
        rss('<item><enclosure url="https://cdn.example.org/ep13.mp3" type="audio/mpeg" length="99"/>'
            "<pubDate>Thu, 02 May 2024 10:00:00 GMT</pubDate></item>"),
        content_type=RSS,
    )
    config = write_config(tmp_path, sources(site, "a", "b"))
    assert main(["poll", "--once", str(config)]) == 0
    entries = {entry.link: entry for entry in read(tmp_path)}
    assert set(entries) == {
        "https://news.example.org/files/budget.pdf",
        "https://cdn.example.org/ep12.mp3",
        "https://cdn.example.org/ep13.mp3",
    }
    assert entries["https://news.example.org/files/budget.pdf"].title == "Budget 2024 (PDF)"
    assert entries["https://news.example.org/files/budget.pdf"].id == atom_id("tag:news.example.org,2024:budget")
    episode = entries["https://cdn.example.org/ep12.mp3"]
    assert episode.title == "Episode 12"
    assert [(e.href, e.type, e.length) for e in episode.enclosures] == [("https://cdn.example.org/ep12.mp3", "audio/mpeg", "1234")]
    assert [e.href for e in entries["https://cdn.example.org/ep13.mp3"].enclosures] == ["https://cdn.example.org/ep13.mp3"]
    # The JSON Feed the server makes of it carries them as attachments.
    items = {item["url"]: item for item in json.loads(render_json_feed(read_atom(published(tmp_path)), "all", "http://127.0.0.1:8080/"))["items"]}
    assert items["https://cdn.example.org/ep12.mp3"]["attachments"] == [
        {"url": "https://cdn.example.org/ep12.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 1234}
    ]
    assert items["https://news.example.org/files/budget.pdf"]["attachments"] == [{"url": "https://news.example.org/files/budget.pdf", "mime_type": "application/pdf"}]
    # Polled again: the same entries, the same ids.
    ids = sorted(e.id for e in entries.values())
    assert main(["poll", "--once", str(config)]) == 0
    assert sorted(e.id for e in read(tmp_path)) == ids


def test_day_only_dates_give_updated_from_first_sight(site: Site, tmp_path: Path) -> None:
    def row(n: int) -> str:
        return f'<li><a href="/art/{n}.html">第{n}号通知的标题文字</a><span>2024-05-02</span></li>'

    site.add("/list/", f"<html><body><ul class='news'>{row(1)}{row(2)}</ul></body></html>")
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "l"\nurl = "{site.url("/list/")}"\nkind = "html"\nfetch_articles = false\n'
        '[sources.list]\nitem = "ul.news li"\ndate = "span"\n',
    )
    assert main(["poll", "--once", str(config)]) == 0
    time.sleep(1.01 - time.time() % 1)  # into the next second: feeds print times to the second
    site.add("/list/", f"<html><body><ul class='news'>{row(3)}{row(1)}{row(2)}</ul></body></html>")
    assert main(["poll", "--once", str(config)]) == 0
    before = published(tmp_path)
    entries = {entry.title: entry for entry in read(tmp_path)}
    assert len(entries) == 3
    # The day stays the publish date (midnight in Asia/Shanghai) ...
    assert {e.published for e in entries.values()} == {"2024-05-01T16:00:00+00:00"}
    # ... and `updated` is when we first saw each row: distinct across polls, never that midnight.
    updated = {title: datetime.fromisoformat(e.updated) for title, e in entries.items()}
    assert all(moment.year >= 2025 for moment in updated.values())
    assert updated["第3号通知的标题文字"] > updated["第1号通知的标题文字"] == updated["第2号通知的标题文字"]
    assert main(["build", str(config)]) == 0
    assert published(tmp_path) == before


def test_feed_entries_dated_by_day_only_are_updated_when_first_seen(site: Site, tmp_path: Path) -> None:
    site.add(
        "/a.xml",
        atom('<entry><title>Dated by day</title><id>tag:news.example.org,2024:d</id><link href="https://news.example.org/d"/>'
             "<published>2024-05-02</published><updated>2024-05-02</updated></entry>",
             '<entry><title>Dated to the second</title><id>tag:news.example.org,2024:s</id>'
             '<link href="https://news.example.org/s"/><updated>2024-05-02T08:30:00Z</updated></entry>'),
        content_type="application/atom+xml",
    )
    site.add("/b.xml", rss("<item><title>RSS by day</title><link>https://news.example.org/r</link>"
                           "<pubDate>2024-05-02</pubDate></item>"), content_type=RSS)
    config = write_config(tmp_path, sources(site, "a", "b"))
    assert main(["poll", "--once", str(config)]) == 0
    entries = {entry.title: entry for entry in read(tmp_path)}
    for title in ("Dated by day", "RSS by day"):  # the day, in the source's zone (Asia/Shanghai)
        assert entries[title].published == "2024-05-01T16:00:00+00:00", title
        assert datetime.fromisoformat(entries[title].updated).year >= 2025, title  # first seen, not that midnight
    assert entries["Dated to the second"].updated == "2024-05-02T08:30:00+00:00"  # a real time is kept


def test_a_live_blog_whose_ids_differ_by_fragment_keeps_every_update(site: Site, tmp_path: Path, capsys) -> None:
    def live_blog(*numbers: int) -> str:
        return atom(*(
            f"<entry><title>Update {n}</title><id>https://news.example.org/live.html#u{n}</id>"
            f'<link href="https://news.example.org/live.html"/><updated>2024-05-02T0{n}:00:00Z</updated></entry>'
            for n in numbers
        ))

    site.add("/a.xml", live_blog(3, 2, 1), content_type="application/atom+xml")
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    entries = read(tmp_path)
    assert sorted(e.title for e in entries) == ["Update 1", "Update 2", "Update 3"]
    assert len({e.id for e in entries}) == 3 and {e.link for e in entries} == {"https://news.example.org/live.html"}
    ids = {e.title: e.id for e in entries}
    # The window slides: the first update leaves the upstream feed, a fourth arrives. Nothing
    # stored moves: one new entry, no other changed, and every update keeps its id.
    site.add("/a.xml", live_blog(4, 3, 2), content_type="application/atom+xml")
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 0
    assert "a: 3 found, 1 new, 0 changed" in capsys.readouterr().out
    again = {e.title: e.id for e in read(tmp_path)}
    assert len(again) == 4 and {t: again[t] for t in ids} == ids
    # Down to one update: it is still the entry it was.
    site.add("/a.xml", live_blog(4), content_type="application/atom+xml")
    assert main(["poll", "--once", str(config)]) == 0
    assert "a: 1 found, 0 new, 0 changed" in capsys.readouterr().out


def test_an_entry_whose_addresses_are_malformed_does_not_stop_the_feed(site: Site, tmp_path: Path, capsys) -> None:
    site.add(
        "/a.xml",
        atom(
            '<entry><title>Broken address</title><id>urn:x:broken</id><link href="http://[::1"/>'
            '<content src="http://[::1" type="application/pdf"/><updated>2024-05-02T08:00:00Z</updated></entry>',
            '<entry><title>Good entry</title><id>urn:x:good</id><link href="https://news.example.org/2024/05/good.html"/>'
            "<updated>2024-05-02T09:00:00Z</updated></entry>",
        ),
        content_type="application/atom+xml",
    )
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    entries = {entry.title: entry for entry in read(tmp_path)}
    assert set(entries) == {"Broken address", "Good entry"}
    assert entries["Broken address"].link == "https://news.example.org/"  # no address a reader could open: the feed's site
    assert "Traceback" not in capsys.readouterr().err


def _shared(guid: str, title: str, day: int, text: str) -> str:
    return (f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>'
            f"<link>https://news.example.org/notices.html</link><description>{text}</description>"
            f"<pubDate>Thu, {day:02d} May 2024 08:00:00 GMT</pubDate></item>")


def test_untitled_entries_sharing_a_link_are_not_doubled_on_the_next_poll(site: Site, tmp_path: Path, capsys) -> None:
    # Untitled notes (a microblog's) on one page: stored under a title made from their text.
    notes = (_shared("n-2", "", 2, "Second note on the page"), _shared("n-1", "", 1, "First note on the page"))
    site.add("/a.xml", rss(*notes), content_type=RSS)
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    first = sorted((e.title, e.id) for e in read(tmp_path))
    assert [title for title, _ in first] == ["First note on the page", "Second note on the page"]
    capsys.readouterr()
    for built in (1, 2):  # upstream rebuilt, nothing else changed: nothing new, nothing doubled
        site.add("/a.xml", rss(*notes, built=built), content_type=RSS)
        assert main(["poll", "--once", str(config)]) == 0
        assert "a: 2 found, 0 new, 0 changed" in capsys.readouterr().out
        assert sorted((e.title, e.id) for e in read(tmp_path)) == first


def test_an_edited_title_on_a_shared_link_edits_the_entry(site: Site, tmp_path: Path) -> None:
    """The entry holding the link's key is known by its date when its title was edited: no double."""
    site.add("/a.xml", rss(_shared("n-2", "Second notice", 2, "two"), _shared("n-1", "First notice", 1, "one")),
             content_type=RSS)
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    ids = {e.title: e.id for e in read(tmp_path)}
    site.add("/a.xml", rss(_shared("n-2", "Second notice", 2, "two"), _shared("n-1", "First notice (corrected)", 1, "one"),
                           built=1), content_type=RSS)
    assert main(["poll", "--once", str(config)]) == 0
    again = {e.title: e.id for e in read(tmp_path)}
    assert again == {"First notice (corrected)": ids["First notice"], "Second notice": ids["Second notice"]}


def test_try_on_an_empty_feed_says_why_it_shows_nothing(site: Site, capsys) -> None:
    site.add("/a.xml", rss(), content_type=RSS)
    assert main(["try", site.url("/a.xml")]) == 1
    out = capsys.readouterr().out
    assert ": 0 items\nwhat may be wrong:\n" in out and "the feed lists no entries" in out


def test_pages_name_the_newest_date_an_entry_shows_not_when_a_day_only_row_was_first_seen(site: Site, tmp_path: Path) -> None:
    site.add("/a.xml", rss("<item><title>RSS by day</title><link>https://news.example.org/r</link>"
                           "<pubDate>2024-05-02</pubDate></item>"), content_type=RSS)
    config = write_config(tmp_path, sources(site, "a"))
    assert main(["poll", "--once", str(config)]) == 0
    with served(load_config(config)) as base:
        index, page = httpx.get(f"{base}/").text, httpx.get(f"{base}/all.html").text
    # The entry shows its day (00:00 北京时间); the pages say that day is the newest, not today.
    assert "2024-05-02 00:00 北京时间</time>" in page and "the newest from 2024-05-02 00:00 北京时间" in page
    assert re.search(r'data-slug="all">.*?<td class="updated">2024-05-02 00:00<br>', index, re.S), index


def test_list_rows_sharing_a_link_under_different_headlines_are_all_entries(site: Site, tmp_path: Path, capsys) -> None:
    # A news list whose rows link a product's page each time it is in the news.
    def row(title: str, day: int, link: str = "/tools/trae/") -> str:
        return f'<li><a href="{link}">{title}</a><span>2024-05-{day:02d}</span></li>'

    older = row("字节跳动推出全新编程工具，基于大模型", 2)
    page = lambda *rows: f"<html><body><ul class='news'>{''.join(rows)}</ul></body></html>"  # noqa: E731
    site.add("/list/", page(row("另一条新闻的标题文字", 3, "/news/3.html"), older))
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "l"\nurl = "{site.url("/list/")}"\nkind = "html"\nfetch_articles = false\n'
        '[sources.list]\nitem = "ul.news li"\ndate = "span"\n',
    )
    assert main(["poll", "--once", str(config)]) == 0
    first = {entry.title: entry.id for entry in read(tmp_path)}
    # The product is in the news again: a new row, the same link, another headline.
    site.add("/list/", page(row("编程工具已全量支持新模型，免费使用", 5), row("另一条新闻的标题文字", 3, "/news/3.html"), older))
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 0
    assert "1 new, 0 changed" in capsys.readouterr().err
    second = {entry.title: entry.id for entry in read(tmp_path)}
    assert len(second) == 3 and {k: second[k] for k in first} == first
    # The older row leaves the page: nothing moves, nothing is retitled.
    site.add("/list/", page(row("编程工具已全量支持新模型，免费使用", 5), row("另一条新闻的标题文字", 3, "/news/3.html")))
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 0
    assert "0 new, 0 changed" in capsys.readouterr().err
    assert {entry.title: entry.id for entry in read(tmp_path)} == second
    # A row repeating a link under the same headline is still one entry.
    site.add("/list/", page(row("编程工具已全量支持新模型，免费使用", 5), row("编程工具已全量支持新模型，免费使用", 5)))
    assert main(["poll", "--once", str(config)]) == 0
    assert {entry.title: entry.id for entry in read(tmp_path)} == second


def test_list_rows_sharing_a_link_keep_their_headlines_when_the_page_is_read(site: Site, tmp_path: Path, capsys) -> None:
    """The page two rows link is neither row's article: its headline and date would make the two
    stories one title (and, stored under it, no longer known as the row holding the link)."""
    def row(title: str, day: int) -> str:
        return f'<li><a href="/tools/trae/">{title}</a><span>2024-05-{day:02d}</span></li>'

    headline = "字节跳动推出全新编程工具Trae，基于大模型的AI编程助手全面上线"
    site.add("/tools/trae/", f"<html><head><title>{headline}</title></head><body><h1>{headline}</h1>"
                             f"<p>2024-05-01 10:00</p><div class='content'><p>{'产品介绍的正文内容。' * 40}</p></div></body></html>")
    rows = (row("编程工具已全量支持新模型…", 5), row("字节跳动推出全新编程工具…", 2))
    site.add("/list/", f"<html><body><ul class='news'>{''.join(rows)}</ul></body></html>")
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "l"\nurl = "{site.url("/list/")}"\nkind = "html"\n[sources.list]\nitem = "ul.news li"\ndate = "span"\n',
    )
    assert main(["poll", "--once", str(config)]) == 0
    first = {e.title: (e.id, e.published) for e in read(tmp_path)}
    assert first.keys() == {"编程工具已全量支持新模型…", "字节跳动推出全新编程工具…"}
    assert {p for _, p in first.values()} == {"2024-05-04T16:00:00+00:00", "2024-05-01T16:00:00+00:00"}  # the rows' days
    # Read again (the page changed elsewhere): the same two entries, nothing new.
    site.add("/list/", f"<html><body><ul class='news'>{''.join(rows)}</ul><p>更新</p></body></html>")
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 0
    assert "l: 2 found, 0 new" in capsys.readouterr().out
    assert {e.title: (e.id, e.published) for e in read(tmp_path)} == first
