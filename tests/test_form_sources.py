"""HTML lists answered only to a form POST (`[sources.request]`), over real HTTP on 127.0.0.1.

The loopback site stands in for 上海's 行政处罚 list (link.sthj.sh.gov.cn/sh/xzcf/law_enforce_list.jsp):
a GET of the list is refused, a POST with the right form gets the rows of page `pageNo`, and
the decisions it links are ordinary pages answered to a GET only. The pages are written for the
tests: they test the shape, and are no evidence for the catalog entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from lxml import etree

from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config

SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schema" / "atom_rfc4287.rng")))
LIST = "/sh/xzcf/law_enforce_list.jsp"
DETAIL = "/sh/xzcf/law_enforce_detail.jsp"
PAGES = {1: [3, 2], 2: [1]}  # pageNo -> the decisions it lists, newest first; page 3 is empty
FORM = {"schCompany": "", "schPunishReason": ""}


def title(n: int) -> str:
    return f"上海市生态环境局行政处罚决定书（沪环罚〔2026〕{n}号）"


def form_of(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def enforcement_list(notice: str = "") -> Callable[[Request], Response]:
    """Rows only for a POST carrying the site's form; validators the poll must not send back on a POST.

    `notice`: a line above the list, so the page changes while its rows stay the same."""

    def answer(request: Request) -> Response:
        if request.method != "POST":
            return Response("<html><body>请求方式错误</body></html>".encode(), status=405)
        form = form_of(request)
        rows = PAGES.get(int(form.get("pageNo", "0")), []) if FORM.items() <= form.items() else []
        items = "".join(f'<li><a href="law_enforce_detail.jsp?id={n}" target="_blank">{title(n)}</a></li>' for n in rows)
        return Response(
            f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>行政处罚</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/about.html">关于我们</a></div><p class="notice">{notice}</p>
<div class="hd">行政处罚</div><div class="bd"><ul>{items}</ul></div></body></html>""".encode(),
            headers={"ETag": '"list-v1"', "Last-Modified": "Tue, 03 Mar 2026 02:00:00 GMT"},
        )

    return answer


def decision(request: Request) -> Response:
    if request.method != "GET":
        return Response(b"GET only", status=405, content_type="text/plain")
    n = int(parse_qs(urlsplit(request.path).query)["id"][0])
    return Response(
        f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title(n)}</title>
