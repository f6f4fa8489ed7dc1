"""`kind = "json"` sources: list APIs of government CMS platforms, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest

from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config

SHANGHAI_NOON = 1714536000  # 2024-05-01 12:00 +08:00


def gkmlpt(request: Request) -> Response:
    """Guangdong's gkmlpt column API: two pages of `articles`, then an empty page."""
    page = int(parse_qs(urlsplit(request.path).query).get("page", ["1"])[0])
    numbers = {1: [3, 2], 2: [1]}.get(page, [])
    articles = [
        {
            "id": n,
            "title": f"广东省生态环境厅行政处罚决定书（粤环罚〔2024〕{n}号）",
            "url": f"/gkmlpt/content/4/4{n}/post_44{n}.html#3155",
            "created_at": SHANGHAI_NOON - n * 86400,
        }
        for n in numbers
    ]
    return Response(json.dumps({"total": 3, "articles": articles}, ensure_ascii=False).encode(), content_type="application/json")


def article_page(request: Request) -> Response:
    n = request.path.split("post_44")[1].split(".")[0]
    return Response(
        f"""<html><head><meta name="ArticleTitle" content="广东省生态环境厅行政处罚决定书（粤环罚〔2024〕{n}号）">
<meta name="PubDate" content="2024-04-2{n} 12:00"></head><body><div class="article-content">
<p>当事人：某某化工有限公司。你单位超标排放水污染物，决定罚款{n}0万元。</p></div></body></html>""".encode()
    )


def ucap(request: Request) -> Response:
    results = [
        {"title": "四川省生态环境厅关于2024年第一季度环境执法情况的通报", "url": "https://sthjt.sc.gov.cn/sthjt/c104/2024/5/6/a1.shtml",
         "publishedTimeStr": "2024-05-06 10:30:00", "summary": "一季度共办理环境行政处罚案件120件。"},
        {"title": "四川省生态环境厅行政处罚信息公开表", "url": "/sthjt/c104/2024/4/30/a2.shtml",
         "publishedTimeStr": "2024-04-30 09:00:00", "summary": "罚款合计350万元。"},
    ]
    return Response(json.dumps({"code": 0, "data": {"total": 2, "results": results}}, ensure_ascii=False).encode(),
                    content_type="application/json;charset=UTF-8")


