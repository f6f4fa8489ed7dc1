"""List pages: selectors, and the main news list found automatically."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.config import ListSelectors
from aggregator.extract.decode import decode_html
from aggregator.extract.html_list import extract_list
from aggregator.models import SourceError
from aggregator.normalise.dates import parse_date

FIXTURES = Path(__file__).parent / "fixtures"
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SH)
MEE = "https://www.mee.gov.cn/ywdt/"
MEE_TITLES = [
    "生态环境部召开部常务会议 审议并原则通过《关于加强生态环境执法工作的意见》",
    "黄润秋出席2023年全国生态环境执法工作会议",
    "国务院办公厅印发《关于进一步加强生态环境保护综合行政执法的通知》",
    "生态环境部公布2023年第一批生态环境执法典型案例",
    "生态环境部4月例行新闻发布会实录",
]


def read(path: str) -> str:
    return decode_html((FIXTURES / path).read_bytes()).text


def test_trs_list_with_the_documented_mee_selectors() -> None:
    selectors = ListSelectors(item=".mobile_none li, .mobile_clear li", title="a.cjcx_biaob")
    page = extract_list(read("sites/mee/index.html"), MEE, selectors, tz=SH, now=NOW)
    assert [i.title for i in page.items] == MEE_TITLES
    assert page.items[0].url == "https://www.mee.gov.cn/ywdt/202304/t20230423_1027951.shtml"
    assert page.items[2].url == "http://www.gov.cn/xinwen/2023-04/20/content_5752372.htm"
    assert page.items[0].published_text == "2023-04-23"  # no date selector: the date found in the row
    assert parse_date(page.items[0].published_text, SH, NOW).isoformat() == "2023-04-23T00:00:00+08:00"  # type: ignore[arg-type,union-attr]
    assert page.paging is not None and page.paging.kind == "trs"
    assert [r.url for r in page.paging.requests[:1]] == ["https://www.mee.gov.cn/ywdt/index_1.shtml"]


def test_trs_second_page() -> None:
    page = extract_list(read("sites/mee/index_1.html"), MEE + "index_1.shtml", None, tz=SH, now=NOW)
    assert [i.title for i in page.items] == [
        "生态环境部召开重点区域大气污染防治工作调度会",
        "生态环境部与浙江省人民政府签署合作协议",
        "生态环境部通报2023年3月全国地表水环境质量状况",
    ]
    assert page.items[2].published_text == "[2023-04-13]"


def test_auto_mode_finds_the_mee_list_and_prints_pasteable_selectors() -> None:
    page = extract_list(read("sites/mee/index.html"), MEE, None, tz=SH, now=NOW)
    assert [i.title for i in page.items] == MEE_TITLES  # navigation links are not items
    assert page.chosen is not None
    chosen = tomllib.loads(page.chosen)
    again = extract_list(read("sites/mee/index.html"), MEE, ListSelectors(**chosen), tz=SH, now=NOW)
    assert [(i.url, i.title, i.published_text) for i in again.items] == [(i.url, i.title, i.published_text) for i in page.items]


def test_auto_mode_on_fund_announcements_keeps_pdf_links() -> None:
    url = "https://www.hrfund.com.cn/main/zxzx/xxpl/index.shtml"
    page = extract_list(read("real/fund-announcement-list.html"), url, None, tz=SH, now=NOW)
    assert len(page.items) == 10
    first = page.items[0]
    assert first.title == "华融基金管理有限公司关于旗下基金参加南京苏宁基金销售有限公司申购补差费费率优惠活动的公告"
    assert first.url == "https://www.hrfund.com.cn/Upload/File/202004/20200429175329_3226.pdf"
    assert first.published_text == "2020-04-30"
    assert page.items[-1].title == "华融现金增利货币市场基金招募说明书（更新）摘要"


def test_auto_mode_on_netease_rolling_news() -> None:
    page = extract_list(read("real/netease-rolling-news-list.html"), "https://news.163.com/latest/", None, tz=SH, now=NOW)
    assert len(page.items) == 40
    first = page.items[0]
    assert first.title == "一图读懂 | 深圳盒马员工确诊，2地6人感染始末"
    assert first.url == "https://news.163.com/20/0816/22/FK6F0U6D0001899O.html"  # not the [社会] category link
    assert parse_date(first.published_text or "", SH, NOW).isoformat() == "2020-08-16T22:26:38+08:00"  # type: ignore[union-attr]
    assert page.items[-1].title == "一半天然气出口中国，乌宣布将停止供气！如今中乌合作传来好消息"
    assert page.chosen is not None and tomllib.loads(page.chosen)["item"]


def test_feed_link_is_reported() -> None:
    html = read("real/sina-article-gbk.html")
    page = extract_list(html, "http://ent.sina.com.cn/y/2009-11-09/13482762951.shtml", None, tz=SH, now=NOW)
    assert page.feed_url == "http://rss.sina.com.cn/ent/music/focus12.xml"


LIST = """<html><head><base href="https://www.example.gov.cn/news/"></head><body>
<ul class="list">
<li><a href="a1.html"><span class="top">[置顶]</span>关于开展生态环境执法检查的通知</a><span>2023-04-23</span></li>
<li><a href="javascript:void(0)">不能打开的链接条目标题</a><span>2023-04-22</span></li>
<li><a href="a1.html">关于开展生态环境执法检查的通知（重复）</a><span>2023-04-21</span></li>
<li><a href="/files/report.pdf" title="2022年度生态环境状况公报全文">2022年度生态环境状况…</a><span>2023-04-20</span></li>
<li><a href="mailto:x@example.gov.cn">写信给我们的联系邮箱</a></li>
</ul></body></html>"""


def test_selectors_resolve_links_drop_pins_and_dedupe() -> None:
    page = extract_list(LIST, "https://www.example.gov.cn/other/page.html", ListSelectors(item="ul.list li", date="li > span"), tz=SH, now=NOW)
    assert [(i.url, i.title, i.published_text) for i in page.items] == [
        ("https://www.example.gov.cn/news/a1.html", "关于开展生态环境执法检查的通知", "2023-04-23"),
        ("https://www.example.gov.cn/files/report.pdf", "2022年度生态环境状况公报全文", "2023-04-20"),
    ]
    assert page.warnings  # the skipped javascript:/mailto: rows are reported


def test_summary_selector() -> None:
    html = "<div class='n'><h3><a href='/a.html'>生态环境部发布公报标题</a></h3><p class='s'>摘要<b>文字</b></p></div>"
    page = extract_list(html, "https://x.gov.cn/", ListSelectors(item="div.n", summary="p.s"), tz=SH, now=NOW)
    assert page.items[0].summary_html == '<p class="s">摘要<b>文字</b></p>'


def test_item_selector_matching_nothing_is_a_warning() -> None:
    page = extract_list(LIST, "https://www.example.gov.cn/", ListSelectors(item="div.nothing"), tz=SH, now=NOW)
    assert page.items == [] and "matched nothing" in page.warnings[0]


def test_invalid_selector_is_a_source_error() -> None:
    selectors = ListSelectors.model_construct(item="li[", link="a@href")
    with pytest.raises(SourceError):
        extract_list(LIST, "https://www.example.gov.cn/", selectors, tz=SH, now=NOW)


@pytest.mark.parametrize("html", ["", "   ", "<", "<html><body></body></html>", "\x00\x01", "<ul><li><a href='http://[::1'>坏链接的新闻标题</a></li></ul>" * 3])
def test_malformed_pages_give_no_items_not_exceptions(html: str) -> None:
    page = extract_list(html, "https://x.gov.cn/", None, tz=SH, now=NOW)
    assert page.items == []
