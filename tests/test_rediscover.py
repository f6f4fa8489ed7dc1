"""A column found again after its site's redesign: which links name it, and what poll, status,
the health feed and `catalog verify` say (the config is never changed)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree

from aggregator import catalog
from aggregator.catalog import column_name
from aggregator.cli import main
from aggregator.config import load_config, parse_config
from aggregator.fetch import fetcher_for
from aggregator.pipeline import poll_source
from aggregator.publish.health import source_health
from aggregator.rediscover import Page, candidates, redirected_home
from aggregator.scheduler import Daemon
from aggregator.serve.pages import Renderer
from aggregator.store import open_store

from .conftest import Response, Site, write_config
from .pagehelpers import served
from .test_notify import Clock, Hook, daemon_session

SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
OLD = "http://sthjt.example.gov.cn/col/xzcf/index.html"


def home(body: str, url: str = "http://sthjt.example.gov.cn/") -> Page:
    return Page(url, f"<html><body>{body}</body></html>".encode(), "home")


def urls(found: list) -> list[str]:
    return [c.url for c in found]


# --- which links name the column (pure) ---------------------------------------------------------


def test_the_name_itself_beats_a_longer_text_holding_it() -> None:
    page = home('<a href="/a/">行政处罚公开</a> <a href="/b/"> 行政 处罚 </a>')
    found = candidates("行政处罚", [page], old_url=OLD)
    assert urls(found) == ["http://sthjt.example.gov.cn/b/", "http://sthjt.example.gov.cn/a/"]
    assert found[0].exact and not found[1].exact


def test_a_menu_link_beats_one_in_the_page_and_says_where_it_was() -> None:
    page = home('<p><a href="/in-page/">行政处罚</a></p><ul id="dh"><li><a href="/menu/">行政处罚</a></li></ul>')
    found = candidates("行政处罚", [page], old_url=OLD)
    assert urls(found) == ["http://sthjt.example.gov.cn/menu/", "http://sthjt.example.gov.cn/in-page/"]
    assert found[0].how == "“行政处罚” in the home page's navigation"
    assert found[1].how == "“行政处罚” in the home page"


def test_a_headline_that_mentions_the_name_is_no_column() -> None:
    page = home('<a href="/art/1.html">关于某某化工有限公司行政处罚决定书的公告</a>')
    assert candidates("行政处罚", [page], old_url=OLD) == []


def test_links_to_other_sites_the_old_address_and_the_home_page_are_never_candidates() -> None:
    page = home(
        '<nav><a href="http://www.other.gov.cn/xzcf/">行政处罚</a>'
        '<a href="/col/xzcf/">行政处罚</a><a href="/index.html">行政处罚</a>'
        '<a href="javascript:void(0)">行政处罚</a><a href="http://www.sthjt.example.gov.cn/z/">行政处罚</a></nav>'
    )
    # /col/xzcf/ is the old index.html; www. of the same host is the same site.
    assert urls(candidates("行政处罚", [page], old_url=OLD)) == ["http://www.sthjt.example.gov.cn/z/"]


def test_nothing_named_so_is_no_candidate() -> None:
    assert candidates("行政处罚", [home('<nav><a href="/news/">新闻</a></nav>')], old_url=OLD) == []


def test_a_title_attribute_and_the_last_part_of_a_breadcrumb_name_count() -> None:
    page = home('<a href="/t/" title="案件查处"><img src="x.png"></a>')
    found = candidates("重点领域 · 监督执法 · 案件查处", [page], old_url=OLD)
    assert urls(found) == ["http://sthjt.example.gov.cn/t/"] and found[0].text == "案件查处"


def test_the_home_page_beats_the_old_page_and_a_site_maps_bare_urls_come_last() -> None:
    old_page = Page(OLD, '<a href="/from-old/">行政处罚</a>'.encode(), "old")
    sitemap = Page(
        "http://sthjt.example.gov.cn/sitemap.xml",
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://sthjt.example.gov.cn/2025/xzcf/</loc></url><url><loc>http://sthjt.example.gov.cn/about/</loc></url>"
        b"</urlset>",
        "sitemap",
    )
    both = candidates("行政处罚", [old_page, home('<a href="/from-home/">行政处罚</a>'), sitemap], old_url=OLD)
    assert urls(both) == [
        "http://sthjt.example.gov.cn/from-home/", "http://sthjt.example.gov.cn/from-old/", "http://sthjt.example.gov.cn/2025/xzcf/",
    ]
    # Alone, the site map's URL that repeats the old address's column part ("xzcf") is found.
    [only] = candidates("行政处罚", [sitemap], old_url=OLD)
    assert only.url == "http://sthjt.example.gov.cn/2025/xzcf/" and only.found_on == "the site map"


def test_a_redirect_counts_as_home_only_from_a_column_to_its_own_sites_home_page() -> None:
    assert redirected_home(OLD, "http://sthjt.example.gov.cn/")
    assert redirected_home(OLD, "https://www.sthjt.example.gov.cn/index.html")
    assert not redirected_home(OLD, "http://sthjt.example.gov.cn/col/xzcf2/")
    assert not redirected_home("http://sthjt.example.gov.cn/", "http://sthjt.example.gov.cn/index.html")
    assert not redirected_home(OLD, "http://other.gov.cn/")


def test_catalog_entries_give_their_columns_name_without_the_id() -> None:
    assert column_name("新闻 (hbzhywpt1157)") == "新闻"
    assert column_name("公示公告 (col84025)") == "公示公告"
    assert column_name("首页 (news links)") is None  # the home page is no column to look for
    assert column_name("col83545") is None and column_name("ywdt/hjyw") is None
    assert catalog.entry("sd/sthj/xzcf").template()["column"] == "行政处罚"
    source = parse_config('[[sources]]\ncatalog = "sd/sthj/xzcf"\n').sources[0]
    assert source.column == "行政处罚"


# --- a loopback site that redesigns itself ------------------------------------------------------

LIST = "<html><body><ul class='list'>{rows}</ul></body></html>"
ROWS = "".join(f"<li><a href='/art/{n}.html'>关于第{n}号行政处罚决定的公告</a><span>2026-11-0{n}</span></li>" for n in (1, 2, 3))


def home_page(nav: str = "") -> str:
    return f"<html><body><div class='menu'><a href='/'>首页</a><a href='/news/'>新闻</a>{nav}</div><p>欢迎</p></body></html>"


def redesigning_site(tmp_path: Path, site: Site) -> tuple[Path, bytes]:
    """A site whose column lists items, with a source naming that column; polled once, fine."""
    site.add("/", home_page("<a href='/old/xzcf/'>行政处罚</a>"))
    site.add("/old/xzcf/", LIST.format(rows=ROWS))
    config = write_config(tmp_path, f"""