def entries(tmp_path: Path, feed: str = "all") -> list:
    parsed = feedparser.parse((tmp_path / "feeds" / f"{feed}.atom").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return parsed.entries


def gd_source(site: Site, extra: str = "") -> str:
    return f"""
[categories.enforcement]
title = "执法"
rules = {{ include = ["罚款"] }}

[[sources]]
name = "gd-sthjt-xzcf"
kind = "json"
url = "{site.url('/gkmlpt/api/all/3155?page=1')}"
{extra}
[sources.json]
items = "articles"
title = "title"
link = "url"
date = "created_at"
next_page = "page={{page}}"
"""


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-process"])
def test_gkmlpt_api_with_two_pages_publishes_every_article_with_its_page(tmp_path: Path, site: Site, workers: int) -> None:
    site.add("/gkmlpt/api/all/3155", gkmlpt)
    site.add("/gkmlpt/content/4/43/post_443.html", article_page)
    site.add("/gkmlpt/content/4/42/post_442.html", article_page)
    site.add("/gkmlpt/content/4/41/post_441.html", article_page)
    config = write_config(tmp_path, gd_source(site, "backfill_pages = 3"), workers=workers)
    assert main(["poll", "--once", str(config)]) == 0
    got = entries(tmp_path, "enforcement")
    assert [e.title for e in got] == [f"广东省生态环境厅行政处罚决定书（粤环罚〔2024〕{n}号）" for n in (3, 2, 1)]
    assert [e.link for e in got] == [site.url(f"/gkmlpt/content/4/4{n}/post_44{n}.html#3155") for n in (3, 2, 1)]
    # The article page's date and body (its PubDate, in China time) beat the API's.
    assert datetime.fromisoformat(got[0].published) == datetime.fromisoformat("2024-04-23T12:00:00+08:00")
    assert "决定罚款30万元" in got[0].content[0].value
    # Pages 2 and 3 were read (3 is empty: the end), and nothing beyond.
    pages = sorted(parse_qs(urlsplit(r.path).query)["page"][0] for r in site.hits("/gkmlpt/api/all/3155"))
    assert pages == ["1", "2", "3"]
    assert "json" in site.hits("/gkmlpt/api/all/3155")[0].headers["accept"]
    # Later polls read the first page only.
    assert main(["poll", "--once", str(config)]) == 0
    assert len(site.hits("/gkmlpt/api/all/3155")) == 4


def test_unix_seconds_are_the_date_when_articles_are_not_fetched(tmp_path: Path, site: Site) -> None:
    site.add("/gkmlpt/api/all/3155", gkmlpt)
    config = write_config(tmp_path, gd_source(site, "fetch_articles = false"))
    assert main(["poll", "--once", str(config)]) == 0
    got = entries(tmp_path)
    # Newest first: item 2 is a day younger than item 3.
    assert [e.title for e in got] == [f"广东省生态环境厅行政处罚决定书（粤环罚〔2024〕{n}号）" for n in (2, 3)]
    published = datetime.fromisoformat(got[0].published)
    assert published == datetime.fromtimestamp(SHANGHAI_NOON - 2 * 86400, timezone.utc)


def test_ucap_common_search_api_with_text_dates_and_summaries(tmp_path: Path, site: Site) -> None:
    site.add("/common/search/8a1d", ucap)
    url = site.url("/common/search/8a1d?_isAgg=true&_isJson=true&_pageSize=10&_template=index&page=1")
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "sc-sthjt"
kind = "json"
url = "{url}"
[sources.json]
items = "data.results"
link = "url"
date = "publishedTimeStr"
summary = "summary"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    got = entries(tmp_path)
    assert [e.link for e in got] == ["https://sthjt.sc.gov.cn/sthjt/c104/2024/5/6/a1.shtml", site.url("/sthjt/c104/2024/4/30/a2.shtml")]
    # Text dates are China time.
    assert datetime.fromisoformat(got[0].published) == datetime.fromisoformat("2024-05-06T10:30:00+08:00")
    assert got[1].summary == "罚款合计350万元。"
    assert not any(r.path.startswith("/sthjt/") for r in site.requests)  # summaries given: no article fetches


def test_post_form_and_json_body_with_headers(tmp_path: Path, site: Site) -> None:
    def portlet(request: Request) -> Response:
        if request.method != "POST":
            return Response(b"POST only", status=405, content_type="text/plain")
        if request.headers.get("content-type", "").startswith("application/json"):
            asked = json.loads(request.body)
        else:
            asked = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        rows = [{"name": f"辽宁省生态环境厅信息公开第{asked['pageNo']}页第{i}条", "link": f"/info/{asked['pageNo']}-{i}.html",
                 "date": "2024-05-0" + str(i)} for i in (1, 2)]
        return Response(json.dumps({"result": rows, "x": request.headers.get("x-requested-with")}, ensure_ascii=False).encode(),
                        content_type="application/json")

    site.add("/portlet", portlet)
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "ln-form"
kind = "json"
url = "{site.url('/portlet')}"
fetch_articles = false
backfill_pages = 1
[sources.json]
items = "result"
title = "name"
link = "link"
date = "date"
method = "POST"
form = {{ pageNo = "{{page}}", pageSize = "20" }}
headers = {{ X-Requested-With = "XMLHttpRequest" }}

[[sources]]
name = "ln-body"
kind = "json"
url = "{site.url('/portlet')}"
fetch_articles = false
[sources.json]
items = "result"
title = "name"
link = "link"
method = "POST"
body = {{ pageNo = 7, filter = {{ type = "xzcf" }} }}
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    titles = {e.title for e in entries(tmp_path)}
    assert {"辽宁省生态环境厅信息公开第1页第1条", "辽宁省生态环境厅信息公开第2页第2条", "辽宁省生态环境厅信息公开第7页第1条"} <= titles
    assert len(titles) == 6
    form_requests = [r for r in site.hits("/portlet") if not r.headers["content-type"].startswith("application/json")]
    assert [parse_qs(r.body.decode())["pageNo"] for r in form_requests] == [["1"], ["2"]]
    assert all(r.headers["x-requested-with"] == "XMLHttpRequest" for r in form_requests)
    body = next(r for r in site.hits("/portlet") if r.headers["content-type"].startswith("application/json"))
    assert json.loads(body.body) == {"pageNo": 7, "filter": {"type": "xzcf"}}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Response("<html><body>系统维护中</body></html>".encode()), "the answer is not JSON"),
        (Response(b'{"data": {"list": []}, "code": 0}', content_type="application/json"),
         "`items = 'articles'` found nothing in the answer (its top-level keys: code, data)"),
        (Response(b'{"articles": {"a": 1}}', content_type="application/json"), "`items = 'articles'` found a dict, not a list"),
        (Response(b'{"articles": []}', content_type="application/json"), "`items = 'articles'` is an empty list"),
    ],
)
def test_a_bad_answer_is_the_sources_clear_error(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str], answer: Response, error: str
) -> None:
    site.add("/gkmlpt/api/all/3155", answer)
    config = write_config(tmp_path, gd_source(site))
    assert main(["poll", "--once", str(config)]) == 1
    with open_store(tmp_path / "store.json") as store:
        state = store.state("gd-sthjt-xzcf")
    assert error in (state.last_error or ""), state.last_error
    capsys.readouterr()
    assert main(["status", str(config)]) == 1
    assert error[:40] in capsys.readouterr().out


