"""Catalog entries and presets against loopback sites shaped like the platforms they are for.

Each preset gets a fixture site in the shape the evidence describes (Hanweb
<datastore> + dataproxy.jsp, TRS createPageHTML + index_N.shtml, gkmlpt JSON,
UCAP JSON); a config line using the entry or preset, pointed at the fixture,
must publish the right Atom entries with the articles' full text. `catalog
verify` is run against the same sites and against blocked, empty and dead ones.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from aggregator import catalog
from aggregator.cli import main
from aggregator.publish.atom import package_version

from .conftest import Request, Response, Site, write_config

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
CATEGORIES = """
[categories.enforcement]
title = "执法"
[categories.ecology]
title = "生态"
[categories.policy]
title = "政策"
"""


def feed(path: Path) -> feedparser.FeedParserDict:
    assert SCHEMA.validate(etree.parse(str(path))), SCHEMA.error_log
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0
    return parsed


def poll(tmp_path: Path, body: str) -> Path:
    config = write_config(tmp_path, CATEGORIES + body)
    assert main(["poll", str(config), "--once"]) == 0
    return tmp_path / "feeds"


def article_page(title: str, body_class: str, date: str, extra_head: str = "") -> bytes:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_网站</title>
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date}">{extra_head}</head>
<body><div class="nav"><a href="/">首页</a></div><div class="{body_class}" id="{body_class}">
<p>{title}：这是正文第一段，生态环境执法检查情况通报，全文在此。</p><p>正文第二段，责令整改并处罚款。</p></div>
<div class="fenxiang">分享到：微信</div></body></html>""".encode()


# --- Hanweb: <datastore> records and dataproxy.jsp --------------------------------------------------


def hanweb(site: Site) -> Site:
    site.add_file("/col/col1229116/index.html", "sites/sthjt/col1229116-index.html", content_type="text/html")
    site.add_file("/module/jpage/dataproxy.jsp", "sites/sthjt/dataproxy-page2.xml", content_type="text/xml")

    return site


def _add_hanweb_articles(site: Site) -> None:
    import re

    pages = (Path(__file__).parent / "fixtures/sites/sthjt").glob("*")
    for page in pages:
        text = page.read_bytes().decode("gb18030", errors="replace")
        for path in re.findall(r'href="(/art/[^"]+)"', text):
            number = path.rsplit("_", 1)[-1].split(".")[0]
            site.add(path, article_page(f"浙江执法文章{number}", "zoom", "2023-04-23 10:15"))


def test_hanweb_entry_publishes_the_column_and_its_dataproxy_pages(site: Site, tmp_path: Path) -> None:
    hanweb(site)
    _add_hanweb_articles(site)
    feeds = poll(tmp_path, f"""
[[sources]]
catalog = "zj/sthjt/zfjg"
url = "{site.url('/col/col1229116/index.html')}"
""")
    parsed = feed(feeds / "enforcement.atom")
    assert len(parsed.entries) == 8  # 5 records in the page, 3 from dataproxy.jsp
    assert len(site.hits("/module/jpage/dataproxy.jsp")) == 1
    first = next(e for e in parsed.entries if e.link.endswith("art_1229116_58938545.html"))
    # The record's @title is the whole headline, so it is the entry's title.
    assert first.title == "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会"
    body = first.content[0].value
    assert "这是正文第一段" in body and "正文第二段" in body and "分享到" not in body


# --- TRS: createPageHTML paging and index_N.shtml ---------------------------------------------------


def trs(site: Site, prefix: str) -> None:
    """The saved 要闻动态 pages at `prefix`, an article page for each row."""
    import re

    fixtures = Path(__file__).parent / "fixtures/sites/mee"
    site.add(prefix, (fixtures / "index.html").read_bytes())
    site.add(prefix + "index_1.shtml", (fixtures / "index_1.html").read_bytes())
    for page in ("index.html", "index_1.html"):
        for path in re.findall(r'href="\./(\d{6}/t\d{8}_\d+\.shtml)"', (fixtures / page).read_text(encoding="utf-8")):
            number = path.rsplit("_", 1)[-1].split(".")[0]
            body = article_page(f"生态环境部文章{number}", "TRS_Editor", "2023-04-19 16:30")
            site.add(prefix + path, body.replace(b'class="TRS_Editor"', b'class="neiright_JPZ_GK_CP"><div class="TRS_Editor"') + b"</div>")