[categories.enforcement]
title = "执法"

[[sources]]
name = "zj-sthjt-zfjg"
url = "{site.url('/old/xzcf/')}"
kind = "html"
column = "行政处罚"
categories = ["enforcement"]
fetch_articles = false
[sources.list]
item = "ul.list li"
date = "span"
""")
    assert main(["poll", "--once", str(config)]) == 0
    return config, config.read_bytes()


def redesign(site: Site) -> None:
    """The old column is gone; the home page's menu links its name to a new address."""
    del site.routes["/old/xzcf/"]
    site.add("/", home_page("<a href='/new/xzcf/'>行政处罚</a>"))
    site.add("/new/xzcf/", LIST.format(rows=ROWS))


def paste(config: Path, url: str) -> str:
    line = config.read_text("utf-8").splitlines().index(f'url = "{url}"'.replace("/new/xzcf/", "/old/xzcf/")) + 1
    return f'set url = "{url}" in [[sources]] name = "zj-sthjt-zfjg" ({config.resolve()} line {line})'


def health_entries(tmp_path: Path) -> list:
    raw = (tmp_path / "feeds" / "health.atom").read_bytes()
    assert SCHEMA.validate(etree.fromstring(raw)), SCHEMA.error_log
    return feedparser.parse(raw).entries


