"""The main news list found without selectors: real list pages and the hard cases in small pages.

Each test asserts what `aggregator try URL` shows a user: how many items, their
titles, links and dates, and that the printed selectors, pasted into
`[sources.list]`, give the same items.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.cli import main
from aggregator.config import ListSelectors
from aggregator.extract.decode import decode_html
from aggregator.extract.html_list import ListPage, extract_list
from aggregator.normalise.dates import parse_date

from .conftest import Site

REAL = Path(__file__).parent / "fixtures" / "real"
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 4, 23, 12, 0, tzinfo=SH)


def auto(html: str, url: str) -> ListPage:
    page = extract_list(html, url, None, tz=SH, now=NOW)
    assert page.chosen is not None
    # The printed choice is valid TOML and selects the same items as explicit selectors.
    again = extract_list(html, url, ListSelectors(**tomllib.loads(page.chosen)), tz=SH, now=NOW)
    assert [(i.url, i.title, i.published_text) for i in again.items] == [(i.url, i.title, i.published_text) for i in page.items]
    return page


def real(name: str, url: str) -> ListPage:
    return auto(decode_html((REAL / name).read_bytes()).text, url)


def first_three(page: ListPage) -> list[tuple[str, str, str | None]]:
    return [(i.title, i.url, i.published_text) for i in page.items[:3]]


def test_gov_column_with_breadcrumb_and_off_site_links() -> None:
    page = real("l01_sh_wsjkw_yqtb.html", "https://wsjkw.sh.gov.cn/yqtb/index.html")
    assert len(page.items) == 20  # the 3 breadcrumb links are not items
    assert first_three(page) == [
        ("4月26日（0-24时）本市各区确诊病例、无症状感染者居住地信息", "https://mp.weixin.qq.com/s/SIuDbITNdgWwYyM3eiyrgg", "2022-04-27"),
        ("【最新】4月25日（0-24时）本市各区确诊病例、无症状感染者居住地信息", "https://mp.weixin.qq.com/s/IrtFkZDWaB6io18QXwuQ9g", "2022-04-26"),
        (
            "上海2022年4月25日，新增本土新冠肺炎确诊病例1661例 新增本土无症状感染者15319例 无新增境外输入性新冠肺炎确诊病例 无新增境外输入性无症状感染者",
            "https://wsjkw.sh.gov.cn/xwfb/20220426/d4d847dcf3f64fcab102cf5a65656891.html",
            "2022-04-26",
        ),
    ]


def test_rows_with_image_link_title_link_and_keyword_links() -> None:
    page = real("l02_netease_international.html", "https://news.163.com/world/")
    assert len(page.items) == 140  # the first row's extra class keeps it in; the 10-item sidebar stays out
    assert first_three(page) == [
        ("巴西批准中国疫苗在当地试验 条件包括技术转让", "http://dy.163.com/v2/article/detail/FGN4GBNK0519EO06.html", "26分钟前"),
        ("港民请愿要求政府限制干预香港事务的美官员入境", "https://news.163.com/20/0704/20/FGNHO51U0001899O.html", "42分钟前"),
        ("超18国新增确诊过千例 印度连续2天现单日最大增幅", "https://news.163.com/20/0704/20/FGNH490T0001899O.html", "53分钟前"),
    ]
    assert parse_date(page.items[0].published_text or "", SH, NOW) == datetime(2025, 4, 23, 11, 34, tzinfo=SH)


def test_rows_that_are_card_links_take_the_title_element_and_the_date_inside() -> None:
    page = real("l04_ifeng_finance.html", "https://finance.ifeng.com/")
    assert len(page.items) == 25  # not the hotspot and click-rank lists beside it
    assert first_three(page) == [
        ("特朗普最新发声：无意解雇鲍威尔，但美联储应该降息", "https://finance.ifeng.com/c/8imMT581rlL", "04-23 07:37"),
        ("超级大牛股，在欧美卖爆了", "https://finance.ifeng.com/c/8imNC5LouR7", "04-23 07:27"),
        ("历史一刻，最高暴涨9800%", "https://finance.ifeng.com/c/8ilmtJ94bik", "04-23 00:59"),
    ]
    assert all("评" not in i.title for i in page.items)  # the comment count is not part of a title


def test_main_list_not_the_same_shaped_carousel_in_the_sidebar() -> None:
    page = real("l06_qbitai.html", "https://www.qbitai.com/")
    assert len(page.items) == 20
    assert first_three(page) == [
        ("本周三！机器人与数字化转型应用解析，线上研讨会诚邀你来围观", "https://www.qbitai.com/2025/04/275909.html", "2小时前"),
        ("21岁学生开发AI作弊工具被哥大停学，转入拿下530万美元融资", "https://www.qbitai.com/2025/04/275835.html", "5小时前"),
        ("3D高斯泼溅算法大漏洞：数据投毒让GPU显存暴涨70GB，甚至服务器宕机", "https://www.qbitai.com/2025/04/275649.html", "5小时前"),
    ]
    assert "div.article_list" in (page.chosen or "")


def test_date_grouped_list_gives_each_row_its_day() -> None:
    page = real("l08_aibot.html", "https://ai-bot.cn/daily-ai-news/")
    # 535 rows, each its own story: 12 of them link a page an earlier row links, under another headline.
    assert len(page.items) == 535
    assert not any("repeat a link" in w for w in page.warnings)
    trae = [item.title for item in page.items if item.url == "https://ai-bot.cn/trae/"]
    assert len(trae) == 4 and len(set(trae)) == 4
    assert first_three(page) == [
        ("智能无限，协作无间｜你的专属AI工程师 Trae 全新登场！", "https://mp.weixin.qq.com/s/B5Mfat-h2t-o06a2nrMF8A", "4月22日"),
        ("登榜！Vidu Q1全球文生视频第一、图生视频榜单双专项第一", "https://mp.weixin.qq.com/s/UHOYgeu5b6G6Cjagw3s5Cg", "4月22日"),
        ("百度发布移动端通用 Agent 产品「心响」", "https://ai-bot.cn/xinxiang/", "4月22日"),
    ]
    # A later day's rows get that day, not a number from their summary ("提升2-3倍").
    genie = next(i for i in page.items if "Genie Studio" in i.title)
    assert genie.published_text == "4月22日"
    coze = next(i for i in page.items if i.title.startswith("扣子空间正式上线"))
    assert coze.published_text == "4月21日"


def test_pdf_attachment_list_beside_its_tab_menu() -> None:
    page = real("fund-announcement-list.html", "https://www.hrfund.com.cn/main/zxzx/xxpl/index.shtml")
    assert len(page.items) == 10
    assert [i.published_text for i in page.items[:3]] == ["2020-04-30", "2020-04-27", "2020-04-27"]
    assert all(i.url.endswith(".pdf") and not i.title.startswith("PDF") for i in page.items)


# ------------------------------------------------------------- small pages, one hard case each

BASE = "https://www.example.gov.cn/col/news/index.html"
ROWS = "".join(
    f'<li><a href="/art/2024/5/{20 - n}/art_1229_{5800 + n}.html">关于开展第{n + 1}批生态环境执法专项检查工作的通知</a>'
    f'<span class="date">2024-05-{20 - n:02d}</span></li>'
    for n in range(6)
)


def page_with(*blocks: str) -> str:
    return f"<html><body>{''.join(blocks)}</body></html>"


TABS = (
    '<ul class="tabs"><li class="on"><a href="/col/news/">生态环境动态</a></li>'
    '<li><a href="/col/notice/">通知公告栏目</a></li><li><a href="/col/policy/">政策法规文件</a></li></ul>'
)


def test_tabs_beside_the_list_are_not_chosen_and_the_choice_says_so() -> None:
    page = auto(page_with(f'<div class="box">{TABS}<ul class="list">{ROWS}</ul></div>'), BASE)
    assert len(page.items) == 6
    assert page.items[0].url == "https://www.example.gov.cn/art/2024/5/20/art_1229_5800.html"
    assert page.items[0].published_text == "2024-05-20"
    first_line = (page.chosen or "").splitlines()[0]
    assert first_line.startswith("# chose `ul.list > li` (6 items, dated) over `ul.tabs > li` (3 items, no dates)")


def test_a_longer_undated_hot_list_loses_to_the_dated_list() -> None:
    hot = "".join(f'<li><a href="/art/2023/1/{n + 1}/art_77_{900 + n}.html">热门文章排行第{n + 1}名的标题文字</a></li>' for n in range(12))
    page = auto(page_with(f'<div class="c1"><ul class="a">{ROWS}</ul></div><div class="c2"><ul class="b">{hot}</ul></div>'), BASE)
    assert len(page.items) == 6
    assert all(i.published_text for i in page.items)
    assert "`ul.b > li` (12 items, no dates)" in (page.chosen or "")


def test_a_footer_link_farm_of_more_links_loses() -> None:
    sites = ["中国政府网", "生态环境部网站", "国家发展改革委", "自然资源部网站", "水利部门户网站", "农业农村部网站"] * 4
    farm = "".join(f'<li><a href="http://www.site{n}.gov.cn/">{name}</a></li>' for n, name in enumerate(sites))
    page = auto(page_with(f'<div class="main"><ul class="news">{ROWS}</ul></div><div class="bottom"><ul>{farm}</ul></div>'), BASE)
    assert [i.title for i in page.items][:1] == ["关于开展第1批生态环境执法专项检查工作的通知"]
    assert len(page.items) == 6


def test_titles_cut_with_an_ellipsis_come_whole_from_the_title_attribute() -> None:
    rows = "".join(
        f'<li><a href="/art/2024/5/{9 - n}/art_12_{n}.html" title="浙江省生态环境厅关于2024年第{n + 1}季度重点排污单位名录调整情况的公示">'
        f"浙江省生态环境厅关于2024年第{n + 1}季度重点…</a><span>2024-05-0{9 - n}</span></li>"
        for n in range(4)
    )
    page = auto(page_with(f'<ul class="list">{rows}</ul>'), BASE)
    assert [i.title for i in page.items][:2] == [
        "浙江省生态环境厅关于2024年第1季度重点排污单位名录调整情况的公示",
        "浙江省生态环境厅关于2024年第2季度重点排污单位名录调整情况的公示",
    ]
    assert 'title = "a@title"' in (page.chosen or "")


@pytest.mark.parametrize("badge", ['<span class="tag">PDF</span>', "<em>置顶</em>"])
def test_a_badge_inside_the_row_is_not_part_of_the_title(badge: str) -> None:
    rows = "".join(
        f'<li>{badge}<a href="/files/2024/05/report_{n}.pdf">2023年度第{n + 1}号生态环境状况公报全文</a><i>2024-05-1{n}</i></li>' for n in range(4)
    )
    page = auto(page_with(f'<ul class="list">{rows}</ul>'), BASE)
    assert [i.title for i in page.items] == [f"2023年度第{n + 1}号生态环境状况公报全文" for n in range(4)]
    assert page.items[0].url == "https://www.example.gov.cn/files/2024/05/report_0.pdf"


def test_try_prints_the_list_it_chose_and_the_ones_it_did_not(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/col/news/index.html", page_with(f'<div class="box">{TABS}<ul class="list">{ROWS}</ul></div>'))
    assert main(["try", site.url("/col/news/index.html")]) == 0
    out = capsys.readouterr().out
    assert "6 items" in out and "关于开展第1批生态环境执法专项检查工作的通知" in out
    assert "# chose `ul.list > li` (6 items, dated) over `ul.tabs > li` (3 items, no dates)" in out
    assert 'item = "ul.list > li"' in out


NAV = '<div class="menu"><ul>' + "".join(f'<li><a href="/col/col{n}/index.html">栏目名称第{n}个</a></li>' for n in range(8)) + "</ul></div>"


def notice(n: int) -> str:
    return f'<a href="/art/2024/5/{n + 1}/art_1_{n}.html">关于印发生态环境保护工作要点的通知第{n}号</a>'


@pytest.mark.parametrize(
    "rows",
    [
        # one small table per row, as old CMSs write them
        "<div class='lb'>" + "".join(f"<table><tr><td>{notice(n)}</td><td>2024-05-{n + 1:02d}</td></tr></table>" for n in range(10)) + "</div>",
        # one <ul> of title / date cells per row
        "<div class='lb'>" + "".join(f"<ul><li class='t'>{notice(n)}</li><li class='d'>2024-05-{n + 1:02d}</li></ul>" for n in range(10)) + "</div>",
        # <dt> title, <dd> date
        "<dl class='lb'>" + "".join(f"<dt>{notice(n)}</dt><dd>2024-05-{n + 1:02d}</dd>" for n in range(10)) + "</dl>",
        # the date inside the link, in an element of its own
        "<ul class='lb'>" + "".join(f"<li>{notice(n).replace('>关于', f'><span>2024-05-{n + 1:02d}</span>关于')}</li>" for n in range(10)) + "</ul>",
    ],
    ids=["table-per-row", "ul-per-row", "dt-dd", "date-in-link"],
)
def test_row_shapes_of_older_cms_beat_the_menu(rows: str) -> None:
    page = auto(page_with(NAV + rows), BASE)
    assert len(page.items) == 10
    assert page.items[0].title == "关于印发生态环境保护工作要点的通知第0号"
    assert page.items[0].url == "https://www.example.gov.cn/art/2024/5/1/art_1_0.html"
    assert [i.published_text for i in page.items[:2]] == ["2024-05-01", "2024-05-02"]


def test_a_list_inside_a_tabbed_box_is_not_taken_for_the_tab_menu() -> None:
    more = "".join(f'<li><a href="/zt/topic{n}/">专题专栏第{n}个专题页面</a></li>' for n in range(12))
    titles = TABS.replace('<ul class="tabs">', '<ul class="tab-title">')
    box = f'<div class="tab">{titles}<div class="tab-con"><ul class="list">{ROWS}</ul></div></div>'
    page = auto(page_with(box, f'<div class="zt"><ul>{more}</ul></div>'), BASE)
    assert len(page.items) == 6
    assert page.items[0].title == "关于开展第1批生态环境执法专项检查工作的通知"