def test_trs_entry_reads_its_pages_and_articles(site: Site, tmp_path: Path) -> None:
    trs(site, "/ywdt/")
    feeds = poll(tmp_path, f"""
[[sources]]
catalog = "mee/ywdt"
url = "{site.url('/ywdt/')}"
backfill_pages = 1
""")
    parsed = feed(feeds / "ecology.atom")
    links = {e.link for e in parsed.entries}
    assert site.url("/ywdt/202304/t20230417_1027401.shtml") in links  # from index_1.shtml
    assert len(site.hits("/ywdt/index_1.shtml")) == 1
    assert not site.hits("/ywdt/index_2.shtml")  # backfill_pages = 1
    local = [e for e in parsed.entries if e.link.startswith(site.base)]
    assert len(local) == 7  # 4 + 3 rows on this site (the gov.cn row links off-site)
    import re

    pages = "".join((Path(__file__).parent / "fixtures/sites/mee" / p).read_text(encoding="utf-8") for p in ("index.html", "index_1.html"))
    rows = dict(re.findall(r'href="\./(\d{6}/t\d{8}_\d+\.shtml)" class="cjcx_biaob"[^>]*>([^<]+)</a>', pages))
    assert {e.link: e.title for e in local} == {site.url("/ywdt/" + path): title for path, title in rows.items()}
    for entry in local:
        number = entry.link.rsplit("_", 1)[-1].split(".")[0]
        assert f"生态环境部文章{number}：这是正文第一段" in entry.content[0].value


def test_trs_preset_alone_finds_the_rows(site: Site, tmp_path: Path) -> None:
    trs(site, "/ywgz/sthjzf/zfzdyxzcf/")
    feeds = poll(tmp_path, f"""
[[sources]]
name = "mee-zfzdyxzcf"
preset = "trs"
url = "{site.url('/ywgz/sthjzf/zfzdyxzcf/')}"
categories = ["enforcement"]
""")
    parsed = feed(feeds / "enforcement.atom")
    # Rows linking ./YYYYMM/tYYYYMMDD_ID.shtml: 4 on the page, 3 on index_1 (backfill_pages = 2; index_2 is missing).
    assert len(parsed.entries) == 7
    assert len(site.hits("/ywgz/sthjzf/zfzdyxzcf/index_2.shtml")) == 1
    assert all("正文第二段" in e.content[0].value for e in parsed.entries)


# --- gkmlpt and UCAP: JSON list APIs ---------------------------------------------------------------


def test_gkmlpt_entry_reads_the_json_column_and_its_pages(site: Site, tmp_path: Path) -> None:
    def page(n: int) -> bytes:
        rows = [] if n > 2 else [
            {"url": site.url(f"/gkmlpt/content/4/41/post_{n}{i}.html"), "title": f"广东省生态环境厅文件{n}{i}",
             # create_time is the publication date (Unix seconds); created_at is when the platform ingested the row.
             "create_time": int(datetime(2024, n, 10 + i, 1, 30, tzinfo=timezone.utc).timestamp()),
             "created_at": "2026-09-01 00:00:00", "id": int(f"{n}{i}")}
            for i in range(3)
        ]
        return json.dumps({"total": 6, "articles": rows}, ensure_ascii=False).encode()

    for n in (1, 2, 3):
        site.add(f"/gkmlpt/api/all/3155?page={n}", page(n), content_type="application/json")
        for i in range(3):
            site.add(f"/gkmlpt/content/4/41/post_{n}{i}.html", article_page(f"广东省生态环境厅文件{n}{i}", "article-content", f"2024-0{n}-1{i} 09:30"))
    feeds = poll(tmp_path, f"""
[[sources]]
catalog = "gd/gdee/gkmlpt-3155"
url = "{site.url('/gkmlpt/api/all/3155?page=1')}"
""")
    parsed = feed(feeds / "policy.atom")
    assert sorted(e.title for e in parsed.entries) == sorted(f"广东省生态环境厅文件{n}{i}" for n in (1, 2) for i in range(3))
    assert all("正文第二段" in e.content[0].value for e in parsed.entries)
    newest = max(parsed.entries, key=lambda e: e.published_parsed)
    assert newest.title == "广东省生态环境厅文件22"
    assert newest.published.startswith("2024-02-12T01:30:00")  # create_time (09:30 in Beijing), not the ingestion time


