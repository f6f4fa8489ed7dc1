"""A new kind of source is one reader registered in one place: config, poll, enrich and `try` pick it up."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urljoin

import feedparser
import pytest

from aggregator import read
from aggregator.cli import main
from aggregator.config import ConfigError, Source, load_config
from aggregator.fetch import Request
from aggregator.models import FetchResult, RawItem
from aggregator.read import ReadContext, Rows
from aggregator.read.html import HtmlListReader

from .conftest import Request as SiteRequest
from .conftest import Response, Site, write_config


class CsvReader:
    """A column published as CSV (date, title, link), as some open-data portals do."""

    kind: ClassVar[str] = "csv"

    def request(self, source: Source) -> Request:
        return Request(source.url, accept="text/csv", page=False)

    def recognises(self, page: FetchResult) -> bool:
        return False

    async def read(self, page: FetchResult, context: ReadContext) -> Rows:
        rows = csv.reader(io.StringIO(page.body.decode("utf-8")))
        items = [RawItem(url=urljoin(page.url, link), title=title, published_text=date) for date, title, link in rows]
        return Rows(items, empty_error=f"{page.url}: the CSV has no rows")


@contextlib.contextmanager
def registered(reader: read.Reader) -> Iterator[None]:
    """`reader` registered, as a module of aggregator/read/ would be, for one test."""
    read.register(reader)
    try:
        yield
    finally:
        del read.READERS[reader.kind]


@pytest.fixture
def csv_kind() -> Iterator[None]:
    with registered(CsvReader()):
        yield


ARTICLE = """<html><head><title>{title}</title></head><body><div class="article">
<h1>{title}</h1><p class="info">发布时间：2026-11-{day} 09:30 来源：示例市生态环境局</p>
<div class="content"><p>{body}</p><p>执法人员依法对该公司作出罚款人民币十万元的行政处罚决定，并责令其立即改正违法行为。</p></div>
</div></body></html>"""


def csv_site(site: Site) -> None:
    site.add("/open/penalties.csv", "2026-11-20,示例化工公司超标排放被处罚,/art/1.html\n2026-11-18,示例印染厂偷排废水案,/art/2.html\n",
             content_type="text/csv; charset=utf-8")
    for number, (title, day) in enumerate([("示例化工公司超标排放被处罚", 20), ("示例印染厂偷排废水案", 18)], start=1):
        body = f"{title}：经现场检查，该单位废水排放口化学需氧量浓度超过排放标准。"
        site.add(f"/art/{number}.html", ARTICLE.format(title=title, day=day, body=body))


def csv_config(tmp_path: Path, site: Site) -> Path:
    return write_config(tmp_path, f"""
[categories.enforcement]
title = "执法"

