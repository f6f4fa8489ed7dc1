"""Issue 20, titles: the headline a reader sees, from page shapes the dev set lacks.

Each test is one kind of miss seen on unseen real pages (collected copies of such pages are in
tests/fixtures/collected/meta/, scored by test_golden_real.py); these pin the rule on a small page.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from aggregator.extract.article import extract_article
from aggregator.extract.byline import clean_title

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
PARAGRAPH = "新征程催人奋进，新使命激荡人心。今天，政协第五届委员会第一次会议隆重开幕，我们对大会的召开表示热烈祝贺，预祝大会圆满成功。"


def extract(head: str, body: str):  # noqa: ANN201
    html = f"<html><head>{head}</head><body>{body}</body></html>"
    return extract_article(html, "http://www.example.gov.cn/zwdt/202202/t20220211_1.html", None, tz=SH, now=NOW)


def test_a_subtitle_joined_with_a_double_dash_is_part_of_the_headline() -> None:
    article = extract(
        "<title>凝聚强大智慧和力量——热烈祝贺市政协五届一次会议开幕_某某市人民政府网</title>",
        f'<p class="tt">凝聚强大智慧和力量</p><div>——热烈祝贺市政协五届一次会议开幕</div><div class="text"><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "凝聚强大智慧和力量——热烈祝贺市政协五届一次会议开幕"


def test_a_site_or_column_name_beside_a_double_dash_is_still_cut() -> None:
    assert clean_title("保定市人民政府网——关于开展大气污染防治专项检查的通知") == "关于开展大气污染防治专项检查的通知"
    assert clean_title("嫦娥五号为什么是中国航天史上最复杂任务 ——快科技") == "嫦娥五号为什么是中国航天史上最复杂任务"
    assert clean_title("要闻——市政府召开常务会议研究部署春耕生产_某某网") == "市政府召开常务会议研究部署春耕生产"
    assert clean_title("奋斗百年路——启航新征程_中国政府网") == "奋斗百年路——启航新征程"


def test_markup_pasted_into_the_meta_title_is_not_shown() -> None:
    article = extract(
        '<title>某某市人民政府</title><meta name="ArticleTitle" content="凝聚强大智慧和力量<div>——热烈祝贺市政协五届一次会议开幕</div>">',
        f'<div class="text"><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "凝聚强大智慧和力量——热烈祝贺市政协五届一次会议开幕"
    article = extract(
        '<title>某某市人民政府</title><meta name="ArticleTitle" content="&lt;p&gt;全市春耕生产工作会议召开&lt;br/&gt;&lt;/p&gt;">',
        f'<div class="text"><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "全市春耕生产工作会议召开"


def test_a_blog_name_before_a_guillemet_is_cut() -> None:
    assert clean_title("多维博客  » 播客热潮迅速蔓延 挑逗传统传媒业") == "播客热潮迅速蔓延 挑逗传统传媒业"


def test_the_visible_headline_above_the_byline_beats_a_different_meta_title() -> None:
    article = extract(
        '<title>春耕一线见闻：田野里的新变化 | 某某新闻</title><meta property="og:title" content="春耕一线见闻：田野里的新变化">',
        '<div class="logo"><a href="/"><img src="/logo.png" alt="某某新闻"></a></div>'
        "<h1>全市完成春播面积超过三百万亩</h1>"
        '<div class="info"><span>2026-03-20 09:30</span><span>来源：某某日报</span></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "全市完成春播面积超过三百万亩"


def test_a_site_name_h1_followed_by_the_header_clock_is_not_the_headline() -> None:
    article = extract(
        "<title>全市完成春播面积超过三百万亩 - 某某省人民政府门户网站</title>",
        '<div class="top"><h1>某某省人民政府门户网站</h1><span>2026年3月20日 星期五</span></div>'
        "<h2>全市完成春播面积超过三百万亩</h2><p>时间：2026-03-20 09:30 来源：某某日报</p>"
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "全市完成春播面积超过三百万亩"


def test_a_column_name_after_a_tight_hyphen_is_cut_when_the_page_shows_the_headline_alone() -> None:
    # An old table CMS: the headline sits in a plain cell, <title> adds the column ("-纪检").
    article = extract(
        "<title>中华人民共和国监察法-纪检</title>",
        '<table><tr><td>纪检监察</td></tr><tr><td><span class="s8">中华人民共和国监察法</span></td></tr>'
        "<tr><td>来源： 发布时间：2018-05-17</td></tr>"
        f"<tr><td><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></td></tr></table>",
    )
    assert article.title == "中华人民共和国监察法"


def test_a_hyphenated_headline_the_page_shows_whole_is_kept() -> None:
    article = extract(
        "<title>新冠疫苗接种-问答</title>",
        '<div class="hd">新冠疫苗接种-问答</div><p>发布时间：2021-05-17</p>'
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>",
    )
    assert article.title == "新冠疫苗接种-问答"


def test_a_column_name_shown_in_the_headline_above_the_byline_is_kept() -> None:
    # The headline as shown (and <title>, which names no site) starts with a series name.
    article = extract(
        "<title>书记市长这一周 | 奋马扬鞭争春色，“虎”力全开向未来</title>",
        '<div class="tit2">书记市长这一周 | 奋马扬鞭争春色，“虎”力全开向未来</div>'
        '<div class="time"><span>2022-02-13 20:04:17</span></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "书记市长这一周 | 奋马扬鞭争春色，“虎”力全开向未来"


def test_a_site_name_in_a_headline_block_that_repeats_the_title_is_still_cut() -> None:
    article = extract(
        "<title>奋马扬鞭争春色，“虎”力全开向未来 | 某某新闻</title>",
        '<div class="title">奋马扬鞭争春色，“虎”力全开向未来 | 某某新闻</div>'
        '<div class="time"><span>2022-02-13 20:04:17</span></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
    )
    assert article.title == "奋马扬鞭争春色，“虎”力全开向未来"
