"""`aggregator try` says what each given selector matched and marks values that came from a fallback."""

from __future__ import annotations

import json

import pytest

from aggregator.cli import main

from .conftest import Site

LIST = """<html><body><ul class="news">
<li><a href="/a/1.html" title="第一条完整标题很长很长">第一条…</a><span>2024-05-01</span></li>
<li><a href="/a/2.html" title="第二条完整标题很长很长">第二条…</a><span>2024-05-02</span></li>
</ul></body></html>"""

ARTICLE = """<html><head><meta name="ContentSource" content="示例省生态环境厅"><title>示例文章标题很长很长</title></head>
<body><h1>示例文章标题很长很长</h1><div class="body"><p>正文内容正文内容正文内容正文内容正文内容。</p></div>
<div class="info">来源：示例日报</div></body></html>"""


def test_a_title_selector_matching_nothing_is_reported_and_its_values_marked(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list.html", LIST)
    assert main(["try", site.url("/list.html"), "--item", "ul.news li", "--title", "b", "--date", "span"]) == 0
    out = capsys.readouterr().out
    assert "--item 'ul.news li': 2 node(s)" in out
    assert "--title 'b': in 0 of 2 items  <- matched nothing" in out
    assert "--date 'span': in 2 of 2 items" in out and "--date 'span': in 2 of 2 items  <-" not in out
    assert "- 第一条完整标题很长很长  (fallback)" in out


def test_an_origin_selector_matching_nothing_marks_the_source_shown(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/art.html", ARTICLE)
    assert main(["try", site.url("/art.html"), "--article", "--origin", ".nope", "--body", ".body"]) == 0
    out = capsys.readouterr().out
    assert "--origin '.nope': 0 node(s)  <- matched nothing" in out
    assert "--body '.body': 1 node(s)" in out
    source_line = next(line for line in out.splitlines() if line.strip().startswith("source:"))
    assert "(fallback: its selector matched nothing)" in source_line
    assert main(["try", site.url("/art.html"), "--article", "--origin", ".nope", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["selectors"] == [{"option": "origin", "selector": ".nope", "matched": 0, "of": None, "fallback": True}]


def test_explain_without_config_is_an_error(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list.html", LIST)
    assert main(["try", site.url("/list.html"), "--explain"]) == 2
    assert "--config" in capsys.readouterr().err
    assert len(site.requests) == 0  # refused before fetching anything


SCRIPT_BUILT = """<html><head><meta charset="utf-8"><title>行政处罚</title><script src="/vue.js"></script></head>
<body><div id="app"><ul><li v-for="item in items"><a :href="item.url">{{ item.title }}</a></li></ul></div>
<script>new Vue({el: '#app', mounted() { axios.get('/api/list') }})</script></body></html>"""

ONE_ARTICLE = (
    '<html><head><meta charset="utf-8"><title>关于开展执法检查的通知</title></head><body><a href="/">首页</a>'
    "<h1>关于开展执法检查的通知</h1><div class='content'>"
    + "".join(f"<p>各市生态环境局：为贯彻落实生态环境保护要求，现就开展执法检查有关事项通知如下。第{i}段。</p>" for i in range(60))
    + "</div></body></html>"
)


def test_a_page_with_no_list_says_what_may_be_wrong(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/app.html", SCRIPT_BUILT)
    assert main(["try", site.url("/app.html")]) == 1
    out = capsys.readouterr().out
    assert ": 0 items\nwhat may be wrong:\n" in out
    assert "a list that a script builds after the page loads is not in the HTML" in out and "try `--render`" in out

    site.add("/article.html", ONE_ARTICLE)
    assert main(["try", site.url("/article.html")]) == 1
    out = capsys.readouterr().out
    assert "the page reads as one text" in out and "give the URL of the column page that lists them" in out
    assert "--render" not in out

    assert main(["try", site.url("/article.html"), "--json"]) == 0
    assert "not a list of articles" in json.loads(capsys.readouterr().out)["hints"][0]


def test_selectors_that_match_nothing_are_named_when_there_are_no_items(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list.html", LIST)
    assert main(["try", site.url("/list.html"), "--item", "ul.nwes li"]) == 1
    out = capsys.readouterr().out
    assert "--item 'ul.nwes li': 0 node(s)  <- matched nothing\n" in out
    assert "the item selector 'ul.nwes li' matches nothing on this page" in out

    assert main(["try", site.url("/list.html"), "--item", "ul.news li", "--link", "b@href"]) == 1
    assert "the link selector 'b@href' matches in none of the 2 items" in capsys.readouterr().out