[[sources]]
name = "city-open-data"
kind = "csv"
url = "{site.url('/open/penalties.csv')}"
categories = ["enforcement"]
""")


def test_a_registered_reader_is_polled_and_its_rows_get_their_article_pages(
    tmp_path: Path, site: Site, csv_kind: None
) -> None:
    csv_site(site)
    config = csv_config(tmp_path, site)
    assert main(["poll", "--once", str(config)]) == 0
    parsed = feedparser.parse((tmp_path / "feeds" / "enforcement.atom").read_bytes())
    entries = {entry.link: entry for entry in parsed.entries}
    assert set(entries) == {site.url("/art/1.html"), site.url("/art/2.html")}
    first = entries[site.url("/art/1.html")]
    assert first.title == "示例化工公司超标排放被处罚"
    assert first.published == "2026-11-20T01:30:00+00:00"  # 09:30 Beijing time from the article page, not the CSV's day
    assert "罚款人民币十万元" in first.content[0].value  # enrich read the article page
    assert site.hits("/open/penalties.csv")[0].headers["accept"] == "text/csv"  # the reader's own request


def test_try_shows_a_registered_readers_rows(
    tmp_path: Path, site: Site, csv_kind: None, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_site(site)
    config = csv_config(tmp_path, site)
    assert main(["try", "--config", str(config), "--source", "city-open-data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"csv {site.url('/open/penalties.csv')}: 2 items")
    assert "示例印染厂偷排废水案" in out


def test_an_empty_page_says_what_the_reader_says(tmp_path: Path, site: Site, csv_kind: None) -> None:
    site.add("/open/penalties.csv", "", content_type="text/csv")
    config = csv_config(tmp_path, site)
    assert main(["poll", "--once", str(config)]) == 1
    from aggregator.store import open_store

    with open_store(tmp_path / "store.json") as store:
        assert store.state("city-open-data").last_error == f"{site.url('/open/penalties.csv')}: the CSV has no rows"


def test_a_kind_nobody_registered_is_a_config_error_naming_the_kinds(tmp_path: Path, site: Site) -> None:
    config = csv_config(tmp_path, site)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "sources[0].kind" in message and "'feed'" in message and "'json'" in message


class PostListReader(HtmlListReader):
    """An HTML list the site answers only to a form POST (ASP.NET/JSP columns): only the request differs."""

    kind: ClassVar[str] = "post-list"

    def request(self, source: Source) -> Request:
        return Request(source.url, method="POST", form={"channel": "42", "page": "1"})


@pytest.fixture
def post_kind() -> Iterator[None]:
    with registered(PostListReader()):
        yield


POST_LIST = """<html><head><meta charset="utf-8"><title>行政处罚</title></head><body><ul class="list">
<li><a href="/art/1.html">示例化工公司超标排放被处罚</a><span>2026-11-20</span></li>
<li><a href="/art/2.html">示例印染厂偷排废水案</a><span>2026-11-18</span></li>
</ul></body></html>"""


def test_a_posted_list_is_read_as_html_and_an_unchanged_one_is_not_read_again(
    tmp_path: Path, site: Site, post_kind: None, capsys: pytest.CaptureFixture[str]
) -> None:
    def column(request: SiteRequest) -> Response:
        if request.method != "POST" or request.body != b"channel=42&page=1":
            return Response(b"<html><body>search form only</body></html>")
        if request.headers.get("if-none-match") == '"v1"':
            return Response(b"", status=412)  # RFC 9110: a matching If-None-Match on a POST fails the precondition
        return Response(POST_LIST.encode("utf-8"), headers={"ETag": '"v1"'})

    site.add("/xxgk/list.aspx", column)
    config = write_config(tmp_path, f"""
[[sources]]
name = "posted"
kind = "post-list"
url = "{site.url('/xxgk/list.aspx')}"
fetch_articles = false
[sources.list]
item = "ul.list > li"
""")
    assert main(["poll", "--once", str(config)]) == 0
    assert "posted: 2 found, 2 new" in capsys.readouterr().out
    assert main(["poll", "--once", str(config)]) == 0
    assert "posted: not modified" in capsys.readouterr().out  # the same body, told by its hash
    posts = site.hits("/xxgk/list.aspx")
    assert [r.method for r in posts] == ["POST", "POST"]
    assert "if-none-match" not in posts[1].headers  # validators are for GETs


FEED = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>通知</title>
<id>urn:example:feed</id><updated>2026-11-20T00:00:00Z</updated>{entries}</feed>"""
ENTRY = """<entry><title>{title}</title><id>urn:example:{n}</id><link href="/art/{n}.html"/>
<updated>2026-11-{day}T00:00:00Z</updated><summary>{title}</summary></entry>"""


def test_a_feed_the_page_links_is_read_again_though_the_page_has_not_changed(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ('<html><head><link rel="alternate" type="application/atom+xml" href="/feed.atom"></head>'
            "<body><p>示例市生态环境局</p></body></html>")

    def page(request: SiteRequest) -> Response:
        if request.headers.get("if-none-match") == '"home"':
            return Response(b"", status=304)
        return Response(home.encode("utf-8"), headers={"ETag": '"home"'})

    site.add("/", page)
    entries = [ENTRY.format(title="关于开展执法检查的通知", n=1, day=18)]
    site.add("/feed.atom", FEED.format(entries="".join(entries)), content_type="application/atom+xml")
    config = write_config(tmp_path, f"""
[[sources]]
name = "bureau"
url = "{site.url('/')}"
""")
    assert main(["poll", "--once", str(config)]) == 0
    assert "bureau: 1 found, 1 new" in capsys.readouterr().out
    entries.append(ENTRY.format(title="行政处罚决定公开", n=2, day=20))
    site.add("/feed.atom", FEED.format(entries="".join(entries)), content_type="application/atom+xml")
    assert main(["poll", "--once", str(config)]) == 0
    assert "bureau: 2 found, 1 new" in capsys.readouterr().out
    titles = {e.title for e in feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes()).entries}
    assert titles == {"关于开展执法检查的通知", "行政处罚决定公开"}
