"""HTML sources end to end over real HTTP: list pages -> article pages -> Atom."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest
from lxml import etree

from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
SEED_FIRST = "2023年4月19日,浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会议"
SEED_LAST = "省厅大气处通报了近期治气检查情况和涉气典型问题。"


def entries(path: Path) -> dict[str, etree._Element]:
    tree = etree.parse(str(path))
    assert SCHEMA.validate(tree), SCHEMA.error_log
    assert feedparser.parse(path.read_bytes()).bozo == 0
    return {e.findtext(f"{ATOM}title"): e for e in tree.getroot().iter(f"{ATOM}entry")}


def hanweb_article(request: Request) -> Response:
    """A Hanweb article page for any /art/... path, titled after its id."""
    article_id = request.path.rsplit("_", 1)[-1].split(".")[0]
    html = f"""<html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="执法动态文章{article_id}">
<meta name="PubDate" content="2023-04-23 10:15">
<meta name="ContentSource" content="浙江省生态环境厅">
</head><body><div class="main"><div id="zoom"><p>第{article_id}号文章正文，生态环境执法检查情况通报。</p>
<p><img src="/picture/{article_id}.jpg" alt="现场"></p></div>
<div class="fenxiang">分享到：微信 微博</div></div></body></html>"""
    return Response(html.encode("utf-8"))


@pytest.fixture
def hanweb_site(site: Site) -> Site:
    # No charset in the header: the GBK bytes must be recognised from the page itself.
    site.add_file("/col/col1229116/index.html", "sites/sthjt/col1229116-index.html", content_type="text/html")
    site.add_file("/module/jpage/dataproxy.jsp", "sites/sthjt/dataproxy-page2.xml", content_type="text/xml")
    site.add_file("/news/2023/11/12/58213.html", "sites/repost/article.html")
    site.add(
        "/news/",
        '<html><body><ul class="newslist"><li><a href="/news/2023/11/12/58213.html">'
        "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会</a>"
        "<span>2023-11-12</span></li></ul></body></html>",
    )
    return site


def _route_articles(site: Site) -> None:
    # Article URLs vary; the conftest router matches exact paths, so register each listed one.
    for path in [
        "/art/2023/4/23/art_1229116_58938545.html",
        "/art/2023/4/18/art_1229116_58937720.html",
        "/art/2023/4/10/art_1229116_58936901.html",
        "/art/2023/3/30/art_1229116_58935512.html",
        "/art/2023/3/21/art_1229116_58934480.html",
        "/art/2023/3/15/art_1229116_58933310.html",
        "/art/2023/3/8/art_1229116_58932105.html",
        "/art/2023/2/28/art_1229116_58930874.html",
    ]:
        site.add(path, hanweb_article)


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-process"])
def test_hanweb_column_with_dataproxy_backfill_and_article_pages(tmp_path: Path, hanweb_site: Site, workers: int) -> None:
    _route_articles(hanweb_site)
    config = write_config(
        tmp_path,
        workers=workers,
        body=f"""
[categories.enforcement]
title = "执法"

[[sources]]
name = "zj-enforcement"
url = "{hanweb_site.url('/col/col1229116/index.html')}"
kind = "html"
categories = ["enforcement"]
backfill_pages = 1
fetch_articles = true
[sources.list]
item = "li"
title = "a@title"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0

    (proxy_call,) = hanweb_site.hits("/module/jpage/dataproxy.jsp")
    assert proxy_call.method == "POST"
    query = parse_qs(proxy_call.path.split("?", 1)[1])
    assert query["startrecord"] == ["6"] and query["perpage"] == ["5"]
    form = parse_qs(proxy_call.body.decode())
    assert form["columnid"] == ["1229116"] and form["unitid"] == ["4399227"] and form["webid"] == ["1756"]

    feed = entries(tmp_path / "feeds" / "enforcement.atom")
    # 5 rows in the page's <datastore> + 3 from the dataproxy; the 最新信息 sidebar row is not an item.
    assert len(feed) == 8
    assert "全省生态环境系统召开安全生产工作会议" not in feed
    # The list's full @title is kept: the article page's shorter title does not replace it.
    entry = feed["浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会"]
    assert entry.find(f"{ATOM}link").get("href") == hanweb_site.url("/art/2023/4/23/art_1229116_58938545.html")
    # The article page's PubDate (with a time) beats the list's date-only value.
    assert entry.findtext(f"{ATOM}published") == "2023-04-23T02:15:00+00:00"
    # The page's 来源 is the entry's contributor; its author is the source (no `authority` key: its name).
    assert entry.findtext(f"{ATOM}contributor/{ATOM}name") == "浙江省生态环境厅"
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "zj-enforcement"
    content = entry.findtext(f"{ATOM}content")
    assert "第58938545号文章正文" in content
    assert f'src="{hanweb_site.url("/picture/58938545.jpg")}"' in content
    assert "分享到" not in content


