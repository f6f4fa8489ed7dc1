"""Kinds of list pages auto mode used to misread (issue 20), each in a small page of that kind.

What a user sees in `aggregator try URL`: item titles without the badge a link carries, every
row of a list whose rows nest a hidden sub-list, forum-style table rows read as rows (not
their cells), and a page whose list a script builds saying so instead of publishing its
sidebar.
"""

from __future__ import annotations

import logging
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.cli import main
from aggregator.config import ListSelectors
from aggregator.extract.html_list import ListPage, extract_list

from .conftest import Site, write_config

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 4, 23, 12, 0, tzinfo=SH)
BASE = "https://www.example.gov.cn/col/news/index.html"

HEAD = '<html><head><meta charset="utf-8"><title>新闻动态</title></head><body>'
NAV = '<div class="nav"><ul>' + "".join(f'<li><a href="/col/col{n}/index.html">栏目{n}</a></li>' for n in range(6)) + "</ul></div>"
FOOT = '<div class="footer"><a href="/about.html">关于我们网站</a></div></body></html>'


def page_with(main_part: str, side: str = "") -> str:
    return f'{HEAD}{NAV}<div class="main">{main_part}</div>{side}{FOOT}'


def auto(html: str) -> ListPage:
    page = extract_list(html, BASE, None, tz=SH, now=NOW)
    assert page.chosen is not None, page.warnings
    # The printed selectors, pasted into [sources.list], give the same items.
    again = extract_list(html, BASE, ListSelectors(**tomllib.loads(page.chosen)), tz=SH, now=NOW)
    assert [(i.url, i.title, i.published_text) for i in again.items] == [(i.url, i.title, i.published_text) for i in page.items]
    return page


TITLES = [
    "国务院关于进一步优化营商环境的若干意见",
    "全省春季农业生产工作会议在省城召开",
    "我省出台支持民营经济高质量发展二十条措施",
    "省政府新闻办举行一季度经济运行情况发布会",
    "关于做好2024年高校毕业生就业创业工作的通知",
]


@pytest.mark.parametrize(
    "badge",
    [
        '<span class="tag">专题</span>',  # before the title
        '<em class="label-video">视频</em>',
        "<i>[图文]</i>",
    ],
)
def test_a_badge_inside_the_link_stays_out_of_the_title(badge: str) -> None:
    rows = "".join(
        f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">{badge if n % 2 == 0 else ""}{title}</a><span>2024-05-0{n + 1}</span></li>'
        for n, title in enumerate(TITLES)
    )
    page = auto(page_with(f'<ul class="list">{rows}</ul>'))
    assert [i.title for i in page.items] == TITLES
    assert page.items[0].published_text == "2024-05-01"


def test_a_badge_after_the_title_stays_out_too_and_a_word_inside_the_title_stays() -> None:
    rows = "".join(
        f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">{title}<span class="icon">视频</span></a><span>2024-05-0{n + 1}</span></li>'
        for n, title in enumerate(TITLES[:3])
    ) + '<li><a href="/art/2024/5/9/art_1229_999.html">关于<b>第五次</b>全国经济普查公报的解读</a><span>2024-05-09</span></li>'
    page = auto(page_with(f'<ul class="list">{rows}</ul>'))
    assert [i.title for i in page.items] == [*TITLES[:3], "关于第五次全国经济普查公报的解读"]


def _policy_row(n: int, title: str, sub: bool) -> str:
    nested = (
        '<div class="jd-list" style="display:none"><ul>'
        f'<li><a href="/zhengce/2024-05/0{n + 1}/content_{700 + n}.htm">解读：{title}的政策要点</a><span>2024-05-0{n + 2}</span></li>'
        f'<li><a href="/zhengce/2024-05/0{n + 1}/content_{800 + n}.htm">图解：一图读懂{title}</a></li>'
        "</ul></div>"
        if sub
        else ""
    )
    return (
        f'<li><a href="/zhengce/content/2024-05/0{n + 1}/content_{600 + n}.htm">{title}</a>'
        f'<span class="date">2024-05-0{n + 1}</span>{nested}</li>'
    )


@pytest.mark.parametrize("every_row", [True, False])
def test_rows_that_nest_a_hidden_sub_list_are_all_items(every_row: bool) -> None:
    rows = "".join(_policy_row(n, t, every_row or n % 2 == 0) for n, t in enumerate(TITLES))
    page = auto(page_with(f'<ul class="zcwj-list">{rows}</ul>'))
    assert [i.title for i in page.items] == TITLES
    assert [i.published_text for i in page.items] == [f"2024-05-0{n + 1}" for n in range(5)]
    assert page.items[0].url == "https://www.example.gov.cn/zhengce/content/2024-05/01/content_600.htm"