<meta name="PubDate" content="2026-03-0{n} 10:00"></head><body><div class="nav"><a href="/">首页</a></div>
<h1>{title(n)}</h1><div id="ivs_content"><p>当事人：上海某某化工有限公司。统一社会信用代码：91310000000000000X。</p>
<p>一、环境违法事实和证据：未按规定贮存危险废物。二、行政处罚的依据、种类：罚款人民币{n}5.6万元。</p></div></body></html>""".encode()
    )


@pytest.fixture
def shanghai(site: Site) -> Site:
    site.add(LIST, enforcement_list())
    site.add(DETAIL, decision)
    return site


CATEGORIES = '[categories.enforcement]\ntitle = "执法"\n'


def catalog_source(site: Site) -> str:
    return f'{CATEGORIES}\n[[sources]]\ncatalog = "sh/sthj/xzcf"\nurl = "{site.url(LIST)}"\n'


def feed(tmp_path: Path, name: str = "enforcement") -> feedparser.FeedParserDict:
    raw = (tmp_path / "feeds" / f"{name}.atom").read_bytes()
    SCHEMA.assertValid(etree.fromstring(raw))
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def list_posts(site: Site) -> list[dict[str, str]]:
    hits = site.hits(LIST)
    assert all(r.method == "POST" for r in hits), [r.method for r in hits]
    return [form_of(r) for r in hits]


def test_the_catalog_entry_posts_its_form_pages_by_pageNo_and_publishes_the_decisions(
    tmp_path: Path, shanghai: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, catalog_source(shanghai))
    assert main(["poll", "--once", str(config)]) == 0
    assert "sh-sthj-xzcf: 3 found, 3 new" in capsys.readouterr().out
    parsed = feed(tmp_path)
    assert [e.title for e in parsed.entries] == [title(n) for n in (3, 2, 1)]
    assert [e.link for e in parsed.entries] == [shanghai.url(f"{DETAIL}?id={n}") for n in (3, 2, 1)]
    # Each entry has its decision's full text and date, read from its page with a GET.
    assert "罚款人民币35.6万元" in parsed.entries[0].content[0].value
    assert "上海某某化工有限公司" in parsed.entries[2].content[0].value
    assert parsed.entries[0].published.startswith("2026-03-03")
    assert {r.method for r in shanghai.hits(DETAIL)} == {"GET"}
    # The first poll backfills: pageNo 1, then 2, then 3, which is empty and ends it.
    assert list_posts(shanghai) == [{**FORM, "pageNo": str(n)} for n in (1, 2, 3)]
    assert all(r.headers["content-type"] == "application/x-www-form-urlencoded" for r in shanghai.hits(LIST))

    # Nothing changed: the same POST of page 1 only, without ETag or date (a GET's validators); the answer's
    # hash is the one of the last poll, so it is not read again and the feeds stay byte for byte.
    published = (tmp_path / "feeds" / "enforcement.atom").read_bytes()
    assert main(["poll", "--once", str(config)]) == 0
    assert "sh-sthj-xzcf: not modified" in capsys.readouterr().out
    assert list_posts(shanghai)[3:] == [{**FORM, "pageNo": "1"}]
    assert not {"if-none-match", "if-modified-since"} & set(shanghai.hits(LIST)[3].headers)
    assert (tmp_path / "feeds" / "enforcement.atom").read_bytes() == published
    # The page changes around the same rows: read again, nothing new, no older pages.
    shanghai.add(LIST, enforcement_list("系统将于周末维护"))
    assert main(["poll", "--once", str(config)]) == 0
    assert "sh-sthj-xzcf: 2 found, 0 new, 0 changed" in capsys.readouterr().out
    assert list_posts(shanghai)[4:] == [{**FORM, "pageNo": "1"}]
    assert (tmp_path / "feeds" / "enforcement.atom").read_bytes() == published
    with open_store(tmp_path / "store.json") as store:
        assert store.state("sh-sthj-xzcf").last_error is None


def test_a_source_written_by_hand_finds_the_list_of_a_post_and_sends_its_headers(tmp_path: Path, shanghai: Site) -> None:
    config = write_config(
        tmp_path,
        f"""{CATEGORIES}
[[sources]]
name = "sh-xzcf"
url = "{shanghai.url(LIST)}"
categories = ["enforcement"]
backfill_pages = 1
[sources.request]
method = "POST"
form = {{ schCompany = "", schPunishReason = "", pageNo = "{{page}}" }}
headers = {{ X-Requested-With = "XMLHttpRequest" }}
[sources.list]
item = "div.bd li"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    parsed = feed(tmp_path)
    assert sorted(e.title for e in parsed.entries) == sorted(title(n) for n in (1, 2, 3))
    assert all("罚款人民币" in e.content[0].value for e in parsed.entries)
    assert list_posts(shanghai) == [{**FORM, "pageNo": "1"}, {**FORM, "pageNo": "2"}]
    # The request's headers go with the list's POSTs, not with the article pages.
    assert all(r.headers.get("x-requested-with") == "XMLHttpRequest" for r in shanghai.hits(LIST))
    assert not any("x-requested-with" in r.headers for r in shanghai.hits(DETAIL))


def test_without_the_request_table_the_refused_get_is_the_sources_error(tmp_path: Path, shanghai: Site) -> None:
    """What the form POST is for: the same source asked with a GET gets nothing."""
    config = write_config(tmp_path, f'[[sources]]\nname = "sh-get"\nkind = "html"\nurl = "{shanghai.url(LIST)}"\n')
    assert main(["poll", "--once", str(config)]) == 1
    with open_store(tmp_path / "store.json") as store:
        assert "405" in (store.state("sh-get").last_error or "")


