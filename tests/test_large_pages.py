"""A list page of tens of thousands of rows: every row read, and each link resolved once.

Time is not asserted (the machine's speed is not ours to test); the work is: the link
resolver's own counter says how many links it had to work out.
"""

from __future__ import annotations

import json

import pytest

from aggregator.cli import main
from aggregator.normalise import urls

from .conftest import Site

ROWS = 12_000  # more than the resolver's cache holds, so a second resolution of a row would show


def _page(rows: int) -> str:
    body = "".join(
        f'<li><a href="/ywdt/202304/t20230423_{i}.shtml">生态环境部召开例行新闻发布会 第{i}号</a><span>2023-04-23</span></li>\n'
        for i in range(rows)
    )
    return f'<html><head><meta charset="utf-8"><title>要闻</title></head><body><ul class="list">{body}</ul></body></html>'


def test_a_huge_list_is_read_whole_and_each_link_resolved_once(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/huge.html", _page(ROWS))
    urls._absolute_url.cache_clear()
    assert main(["try", site.url("/huge.html"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["items"]) == ROWS
    assert shown["items"][-1]["url"] == site.url(f"/ywdt/202304/t20230423_{ROWS - 1}.shtml")
    # Once by the list extractor; normalise recognises an already resolved link (it used to resolve
    # every row again, and urljoin re-read the page's URL for each of them).
    assert urls._absolute_url.cache_info().misses <= ROWS + 10


@pytest.mark.parametrize(
    ("base", "href", "want"),
    [
        ("http://a.example/x/y.html", "/a//b;p?q=1#f", "http://a.example/a//b;p?q=1#f"),
        ("http://a.example/x/y.html", "/a/../b", "http://a.example/b"),
        ("http://a.example/x/y.html", "/中文?q=值", "http://a.example/%E4%B8%AD%E6%96%87?q=%E5%80%BC"),
        ("https://b.example/", "http://a.example/p?", "http://a.example/p"),
        ("https://b.example/", "http://a.example:99999/p", None),
        ("https://b.example/", "http://a.example/p#", "http://a.example/p"),
    ],
)
def test_the_short_cuts_resolve_as_urljoin_does(base: str, href: str, want: str | None) -> None:
    assert urls.absolute_url(base, href) == want
    if want is not None:
        assert urls.absolute_url("https://elsewhere.example/z/", want) == want  # a resolved link stays itself