DEPARTMENTS = ["市住房和城乡建设局", "市人力资源和社会保障局", "市住房和城乡建设局", "市交通运输局", "市人力资源和社会保障局"]
LETTERS = ["小区停车位收费问题咨询", "社保转移接续办理", "老旧小区加装电梯补贴", "公交线路调整建议", "灵活就业人员参保"]


def test_a_letters_table_with_several_links_per_row_is_read_by_rows() -> None:
    rows = "".join(
        f'<tr><td class="bt"><a href="/hdjl/xjxq.jsp?id={3000 + n}">{letter}</a></td>'
        f'<td><a href="/dept/{10 + n % 3}.html">{dept}</a></td>'
        f'<td><a href="/hdjl/xjxq.jsp?id={3000 + n}">已回复</a></td><td>2024-05-0{n + 1}</td></tr>'
        for n, (letter, dept) in enumerate(zip(LETTERS, DEPARTMENTS))
    )
    table = f'<table class="xj"><tr><th>信件标题</th><th>办理单位</th><th>状态</th><th>日期</th></tr>{rows}</table>'
    page = auto(page_with(table))
    assert [i.title for i in page.items] == LETTERS
    assert [i.published_text for i in page.items] == [f"2024-05-0{n + 1}" for n in range(5)]


THREADS = ["请问灵活就业人员如何办理医保", "关于小区物业费上涨的投诉", "求助社保转移", "孩子入学积分怎么计算", "老年人乘车优惠卡办理流程"]
AUTHORS = ["热心市民张先生先生", "城东老王和他的朋友们", "一个普普通通的上班族", "快乐的小市民二号", "路过的热心网友小李"]


def test_a_forum_thread_table_is_read_by_rows_not_by_its_author_cells() -> None:
    """Discuz: one <tbody> per thread; the title column holds the stories even where an author's
    name is longer than a title; the last-post link's text is a time, not a story."""
    rows = "".join(
        f'<tbody id="normalthread_{100 + n}"><tr>'
        f'<td class="icn"><a href="thread-{100 + n}-1-1.html" title="新窗口打开"><img src="/folder_new.gif"></a></td>'
        f'<th class="common"><em>[<a href="forum.php?mod=forumdisplay&amp;fid=2&amp;typeid=3">政策咨询</a>]</em> '
        f'<a href="thread-{100 + n}-1-1.html" class="s xst">{title}</a></th>'
        f'<td class="by"><cite><a href="space-uid-{50 + n}.html">{author}</a></cite><em><span title="2024-5-{n + 1}">{n + 3}&nbsp;天前</span></em></td>'
        f'<td class="num"><a href="thread-{100 + n}-1-1.html" class="xi2">{n}</a><em>{100 + n}</em></td>'
        f'<td class="by"><cite><a href="space-username-x{n}.html">回帖的网友甲乙丙</a></cite>'
        f'<em><a href="forum.php?mod=redirect&amp;tid={100 + n}&amp;goto=lastpost">2024-5-{n + 2} 10:20</a></em></td>'
        "</tr></tbody>"
        for n, (title, author) in enumerate(zip(THREADS, AUTHORS))
    )
    table = f'<div id="threadlist"><table id="threadlisttableid">{rows}</table></div>'
    page = auto(page_with(table))
    assert [i.title for i in page.items] == THREADS
    assert page.items[0].url == "https://www.example.gov.cn/col/news/thread-100-1-1.html"
    # Shown as "3 天前", with the full date in the span's title: the full date stays right later.
    assert [i.published_text for i in page.items] == [f"2024-5-{n + 1}" for n in range(5)]


SIDEBAR = '<div class="right"><div class="hot"><h3>热点专题</h3><ul>' + "".join(
    f'<li><a href="/zt/2024/zt{n}/index.html">{t}</a></li>'
    for n, t in enumerate(["优化营商环境专题专栏", "学习贯彻党的二十大精神", "安全生产月专题活动", "乡村振兴战略专题专栏", "我为群众办实事实践活动"])
) + "</ul></div></div>"