def test_try_prints_what_a_poll_of_a_json_source_would_store(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/gkmlpt/api/all/3155", gkmlpt)
    config = write_config(tmp_path, gd_source(site, "backfill_pages = 1"))
    assert main(["try", "--config", str(config), "--source", "gd-sthjt-xzcf", "--explain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"json {site.url('/gkmlpt/api/all/3155?page=1')}: 3 items")
    assert "广东省生态环境厅行政处罚决定书（粤环罚〔2024〕1号）" in out  # from page 2
    assert "2024-04-30T12:00:00+08:00" in out
    # Ad hoc, without a config:
    assert main(["try", site.url("/gkmlpt/api/all/3155?page=2"), "--kind", "json", "--items", "articles", "--date", "created_at", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kind"] == "json"
    assert [item["title"] for item in payload["items"]] == ["广东省生态环境厅行政处罚决定书（粤环罚〔2024〕1号）"]
    assert not list(tmp_path.glob("store.json*"))  # try never writes the store


def test_config_errors_name_the_json_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for body, message in [
        ('[[sources]]\nname = "a"\nkind = "json"\nurl = "http://127.0.0.1/x"\n', 'kind = "json" needs a [sources.json] table'),
        ('[[sources]]\nname = "a"\nkind = "json"\nurl = "http://127.0.0.1/x"\n[sources.json]\nitems = "articles[?"\n',
         "is not a JMESPath expression"),
        ('[[sources]]\nname = "a"\nkind = "json"\nurl = "http://127.0.0.1/x"\n[sources.json]\nitems = "a"\nform = { p = "1" }\n',
         'sent only with a POST: add method = "POST" beside them'),
        ('[[sources]]\nname = "a"\nkind = "json"\nurl = "http://127.0.0.1/x"\n[sources.json]\nitems = "a"\nnext_page = "page=2"\n',
         "no {page} placeholder"),
        ('[[sources]]\nname = "a"\nkind = "json"\nurl = "http://127.0.0.1/x"\n[sources.json]\nitem = "a"\n', "unknown key 'item'"),
    ]:
        config = write_config(tmp_path, body)
        assert main(["check", str(config)]) == 2
        err = capsys.readouterr().err
        assert message in err, err


def test_one_item_with_a_summary_does_not_stop_article_pages_for_the_others(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    def partly_summarised(request: Request) -> Response:
        answer = json.loads(gkmlpt(request).body)
        if answer["articles"]:
            answer["articles"][0]["summary"] = "只有这一条有摘要。"
        return Response(json.dumps(answer, ensure_ascii=False).encode(), content_type="application/json")

    site.add("/gkmlpt/api/all/3155", partly_summarised)
    site.add("/gkmlpt/content/4/43/post_443.html", article_page)
    site.add("/gkmlpt/content/4/42/post_442.html", Response(b"gone", status=404))
    source = gd_source(site).replace('date = "created_at"', 'date = "created_at"\nsummary = "summary"')
    config = write_config(tmp_path, source)
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 0
    got = {e.title: e for e in entries(tmp_path)}
    assert "决定罚款30万元" in got["广东省生态环境厅行政处罚决定书（粤环罚〔2024〕3号）"].content[0].value
    # The page that failed is said in the poll's line, with its URL, not only counted.
    out = capsys.readouterr()
    assert site.url("/gkmlpt/content/4/42/post_442.html") in out.out + out.err