def test_ucap_preset_reads_the_search_api(site: Site, tmp_path: Path) -> None:
    api = "/common/search/8a8a1b2c?_isAgg=true&_isJson=true&_pageSize=10&_template=index&page="

    def page(n: int) -> bytes:
        rows = [] if n > 1 else [
            {"url": f"/sthj/c111945/2024010{i}/{i}abc.shtml", "title": f"黑龙江新闻{i}…", "publishedTimeStr": f"2024-01-0{i} 08:00:00"}
            for i in range(1, 4)
        ]
        return json.dumps({"data": {"total": 3, "results": rows}}, ensure_ascii=False).encode()

    for n in (1, 2):
        site.add(api + str(n), page(n), content_type="application/json")
    for i in range(1, 4):
        html = article_page(f"黑龙江新闻{i}", "article", f"2024-01-0{i} 08:00")
        # UCAP pages carry the whole title in <ucaptitle>; the list's title is cut.
        html = html.replace(b"<body>", f"<body><ucaptitle>黑龙江省生态环境厅新闻全文标题{i}</ucaptitle>".encode())
        site.add(f"/sthj/c111945/2024010{i}/{i}abc.shtml", html)
    feeds = poll(tmp_path, f"""
[[sources]]
name = "hlj-news"
preset = "ucap"
url = "{site.url(api + '1')}"
categories = ["ecology"]
""")
    parsed = feed(feeds / "ecology.atom")
    assert sorted(e.title for e in parsed.entries) == [f"黑龙江省生态环境厅新闻全文标题{i}" for i in range(1, 4)]
    assert all("这是正文第一段" in e.content[0].value for e in parsed.entries)
    assert site.hits(api.split("?")[0])  # and page 2 was asked for, empty, so paging stopped
    assert any(r.path.endswith("page=2") for r in site.requests)


# --- catalog verify --------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verify_reports_reachable_blocked_empty_and_error(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hanweb(site)
    _add_hanweb_articles(site)
    site.add("/hbyw/", Response(b"<html><head><script>var $_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.cd='x';</script>"
                                b"<script src='/4QbVtADbnLVIc/c.FxJzG50F.js'></script></head><body></body></html>", status=412))
    site.add("/empty/", "<html><body><p>栏目建设中</p></body></html>")
    dead = closed_port()
    config = write_config(tmp_path, CATEGORIES + f"""
[[sources]]
catalog = "zj/sthjt/zfjg"
url = "{site.url('/col/col1229116/index.html')}"

[[sources]]
catalog = "hb/sthjt/hbyw"
url = "{site.url('/hbyw/')}"
warmup = ""
render = false  # plain HTTP, to see the block itself (the entry's render = "auto" would try Chromium)

[[sources]]
catalog = "mee/ywdt/gsgg"
url = "{site.url('/empty/')}"

[[sources]]
catalog = "zj/sthjt/news"
url = "http://127.0.0.1:{dead}/col/col1229429478/index.html"

[[sources]]
name = "not-from-the-catalog"
url = "{site.url('/empty/')}"
""")
    store_before = set(tmp_path.iterdir())
    assert main(["catalog", "verify", "--config", str(config)]) == 1  # not every entry gave items
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("zj/", "hb/", "mee/"))}
    assert set(rows) == {"zj/sthjt/zfjg", "hb/sthjt/hbyw", "mee/ywdt/gsgg", "zj/sthjt/news"}
    assert rows["zj/sthjt/zfjg"].split()[1:6] == ["ok", "yes", "5", "2023-04-23", "title,date,body"]
    assert rows["hb/sthjt/hbyw"].split()[1:4] == ["blocked", "yes", "0"] and "blocked needs-browser" in rows["hb/sthjt/hbyw"]
    assert "$_ts" in rows["hb/sthjt/hbyw"]
    assert rows["mee/ywdt/gsgg"].split()[1:4] == ["empty", "yes", "0"]
    assert rows["zj/sthjt/news"].split()[1:4] == ["error", "no", "0"] and "network" in rows["zj/sthjt/news"]
    assert "1/4 entries gave items" in out
    assert set(tmp_path.iterdir()) == store_before  # no store, no feeds, no cookie jar

    assert main(["catalog", "verify", "--config", str(config), "--json", "zj/sthjt/zfjg"]) == 0
    (verdict,) = json.loads(capsys.readouterr().out)["entries"]
    assert verdict["status"] == "ok" and verdict["reachable"] is True and verdict["items"] == 5
    assert verdict["newest"] == "2023-04-23" and verdict["article_fields"] == ["title", "date", "body"]
    assert verdict["article_url"] == site.url("/art/2023/4/23/art_1229116_58938545.html")
    assert verdict["blocked"] is False and verdict["needs_browser"] is False and verdict["error"] is None
    assert len(site.hits("/module/jpage/dataproxy.jsp")) == 0  # once, politely: no older pages

    # The whole run as a report a user can send back: who made it, when, and each entry's failure in detail.
    assert main(["catalog", "verify", "--config", str(config), "--json"]) == 1
    run = json.loads(capsys.readouterr().out)
    assert run["tool"] == "feed-aggregator" and run["version"] == package_version() and run["host_delay"] == 0
    assert run["counts"] == {"ok": 1, "blocked": 1, "empty": 1, "error": 1}
    entries = {v["id"]: v for v in run["entries"]}
    blocked, empty, dead = entries["hb/sthjt/hbyw"], entries["mee/ywdt/gsgg"], entries["zj/sthjt/news"]
    assert (blocked["http_status"], blocked["error_kind"]) == (412, "blocked")
    assert blocked["blocked_by"] == "HTTP 412 with a `$_ts` challenge script (Ruishu)"
    assert blocked["final_url"] is None and blocked["rendered"] is None and blocked["needs_browser"] is True
    assert (empty["http_status"], empty["final_url"], empty["error_kind"]) == (200, site.url("/empty/"), "selectors-matched-nothing")
    assert (dead["http_status"], dead["error_kind"], dead["reachable"]) == (None, "network", False)
    # What the catalog said of each, beside what the run saw (the catalog's own URL: the config moved it here).
    assert empty["evidence"]["kind"] == "live-check" and empty["evidence"]["url"] == "https://www.mee.gov.cn/ywdt/gsgg/"
    assert dead["evidence"]["kind"] == "none" and dead["evidence"]["date"] is None
    assert all(v["candidate"] is None and v["checked_at"].endswith("Z") and v["seconds"] >= 0 for v in entries.values())