def test_list_dates_are_local_midnight_when_articles_are_not_fetched(tmp_path: Path, hanweb_site: Site) -> None:
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "zj-enforcement"
url = "{hanweb_site.url('/col/col1229116/index.html')}"
kind = "html"
fetch_articles = false
[sources.list]
item = "li"
title = "a@title"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    feed = entries(tmp_path / "feeds" / "all.atom")
    title = "浙江省生态环境厅关于2023年第一季度生态环境行政处罚案件的通报"  # cut with … in the link text
    # 2023-04-18 in Asia/Shanghai is 2023-04-17T16:00Z: a date, not a made-up time.
    assert feed[title].findtext(f"{ATOM}published") == "2023-04-17T16:00:00+00:00"
    assert not [t for t in feed if t.endswith("…")]


def test_seed_repost_article_is_extracted_with_its_original(tmp_path: Path, hanweb_site: Site) -> None:
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "portal"
url = "{hanweb_site.url('/news/')}"
kind = "html"
[sources.list]
item = "ul.newslist li"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    (entry,) = entries(tmp_path / "feeds" / "all.atom").values()
    assert entry.findtext(f"{ATOM}title") == (
        "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会"
    )
    assert entry.findtext(f"{ATOM}published") == "2023-11-12T01:42:56+00:00"  # 09:42:56 +08:00
    links = {link.get("rel"): link.get("href") for link in entry.findall(f"{ATOM}link")}  # not atom:source's link
    assert links["alternate"] == hanweb_site.url("/news/2023/11/12/58213.html")
    assert links["via"] == "http://sthjt.zj.gov.cn/art/2023/4/23/art_1202652_58938545.html"
    content = entry.findtext(f"{ATOM}content")
    assert SEED_FIRST in content and SEED_LAST in content
    for boilerplate in ("免责声明", "最新信息", "11月21日晚", "原文链接", "分享到", "上一篇"):
        assert boilerplate not in content
    with open_store(tmp_path / "store.json") as store:
        (item,) = list(store.items())
        assert item.origin is None and item.author is None


