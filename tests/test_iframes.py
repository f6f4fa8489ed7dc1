"""Column pages whose list is inside a same-site iframe (云南's ASP.NET pages, 陕西)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import feedparser
import pytest

from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config

NAV = "".join(f'<li><a href="/col/{n}/">栏目{n}</a></li>' for n in range(1, 8))


def column(frame_src: str) -> str:
    return (
        "<html><head><title>信息公开</title></head><body>"
        f'<ul class="nav">{NAV}</ul><div class="ny_nry"><div>'
        f'<iframe name="myFrameName" src="{frame_src}" width="100%" height="800" frameborder="0"></iframe>'
        "</div></div></body></html>"
    )


def frame_list(numbers: list[int]) -> bytes:
    rows = "".join(
        f'<tr><td><a href="read.aspx?id={n}" target="_blank">云南省生态环境厅行政处罚决定书第{n}号</a></td><td>2024-05-0{n}</td></tr>'
        for n in numbers
    )
    return f'<html><head><meta charset="gbk"></head><body><table class="list">{rows}</table></body></html>'.encode("gbk")


def read_aspx(request: Request) -> Response:
    n = request.path.split("id=")[1]
    return Response(
        f'<html><head><meta name="PubDate" content="2024-05-0{n} 09:30"></head><body><div id="zoom">'
        f"<p>决定书第{n}号：对某矿业公司处以罚款{n}0万元。</p></div></body></html>".encode()
    )


def entries(tmp_path: Path) -> list:
    parsed = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes())
    assert not parsed.bozo
    return parsed.entries


def config_for(tmp_path: Path, site: Site, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        f"""
[[sources]]
name = "yn-sthjt"
url = "{site.url('/xxgk/index.aspx')}"
{extra}
""",
    )


@pytest.mark.parametrize(
    "extra",
    ["", 'kind = "html"\nfetch_articles = true\n[sources.list]\nitem = "table.list tr"\ndate = "td + td"\n'],
    ids=["auto", "html-with-selectors"],
)
def test_the_list_is_read_from_the_iframe_and_its_links_resolve_there(tmp_path: Path, site: Site, extra: str) -> None:
    site.add("/xxgk/index.aspx", column("list/list.aspx?catid=12"), headers={"ETag": '"column-v1"'})
    site.add("/xxgk/list/list.aspx", Response(frame_list([1, 2, 3]), content_type="text/html"))
    site.add("/xxgk/list/read.aspx", read_aspx)
    config = config_for(tmp_path, site, extra)
    assert main(["poll", "--once", str(config)]) == 0
    got = entries(tmp_path)
    assert [e.title for e in got] == [f"云南省生态环境厅行政处罚决定书第{n}号" for n in (3, 2, 1)]
    assert [e.link for e in got] == [site.url(f"/xxgk/list/read.aspx?id={n}") for n in (3, 2, 1)]
    assert datetime.fromisoformat(got[0].published) == datetime.fromisoformat("2024-05-03T09:30:00+08:00")
    assert "处以罚款30万元" in got[0].content[0].value

    # The page around the frame stays the same (same ETag, same bytes); the framed list changes.
    site.add("/xxgk/list/list.aspx", Response(frame_list([1, 2, 3, 4]), content_type="text/html"))
    assert main(["poll", "--once", str(config)]) == 0
    assert entries(tmp_path)[0].title == "云南省生态环境厅行政处罚决定书第4号"


def test_a_frame_of_another_site_is_not_followed(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    other = site.url("/map/embed.html").replace("127.0.0.1", "localhost")
    site.add("/xxgk/index.aspx", column(other))
    site.add("/map/embed.html", Response(frame_list([1, 2, 3]), content_type="text/html"))
    config = config_for(tmp_path, site)
    assert main(["poll", "--once", str(config)]) == 1
    assert "yn-sthjt: FAILED selectors-matched-nothing" in capsys.readouterr().out
    assert not site.hits("/map/embed.html")


def test_try_says_the_list_came_from_the_iframe(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/xxgk/index.aspx", column("list/list.aspx?catid=12"))
    site.add("/xxgk/list/list.aspx", Response(frame_list([1, 2, 3]), content_type="text/html"))
    assert main(["try", site.url("/xxgk/index.aspx")]) == 0
    out = capsys.readouterr().out
    assert f"the page's own list is empty; read from its iframe: {site.url('/xxgk/list/list.aspx?catid=12')}" in out
    assert "云南省生态环境厅行政处罚决定书第2号" in out and site.url("/xxgk/list/read.aspx?id=2") in out


def test_a_missing_frame_document_is_the_sources_error(tmp_path: Path, site: Site) -> None:
    site.add("/xxgk/index.aspx", column("list/gone.aspx"))
    config = config_for(tmp_path, site)
    assert main(["poll", "--once", str(config)]) == 1
    with open_store(tmp_path / "store.json") as store:
        state = store.state("yn-sthjt")
    assert state.last_error_kind == "http-status" and "list/gone.aspx: HTTP 404" in (state.last_error or "")