def test_verify_json_shows_the_rows_and_article_a_reviewer_can_check(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hanweb(site)
    _add_hanweb_articles(site)
    # The column moved: the old address redirects to the new one.
    site.add("/old/col1229116/", Response(b"", status=301, headers={"Location": "/col/col1229116/index.html"}))
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    config = write_config(tmp_path, CATEGORIES + f"""
[[sources]]
catalog = "zj/sthjt/zfjg"
url = "{site.url('/old/col1229116/')}"

[[sources]]
catalog = "zj/sthjt/news"
url = "{site.url('/private/col1229429478/index.html')}"
""")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert main(["catalog", "verify", "--config", str(config), "--json"]) == 1
    run = json.loads(capsys.readouterr().out)
    ok, refused = run["entries"]
    assert datetime.fromisoformat(run["checked_at"]) >= before
    assert ok["status"] == "ok" and ok["http_status"] == 200 and ok["requests"] == 2  # the list, then its newest article
    assert ok["url"] == site.url("/old/col1229116/") and ok["final_url"] == site.url("/col/col1229116/index.html")
    assert ok["sample"][0] == {
        "title": "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会",
        "url": site.url("/art/2023/4/23/art_1229116_58938545.html"),
        "date": "2023-04-23T00:00:00+08:00",
    }
    assert len(ok["sample"]) == 3 and ok["items"] == 5
    article = ok["article"]
    assert article["url"] == ok["article_url"] == site.url("/art/2023/4/23/art_1229116_58938545.html")
    assert (article["title"], article["date"]) == ("浙江执法文章58938545", "2023-04-23T10:15:00+08:00")
    assert article["source"] is None and article["author"] is None
    assert article["body_start"].startswith("浙江执法文章58938545：这是正文第一段") and len(article["body_start"]) <= 80
    assert article["body_chars"] == len("浙江执法文章58938545：这是正文第一段，生态环境执法检查情况通报，全文在此。 正文第二段，责令整改并处罚款。")
    assert ok["evidence"] == {
        "kind": "stored-page", "date": "2023-11", "strength": "independent", "verified": "unverified",
        "url": "https://sthjt.zj.gov.cn/col/col1202652/index.html", "source": catalog.entry("zj/sthjt/zfjg").evidence_source,
    }
    # robots.txt is honoured as in a poll: the disallowed column is not asked for.
    assert refused["status"] == "error" and refused["error_kind"] == "robots" and refused["requests"] == 1
    assert not site.hits("/private/col1229429478/index.html")

    # A maintainer turns a user's report into evidence lines; a column checked at another URL is not evidence for the entry.
    report = tmp_path / "verify-2026-12-03.json"
    report.write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    assert main(["catalog", "evidence", str(report)]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == ""
    assert f"# zj/sthjt/zfjg: checked at {site.url('/old/col1229116/')}, not the catalog's https://sthjt.zj.gov.cn/" in captured.err
    assert "# zj/sthjt/news: error: robots: robots.txt disallows" in captured.err
    # The same run as if made at the catalog's own address (a user's run is: no config overrides it).
    ok["url"] = ok["evidence"]["url"]
    report.write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    assert main(["catalog", "evidence", str(report)]) == 0
    day = ok["checked_at"][:10]
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "# zj/sthjt/zfjg",
        f'evidence = {{kind = "live-check", date = "{day}", strength = "live", source = "user run verify-2026-12-03.json'
        f' (feed-aggregator {package_version()}): HTTP 200, 5 items, newest 2023-04-23, article title, date, body",'
        f' verified = "live poll {day}"}}',
    ]
    # The line is one the catalog takes as it is.
    line = printed[1]
    (checked,) = catalog.load_file("zhejiang.toml", f'authority = "浙江省生态环境厅"\nprovince = "浙江"\n[[entries]]\n'
                                   f'id = "zj/sthjt/zfjg"\ncolumn = "c"\nurl = "{ok["url"]}"\n{line}\n')
    assert (checked.evidence_kind, checked.evidence_date, checked.verified) == ("live-check", day, f"live poll {day}")
    report.write_text("[]", encoding="utf-8")
    assert main(["catalog", "evidence", str(report)]) == 2
    err = capsys.readouterr().err
    assert "not a `catalog verify --json` report (a report has" in err and "give the file `catalog verify --json` wrote" in err
    report.write_text("{cut off", encoding="utf-8")
    assert main(["catalog", "evidence", str(report)]) == 2
    assert f"{report}: not JSON (" in capsys.readouterr().err


def test_verify_of_an_unknown_id_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "verify", "zj/sthjt/newz"]) == 2
    assert "no catalog entry 'zj/sthjt/newz'; did you mean zj/sthjt/news" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("page", "preset", "url", "first", "last"),
    [
        ("real/fgw-zj-gov-cn-article-hanweb.html", "hanweb", "https://fgw.zj.gov.cn/art/2019/3/22/art_1599567_32545437.html",
         "1-10月，全县固定资产投资完成246.79亿元", "（德清县发改局）"),
        ("sites/mee/article.html", "trs", "https://www.mee.gov.cn/ywdt/202304/t20230419_1027643.shtml",
         "为进一步发挥典型案例的警示教育作用", "附件：2023年第一批生态环境执法典型案例.pdf"),
    ],
)
def test_preset_article_selectors_read_saved_pages_of_their_platform(page: str, preset: str, url: str, first: str, last: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from aggregator.catalog.presets import PRESETS
    from aggregator.config import ArticleSelectors
    from aggregator.extract.article import extract_article
    from aggregator.extract.decode import decode_html

    zone = ZoneInfo("Asia/Shanghai")
    html = decode_html((Path(__file__).parent / "fixtures" / page).read_bytes()).text
    article = extract_article(html, url, ArticleSelectors(**PRESETS[preset]["article"]), tz=zone, now=datetime(2024, 1, 1, tzinfo=zone))
    assert article.warnings == []  # the body selector matched
    text = etree.HTML(article.content_html).xpath("string()")
    assert first in text and last in text
    assert "首页" not in text and "当前位置" not in text


def test_gd_post_entry_reads_a_guangdong_static_column(site: Site, tmp_path: Path) -> None:
    rows = "".join(
        f'<li><div class="list_table"><a class="titlelie" href="/hbwj/content/post_41423{i}.html" title="广东省生态环境厅规范性文件{i}">'
        f'广东省生态环境厅规范性文件{i}</a></div><span class="list-date">2024-03-0{i}</span></li>'
        for i in range(1, 4)
    )
    site.add("/hbwj/index.html", f"""<html><body><div class="nav"><ul><li><a href="/">首页</a></li></ul></div>
<div class="listimg_data"><ul>{rows}</ul></div><div class="page"><a href="index_2.html">下一页</a></div></body></html>""")
    for i in range(1, 4):
        site.add(f"/hbwj/content/post_41423{i}.html", article_page(f"广东省生态环境厅规范性文件{i}", "article-content", f"2024-03-0{i} 10:00"))
    feeds = poll(tmp_path, f"""
[[sources]]
catalog = "gd/gdee/hbwj"
url = "{site.url('/hbwj/index.html')}"
""")
    parsed = feed(feeds / "policy.atom")
    assert sorted(e.title for e in parsed.entries) == [f"广东省生态环境厅规范性文件{i}" for i in range(1, 4)]
    assert all("正文第二段" in e.content[0].value for e in parsed.entries)
    assert [e.published[:10] for e in sorted(parsed.entries, key=lambda e: e.title)] == ["2024-03-01", "2024-03-02", "2024-03-03"]