def test_try_article_json_gives_every_field(hanweb_site: Site, capsys) -> None:
    url = hanweb_site.url("/news/2023/11/12/58213.html")
    assert main(["try", url, "--article", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "title", "published", "source", "author", "original_url", "content_html", "content_text",
        "attachments", "content_from", "unreadable", "case",
    }
    assert data["case"] is None  # a news page states no penalty decision
    assert data["attachments"] is None and data["content_from"] == "page"
    assert data["published"] == "2023-11-12T09:42:56+08:00"
    assert datetime.fromisoformat(data["published"]).utcoffset().total_seconds() == 8 * 3600
    assert data["source"] is None and data["author"] is None
    assert data["original_url"].startswith("http://sthjt.zj.gov.cn/art/2023/4/23/")
    assert data["content_text"].startswith(SEED_FIRST)
    assert data["content_text"].rstrip().endswith(SEED_LAST)
    assert "免责声明" not in data["content_text"]


def test_try_list_without_selectors_prints_what_it_chose(hanweb_site: Site, capsys) -> None:
    url = hanweb_site.url("/col/col1229116/index.html")
    assert main(["try", url]) == 0
    out = capsys.readouterr().out
    assert "5 items" in out
    assert "浙江省生态环境厅关于2023年第一季度生态环境行政处罚案件的通报" in out
    assert "[sources.list]" in out or "item =" in out

    assert main(["try", url, "--json", "--item", "li", "--title", "a@title", "--date", "span"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["published"] for i in data["items"]][:2] == ["2023-04-23T00:00:00+08:00", "2023-04-18T00:00:00+08:00"]
    assert all(i["url"].startswith(hanweb_site.base + "/art/") for i in data["items"])


def test_trs_list_with_paging_and_selectors_from_the_example(tmp_path: Path, site: Site) -> None:
    site.add_file("/ywdt/", "sites/mee/index.html")
    site.add_file("/ywdt/index_1.shtml", "sites/mee/index_1.html")
    site.add_file("/ywdt/202304/t20230419_1027643.shtml", "sites/mee/article.html")
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "mee"
url = "{site.url('/ywdt/')}"
kind = "html"
backfill_pages = 1
fetch_articles = true
[sources.list]
item = ".mobile_none li, .mobile_clear li"
title = "a.cjcx_biaob"
[sources.article]
body = ".neiright_JPZ_GK_CP"
date = "meta[name=PubDate]@content"
source = "meta[name=ContentSource]@content"
""",
    )
    # Other article pages 404: those items keep their list data, and the poll still succeeds.
    assert main(["poll", "--once", str(config)]) == 0
    assert site.hits("/ywdt/index_1.shtml")
    feed = entries(tmp_path / "feeds" / "all.atom")
    assert len(feed) == 5 + 3
    cases = feed["生态环境部公布2023年第一批生态环境执法典型案例"]
    assert cases.findtext(f"{ATOM}published") == "2023-04-19T08:30:00+00:00"
    assert cases.findtext(f"{ATOM}contributor/{ATOM}name") == "生态环境部"  # the page's ContentSource
    content = cases.findtext(f"{ATOM}content")
    assert "生态环境部近日公布2023年第一批生态环境执法典型案例" in content
    assert site.url("/ywdt/202304/W020230419563412345678.jpg") in content
    assert "字号" not in content and "打印" not in content
    # A link to another site's page is kept as an item with its absolute URL.
    gov = feed["国务院办公厅印发《关于进一步加强生态环境保护综合行政执法的通知》"]
    assert gov.find(f"{ATOM}link").get("href") == "http://www.gov.cn/xinwen/2023-04/20/content_5752372.htm"


def test_auto_source_reads_a_real_list_page_without_selectors(tmp_path: Path, site: Site) -> None:
    site.add_file("/list.html", "real/fund-announcement-list.html")
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "fund"
url = "{site.url('/list.html')}"
kind = "auto"
fetch_articles = false
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    feed = entries(tmp_path / "feeds" / "all.atom")
    assert len(feed) == 10
    assert all(e.findtext(f"{ATOM}published") for e in feed.values())


def test_layout_change_that_empties_a_list_is_reported(tmp_path: Path, hanweb_site: Site, capsys) -> None:
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "zj"
url = "{hanweb_site.url('/col/col1229116/index.html')}"
kind = "html"
fetch_articles = false
[sources.list]
item = "li"
title = "a@title"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    hanweb_site.add("/col/col1229116/index.html", "<html><body><div class='new-layout'></div></body></html>")
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert "selectors-matched-nothing" in out and "layout may have changed" in out
    # Nothing already published disappears.
    assert len(entries(tmp_path / "feeds" / "all.atom")) == 5


def test_auto_source_prefers_the_feed_the_page_links_to(tmp_path: Path, site: Site) -> None:
    page = (
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body><ul>'
        + "".join(f'<li><a href="/a/{n}.html">列表页上的第{n}条新闻标题</a> 2026-03-0{n}</li>' for n in range(1, 6))
        + "</ul></body></html>"
    )
    site.add("/column/", page)
    site.add_file("/rss.xml", "feeds/rss2-noguid.xml", content_type="application/rss+xml")
    config = write_config(tmp_path, f'[[sources]]\nname = "c"\nurl = "{site.url("/column/")}"\nkind = "auto"\n')
    assert main(["poll", "--once", str(config)]) == 0
    assert set(entries(tmp_path / "feeds" / "all.atom")) == {"市生态环境局开展夏季臭氧污染防治帮扶", "一家企业超标排放被罚款20万元"}

    # When the advertised feed is broken, the list on the page is read instead.
    site.add("/rss.xml", b"gone", status=404)
    (tmp_path / "store.json").unlink()  # a new store: the manifest and the files it names
    shutil.rmtree(tmp_path / "store.json.d")
    assert main(["poll", "--once", str(config)]) == 0
    assert len(entries(tmp_path / "feeds" / "all.atom")) == 5