def test_after_a_redesign_poll_status_and_the_health_feed_name_the_new_address(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    config, before = redesigning_site(tmp_path, site)
    redesign(site)
    new = site.url("/new/xzcf/")
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"zj-sthjt-zfjg: FAILED http-status: {site.url('/old/xzcf/')}: HTTP 404 — the column 行政处罚 seems to have moved to {new}" in out
    assert "(“行政处罚” in the home page's navigation)" in out
    assert f"to follow it, {paste(config, new)}" in out

    assert main(["status", str(config)]) == 1
    shown = capsys.readouterr().out
    assert f"the column 行政处罚 seems to have moved to {new}" in shown and paste(config, new) in shown

    # /status.json is made of the same rows.
    with open_store(load_config(config).store_location, readonly=True) as store:
        [row] = source_health(load_config(config), store.states(), datetime.now(timezone.utc))
    assert row.as_dict()["moved_to"] == new and paste(config, new) in row.as_dict()["moved_hint"]
    # ... and so is the /status page a person opens, with the line to paste under the error.
    page = Renderer(base_url="http://127.0.0.1:8080", timezone_name="Asia/Shanghai").status(
        {"generated": datetime.now(timezone.utc).isoformat(), "sources": [row.as_dict()]}
    ).decode("utf-8")
    shown_text = html.unescape(re.sub(r"<[^>]+>", "", page))  # the new address is a link there
    assert paste(config, new) in shown_text and f"moved to {new}" in shown_text

    [entry] = health_entries(tmp_path)
    assert entry.title == "zj-sthjt-zfjg: the column seems to have moved (site redesign?)"
    text = entry.content[0].value
    assert f'href="{new}"' in text and f"{new}</a> (“行政处罚” in the home page's navigation)" in text
    assert f"To follow it, {paste(config, new)}." in text
    feed = (tmp_path / "feeds" / "health.atom").read_bytes()

    # Polled again in the same failure streak: not looked for again, still named; the feed keeps every byte.
    asked = len(site.hits("/"))
    assert main(["poll", "--once", str(config)]) == 1
    assert f"seems to have moved to {new}" in capsys.readouterr().out
    assert len(site.hits("/")) == asked
    assert (tmp_path / "feeds" / "health.atom").read_bytes() == feed
    assert config.read_bytes() == before  # the config is never edited


def test_the_daemons_log_line_of_the_failed_poll_names_the_new_address(
    tmp_path: Path, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    config_path, _ = redesigning_site(tmp_path, site)
    redesign(site)
    config = load_config(config_path)
    # `poll --once` above left its filter (failures are in its summary) on every handler, pytest's too.
    caplog.handler.filters.clear()

    async def poll_as_the_daemon_does() -> None:
        async with fetcher_for(config, persist_cookies=False) as fetcher:
            with open_store(config.store_location) as store:
                await poll_source(config.sources[0], config, fetcher, store)

    asyncio.run(poll_as_the_daemon_does())
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and r.name == "aggregator.pipeline"]
    assert f"HTTP 404 — the column 行政处罚 seems to have moved to {site.url('/new/xzcf/')}" in warning


def status_page(config_path: Path) -> str:
    """/status as the daemon's server sends it, made of the same rows as /status.json."""
    config = load_config(config_path)
    with open_store(config.store_location, readonly=True) as store:
        rows = source_health(config, store.states(), datetime.now(timezone.utc), counts=store.counts_by_source())
    document = {"generated": datetime.now(timezone.utc).isoformat(), "sources": [row.as_dict() for row in rows]}
    with served(config, lambda: document) as base:
        return httpx.get(f"{base}/status").text


def test_the_status_page_names_the_new_address_and_the_line_to_paste(tmp_path: Path, site: Site) -> None:
    config, _ = redesigning_site(tmp_path, site)
    assert 'class="moved"' not in status_page(config)  # a working source has nothing to move to
    redesign(site)
    assert main(["poll", "--once", str(config)]) == 1
    new = site.url("/new/xzcf/")
    page = status_page(config)
    [shown] = re.findall(r'<tr class="moved" data-source="zj-sthjt-zfjg"><td colspan="8">(.*?)</td></tr>', page, re.S)
    assert f'the column 行政处罚 seems to have moved to <a href="{new}">{new}</a>' in shown
    text = html.unescape(shown)
    assert "(“行政处罚” in the home page's navigation)" in text and f"to follow it, {paste(config, new)}" in text


def test_a_health_notification_names_the_new_address_and_the_line_to_paste(tmp_path: Path, site: Site) -> None:
    hook = Hook(site)
    config_path, _ = redesigning_site(tmp_path, site)
    with config_path.open("a", encoding="utf-8") as file:
        file.write(f'\n[[notify]]\nname = "ops"\nurl = "json://{site.base.removeprefix("http://")}/hook"\nhealth = true\n')
    redesign(site)

    async def steps(daemon: Daemon) -> None:
        await daemon.poll("zj-sthjt-zfjg")
        await daemon.notifier.drain()

    daemon_session(load_config(config_path), Clock(), steps)
    [message] = hook.messages
    new = site.url("/new/xzcf/")
    assert f"MOVED: zj-sthjt-zfjg: http-status: {site.url('/old/xzcf/')}: HTTP 404 — the column 行政处罚 seems to have moved to {new}" in message["message"]
    assert f"(“行政处罚” in the home page's navigation); to follow it, {paste(config_path, new)}" in message["message"]


def test_a_column_that_now_leads_to_the_home_page_is_a_failure_that_names_the_new_address(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    config, before = redesigning_site(tmp_path, site)
    redesign(site)
    site.add("/old/xzcf/", Response(b"", status=302, headers={"Location": "/"}))
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    new = site.url("/new/xzcf/")
    assert f"FAILED redirected-home: {site.url('/old/xzcf/')} now redirects to the site's home page {site.url('/')}" in out
    assert f"seems to have moved to {new}" in out and paste(config, new) in out
    # The home page's own links were not stored as the column's items.
    assert "欢迎" not in (tmp_path / "feeds" / "all.atom").read_text("utf-8")
    [entry] = health_entries(tmp_path)
    assert new in entry.content[0].value
    assert config.read_bytes() == before


def test_an_emptied_page_whose_own_menu_names_the_new_address(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    config, before = redesigning_site(tmp_path, site)
    # The old page still answers, without its list; only its own menu knows where the column went.
    site.add("/old/xzcf/", "<html><body><div class='nav'><a href='/v2/xzcf.html'>行政处罚</a></div><p>本栏目已迁移</p></body></html>")
    site.add("/", home_page())
    capsys.readouterr()
    asked_before = len(site.requests)
    assert main(["poll", "--once", str(config)]) == 1
    # The poll's own page, then the search: the home page, the old page, the site map; nothing more.
    asked = [r.path for r in site.requests[asked_before:] if r.path != "/robots.txt"]
    assert asked == ["/old/xzcf/", "/", "/old/xzcf/", "/sitemap.xml"]
    out = capsys.readouterr().out
    new = site.url("/v2/xzcf.html")
    assert "FAILED selectors-matched-nothing:" in out
    assert f"seems to have moved to {new} (“行政处罚” in the old page's navigation)" in out
    [entry] = health_entries(tmp_path)
    assert new in entry.content[0].value
    assert config.read_bytes() == before


def test_the_site_map_is_read_when_no_page_links_the_name(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = redesigning_site(tmp_path, site)
    del site.routes["/old/xzcf/"]
    site.add("/", home_page())
    site.add("/sitemap.xml", f"<?xml version='1.0'?><urlset><url><loc>{site.url('/2026/xzcf/')}</loc></url></urlset>",
             content_type="application/xml")
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 1
    assert f"seems to have moved to {site.url('/2026/xzcf/')} (“/2026/xzcf/” in the site map)" in capsys.readouterr().out


def test_a_site_without_the_name_gets_a_plain_not_found_and_robots_txt_is_obeyed(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    config, before = redesigning_site(tmp_path, site)
    del site.routes["/old/xzcf/"]
    site.add("/", home_page())
    site.add("/robots.txt", "User-agent: *\nDisallow: /sitemap.xml\n", content_type="text/plain")
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert "looked for the column 行政处罚 on the site (the home page): no link by that name" in out
    assert "Traceback" not in out and "moved" not in out
    assert site.hits("/sitemap.xml") == []
    assert main(["status", str(config)]) == 1
    assert "moved" not in capsys.readouterr().out
    assert config.read_bytes() == before


def test_when_the_old_address_works_again_the_hint_is_gone(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = redesigning_site(tmp_path, site)
    redesign(site)
    assert main(["poll", "--once", str(config)]) == 1
    site.add("/old/xzcf/", LIST.format(rows=ROWS))
    assert main(["poll", "--once", str(config)]) == 0
    capsys.readouterr()
    assert main(["status", str(config)]) == 0
    assert "moved" not in capsys.readouterr().out
    assert health_entries(tmp_path) == []


def test_catalog_verify_names_where_an_entrys_column_went(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/", home_page("<a href='/new/xzcf/'>行政处罚</a>"))
    config = write_config(tmp_path, f"""
[categories.enforcement]
title = "执法"

[[sources]]
catalog = "sd/sthj/xzcf"
url = "{site.url('/old/xzcf/')}"
""")
    assert main(["catalog", "verify", "--config", str(config), "--json"]) == 1
    [verdict] = json.loads(capsys.readouterr().out)["entries"]
    assert verdict["status"] == "error" and verdict["candidate"] == site.url("/new/xzcf/")
    assert main(["catalog", "verify", "--config", str(config)]) == 1
    [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sd/sthj/xzcf")]
    assert site.url("/new/xzcf/") in row


def test_the_home_pages_site_map_link_is_followed_when_the_site_map_is_a_page(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = redesigning_site(tmp_path, site)
    del site.routes["/old/xzcf/"]
    site.add("/", home_page() + "<div class='foot'><a href='/map.html'>网站地图</a></div>")
    site.add("/map.html", "<html><body><dl><dt>信息公开</dt><dd><a href='/gk/xzcf/'>行政处罚</a></dd></dl></body></html>")
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 1
    assert f"seems to have moved to {site.url('/gk/xzcf/')} (“行政处罚” in the site map)" in capsys.readouterr().out
    assert site.hits("/sitemap.xml") == []


def test_a_catalog_source_without_a_name_is_called_by_its_catalog_line(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    # `catalog add` writes sources as `catalog = "ID"` alone: the line to paste names what the file holds.
    site.add("/", home_page("<a href='/old/xzcf/'>行政处罚</a>"))
    site.add("/old/xzcf/", LIST.format(rows=ROWS))
    config = write_config(tmp_path, f"""
[[sources]]
catalog = "sd/sthj/xzcf"
url = "{site.url('/old/xzcf/')}"
fetch_articles = false
keep = {{ include = ["行政处罚"] }}
[sources.list]
item = "ul.list li"
date = "span"
""")
    assert main(["poll", "--once", str(config)]) == 0
    redesign(site)
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    line = config.read_text("utf-8").splitlines().index(f'url = "{site.url("/old/xzcf/")}"') + 1
    assert (f'to follow it, set url = "{site.url("/new/xzcf/")}" in [[sources]] catalog = "sd/sthj/xzcf" '
            f"({config.resolve()} line {line})") in out
    assert 'name = "sd-sthj-xzcf"' not in out