def test_try_and_catalog_verify_send_the_post(tmp_path: Path, shanghai: Site, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, catalog_source(shanghai))
    assert main(["try", "--config", str(config), "--source", "sh-sthj-xzcf"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"list {shanghai.url(LIST)}: 3 items")  # the entry's backfill, as a first poll reads
    assert all(title(n) in out for n in (1, 2, 3))
    # A URL given with --source replaces the source's own; the form stays.
    other = shanghai.url(LIST + "?from=try")
    assert main(["try", other, "--config", str(config), "--source", "sh-sthj-xzcf", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [item["title"] for item in payload["items"]][:2] == [title(3), title(2)]
    assert shanghai.hits(LIST)[-1].method == "POST"

    posts_before = len(shanghai.hits(LIST))
    assert main(["catalog", "verify", "--config", str(config)]) == 0
    assert "sh/sthj/xzcf" in capsys.readouterr().out
    assert list_posts(shanghai)[posts_before:] == [{**FORM, "pageNo": "1"}]
    assert not list(tmp_path.glob("store.json*"))  # neither writes the store


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('kind = "html"\n[sources.request]\nform = { pageNo = "{page}" }\n',
         'sources[0].request (source "a"): `form` and `body` are sent only with a POST: add method = "POST" beside them'),
        ('kind = "html"\n[sources.request]\nmethod = "POST"\nform = { a = "1" }\nbody = { a = 1 }\n',
         "give either `form` or `body`, not both"),
        ('kind = "html"\n[sources.request]\nmethod = "POST"\nnext_page = "page=2"\n', "no {page} placeholder"),
        ('kind = "html"\n[sources.request]\nmethod = "POST"\nfrom = { a = "1" }\n', "unknown key 'from'; allowed: body, form,"),
        ('kind = "html"\nrender = true\n[sources.request]\nmethod = "POST"\nform = { a = "1" }\n',
         'sources[0].render (source "a"): render = true loads the list in the browser, which cannot send the form POST'),
        ('kind = "json"\njson = { items = "list" }\n[sources.request]\nmethod = "POST"\n',
         "put method, form, body, headers and next_page in [sources.json]"),
        ('kind = "feed"\n[sources.request]\nmethod = "POST"\n', 'a "feed" source is asked for with GET'),
    ],
    ids=["form-without-post", "form-and-body", "next-page-without-page", "unknown-key", "render-true", "json-kind", "feed-kind"],
)
def test_a_wrong_request_table_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, message: str
) -> None:
    config = write_config(tmp_path, f'[[sources]]\nname = "a"\nurl = "http://127.0.0.1/list.jsp"\n{source}')
    assert main(["check", str(config)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert f"{config}:" in err  # with the file (and line) to fix


@pytest.mark.parametrize("wrong", ['form = { pageNo = "{page}" }\n', 'method = "POST"\nform = { a = "1" }\nbody = { a = 1 }\n'])
def test_a_request_table_of_the_wrong_shape_is_pointed_at_by_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], wrong: str
) -> None:
    # Not the [[sources]] header above it: the table to change.
    config = write_config(tmp_path, f'[[sources]]\nname = "a"\nurl = "http://127.0.0.1/list.jsp"\nkind = "html"\n[sources.request]\n{wrong}')
    at = config.read_text(encoding="utf-8").splitlines().index("[sources.request]") + 1
    assert main(["check", str(config)]) == 2
    assert f"{config}:{at}: sources[0].request (source \"a\"): " in capsys.readouterr().err


def test_render_auto_is_allowed_with_a_post(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(
        tmp_path,
        '[[sources]]\nname = "a"\nkind = "html"\nurl = "http://127.0.0.1/list.jsp"\nrender = "auto"\n'
        '[sources.request]\nmethod = "POST"\nform = { pageNo = "{page}" }\n',
    )
    assert main(["check", str(config)]) == 0, capsys.readouterr().err


def test_next_page_pages_a_get_list_by_its_url(tmp_path: Path, site: Site) -> None:
    def column(request: Request) -> Response:
        page = int(parse_qs(urlsplit(request.path).query).get("page", ["1"])[0])
        rows = "".join(f'<li><a href="/art/{n}.html">{title(n)}</a><span>2026-03-0{n}</span></li>' for n in PAGES.get(page, []))
        return Response(f'<html><body><ul class="list">{rows}</ul></body></html>'.encode())

    site.add("/xzcf/list.jsp", column)
    config = write_config(
        tmp_path,
        f"""[[sources]]
name = "by-url"
kind = "html"
url = "{site.url('/xzcf/list.jsp?type=cf&page=1')}"
fetch_articles = false
backfill_pages = 2
[sources.request]
next_page = "page={{page}}"
[sources.list]
item = "ul.list li"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    assert [e.title for e in feed(tmp_path, "all").entries] == [title(n) for n in (3, 2, 1)]
    hits = site.hits("/xzcf/list.jsp")
    assert {r.method for r in hits} == {"GET"}
    assert [urlsplit(r.path).query for r in hits] == ["type=cf&page=1", "type=cf&page=2", "type=cf&page=3"]