TEMPLATE_BUILT = page_with(
    '<div class="left"><div class="list-con"><ul class="news-list" id="newsList"></ul><div id="pager"></div></div></div>'
    '<script type="text/html" id="tpl-news">{{each list item}}<li><a href="{{item.url}}">{{item.title}}</a>'
    "<span>{{item.date}}</span></li>{{/each}}</script>"
    "<script>$.ajax({url: '/api/news/list', success: function (d) { $('#newsList').html(template('tpl-news', d)); }});</script>",
    SIDEBAR,
)

CONTAINER_BUILT = page_with(
    '<div class="left"><div class="tit">新闻动态</div><div id="dataList"></div></div>'
    "<script>fetch('/api/list?page=1').then(r => r.json()).then(d => {"
    " document.getElementById('dataList').innerHTML = d.rows.map(r => '<p><a href=\"' + r.url + '\">' + r.title + '</a></p>').join(''); });</script>",
    SIDEBAR,
)


@pytest.mark.parametrize("html", [TEMPLATE_BUILT, CONTAINER_BUILT], ids=["row-template", "empty-container"])
def test_a_list_built_by_a_script_is_not_replaced_by_the_sidebar(html: str) -> None:
    page = extract_list(html, BASE, None, tz=SH, now=NOW)
    assert page.items == []
    assert any("render = true" in w and "script" in w for w in page.warnings), page.warnings


def test_a_real_list_beside_an_unused_template_is_still_read() -> None:
    rows = "".join(
        f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">{t}</a><span>2024-05-0{n + 1}</span></li>' for n, t in enumerate(TITLES)
    )
    html = page_with(
        f'<ul class="list">{rows}</ul><div id="comments"></div>'
        '<script type="text/html" id="tpl">{{each list}}<p>{{$value.text}}</p>{{/each}}</script>',
        SIDEBAR,
    )
    page = auto(html)
    assert [i.title for i in page.items] == TITLES


def test_try_says_a_script_built_list_needs_render(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/col/news/index.html", TEMPLATE_BUILT)
    assert main(["try", site.url("/col/news/index.html")]) == 1
    out = capsys.readouterr().out
    assert ": 0 items\nwhat may be wrong:\n" in out and "try `--render`" in out
    assert "优化营商环境专题专栏" not in out


def test_a_poll_of_a_script_built_list_reports_that_it_needs_render(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.add("/col/news/index.html", TEMPLATE_BUILT)
    body = f'[[sources]]\nname = "news"\nurl = "{site.url("/col/news/index.html")}"\n'
    config = write_config(tmp_path, body)
    with caplog.at_level(logging.INFO):
        assert main(["poll", "--once", str(config)]) != 0
    said = caplog.text
    assert "built by a script" in said and "render = true" in said
    assert not list(tmp_path.glob("feeds/*.atom")) or "优化营商环境专题专栏" not in "".join(
        p.read_text(encoding="utf-8") for p in tmp_path.glob("feeds/*.atom")
    )


def test_an_undated_list_beside_empty_sidebar_and_ad_boxes_a_script_fills_is_still_read() -> None:
    """Empty boxes that scripts fill in a sidebar or an ad slot say nothing about the main list."""
    rows = "".join(f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">{t}</a></li>' for n, t in enumerate(TITLES))
    side = '<div class="right"><h3>热点排行</h3><ul id="hotList"></ul></div><ins class="sinaads" id="ad-newslist"></ins>'
    script = "<script>$('#hotList').load('/api/hot'); $('#ad-newslist').html(ad());</script>"
    page = auto(page_with(f'<ul class="list">{rows}</ul>{script}', side))
    assert [i.title for i in page.items] == TITLES


def test_a_search_hit_or_a_bare_emphasis_at_the_start_of_a_title_stays_in_it() -> None:
    words = ["疫情", "防汛"]
    rows = "".join(
        f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">{mark}防控工作部署会议召开第{n}次</a><span>2024-05-0{n + 1}</span></li>'
        for n, mark in enumerate([f'<em class="keyword">{words[0]}</em>', f"<em>{words[1]}</em>", "<font color=red>新</font>"])
    )
    page = auto(page_with(f'<ul class="list">{rows}</ul>'))
    assert [i.title for i in page.items] == ["疫情防控工作部署会议召开第0次", "防汛防控工作部署会议召开第1次", "新防控工作部署会议召开第2次"]


def test_a_rendered_page_is_not_judged_script_built() -> None:
    """With render = true the HTML is what the browser built: nothing more to wait for."""
    page = extract_list(TEMPLATE_BUILT, BASE, None, tz=SH, now=NOW, rendered=True)
    assert page.script_built is None and not any("render = true" in w for w in page.warnings)


def test_inline_markup_inside_a_chinese_title_adds_no_spaces() -> None:
    # A browser shows 关于<b>第五次</b>全国 as one run of text; a space stays where the page has one.
    rows = "".join(
        f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">关于<b>第{n}次</b>全国<span>“污染源”</span>普查 Q{n} <i>report</i></a>'
        f"<span>2024-05-0{n + 1}</span></li>"
        for n in range(3)
    )
    page = auto(page_with(f'<ul class="list">{rows}</ul>'))
    assert [i.title for i in page.items] == [f"关于第{n}次全国“污染源”普查 Q{n} report" for n in range(3)]


@pytest.mark.parametrize("pager", ['<div id="pageList"></div>', '<div class="page_list"></div>', '<ul id="listPage"></ul>'])
def test_an_undated_list_whose_pager_a_script_fills_is_still_read(pager: str) -> None:
    """A pager's box (laypage and the like) is empty in every page's HTML: it is not the list's."""
    rows = "".join(f'<li><a href="/art/2024/5/{n}/art_1229_{900 + n}.html">{t}</a></li>' for n, t in enumerate(TITLES))
    script = "<script>layui.laypage.render({elem: 'pageList', count: 57}); $('.page_list, #listPage').show();</script>"
    page = auto(page_with(f'<ul class="list">{rows}</ul>{pager}{script}', SIDEBAR))
    assert [i.title for i in page.items] == TITLES


def test_try_on_a_big_portal_page_whose_list_a_script_builds_says_render(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """A page with plenty of text and links besides (a long footer, a sidebar) is still not 'an article'."""
    footer = '<div class="footer">' + "<p>主办单位：某某省生态环境厅 地址：某某市某某路100号 联系电话：010-12345678 备案号：京ICP备12345678号</p>" * 20
    site.add("/col/news/index.html", CONTAINER_BUILT.replace("</body>", footer + "</div></body>"))
    assert main(["try", site.url("/col/news/index.html")]) == 1
    out = capsys.readouterr().out
    assert "built by a script" in out and "render = true" in out
    assert "reads as one text" not in out and "no group of repeated rows" not in out


def _feed_row(kind: str, n: int, title: str, dated: bool = True) -> str:
    when = f'<span class="time">{n + 1}小时前</span>' if dated else ""
    if kind == "photo":  # a picture set: headline first, three pictures, then the tag line
        body = (f'<h3><a href="/photo/{n}.html">{title}</a></h3><a href="/photo/{n}.html"><img src="/p{n}a.jpg">'
                f'<img src="/p{n}b.jpg"><img src="/p{n}c.jpg"></a><div class="tag">{when}</div>')
    elif kind == "ad":
        body = f'<a href="https://shop.example.com/promo{n}.html">{title}</a>'
    else:
        body = f'<a href="/a/2025/{n}.html"><img src="/i{n}.jpg"></a><h3><a href="/a/2025/{n}.html">{title}</a></h3><div class="tag">{when}</div>'
    return f'<div class="data_row news_{kind}">{body}</div>'


def test_a_dated_row_of_another_variant_of_the_same_block_is_an_item() -> None:
    # A news feed whose picture sets are `div.data_row.news_photo` among `div.data_row.news_article`:
    # the same kind of block (the class every row has), dated like the others, so the reader's list.
    kinds = ["article"] * 3 + ["photo"] + ["article"] * 6 + ["photo"] + ["article"] * 3
    titles = [f"{TITLES[n % 5]}（第{n}期）" for n in range(len(kinds))]
    rows = "".join(_feed_row(kind, n, title) for n, (kind, title) in enumerate(zip(kinds, titles)))
    page = auto(page_with(f'<div class="feed">{rows}</div>'))
    assert [i.title for i in page.items] == titles
    assert page.items[3].url == "https://www.example.gov.cn/photo/3.html"


def test_an_undated_row_of_another_variant_stays_out_of_a_dated_list() -> None:
    # An advertisement block styled like the rows but without a date is not a story.
    kinds = ["article"] * 4 + ["ad"] + ["article"] * 8
    rows = "".join(
        _feed_row(kind, n, f"{TITLES[n % 5]}（第{n}期）", dated=kind != "ad") for n, kind in enumerate(kinds)
    )
    page = auto(page_with(f'<div class="feed">{rows}</div>'))
    assert len(page.items) == 12
    assert all("promo" not in i.url for i in page.items)
