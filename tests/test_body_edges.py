"""Issue 20: where the article's text starts and ends (what a reader sees in the entry).

Each test is a shape seen on the collected real pages (tests/fixtures/collected/body/) and on the
unseen pages of the issue, written small with made-up text: the last sentence of the article ends
the entry (credits, image notes, "related" lists and "more" links after it do not), the first
paragraph opens it (record tables, headline blocks and video labels before it do not).
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator.extract.article import extract_article

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
TITLE = "某市召开安全生产工作会议"
P1 = "某市今天召开全市安全生产工作会议，总结去年工作，部署今年任务。"
P2 = "会议指出，各地各部门要压紧压实责任，深入开展重点行业领域专项整治，坚决防范遏制重特大事故。"
P3 = "会议要求，要加强隐患排查治理，对发现的问题建立台账、限时整改，做到责任、措施、资金、时限和预案五落实。"
TEXT = "\n".join((P1, P2, P3))


def extract(content: str, before: str = "", after: str = ""):  # noqa: ANN201
    html = (
        f"<html><head><title>{TITLE}_某市人民政府</title></head><body>"
        '<div class="nav"><a href="/">首页</a> <a href="/xwzx/">新闻中心</a></div>'
        f'<h1>{TITLE}</h1><div class="info">发布时间：2026-11-20 09:30 来源：某市应急管理局</div>'
        f'{before}<div class="article">{content}</div>{after}'
        '<div class="footer">主办单位：某市人民政府办公室 ICP备12345678号</div></body></html>'
    )
    return extract_article(html, "http://www.example.gov.cn/art/2026/11/20/art_1_2.html", None, tz=SH, now=NOW)


def paragraphs(*texts: str) -> str:
    return "".join(f"<p>{text}</p>" for text in texts)


@pytest.mark.parametrize(
    "credit",
    [
        "□ 本报记者 葛灵丹",
        "新京报记者 彭冲 山东冠县报道",
        "整合 新华日报·交汇点记者 徐睿翔",
        "记者 张三 李四",
        "文/图 本报通讯员 王五",
    ],
)
def test_a_reporter_credit_line_after_the_text_is_cut(credit: str) -> None:
    page = extract(paragraphs(P1, P2, P3, credit, "素材来源 各设区市党报及官方发布"))
    assert page.content_text == TEXT


@pytest.mark.parametrize(
    "line",
    ["原标题︱安全生产会议召开", "出品︱某市融媒体中心", "作者丨王五", "策划︱张三 制作︱李四", "图片均来自网络，如有侵权请联系删除。", "（图片来源：网络）"],
)
def test_production_lines_and_image_credits_after_the_text_are_cut(line: str) -> None:
    page = extract(paragraphs(P1, P2, P3, line))
    assert page.content_text == TEXT


def test_a_related_heading_and_its_teasers_end_the_text() -> None:
    teasers = paragraphs(
        "某区部署冬季安全生产工作，要求各单位开展全面排查。",
        "某县召开消防安全工作会议，强调要守牢安全底线。",
    )
    page = extract(paragraphs(P1, P2, P3) + "<h3>相关阅读</h3>" + teasers)
    assert page.content_text == TEXT


def test_a_more_link_line_after_the_text_is_cut() -> None:
    page = extract(paragraphs(P1, P2, P3) + '<p>&gt;&gt;&gt;更多内容，请关注<a href="/zt/aqsc/">安全生产专题</a></p>')
    assert page.content_text == TEXT


def test_a_last_sentence_holding_a_chrome_word_is_kept() -> None:
    last = "会议还要求，对督查中发现的问题要及时纠错，举一反三，不留死角。"
    page = extract(paragraphs(P1, P2, last))
    assert page.content_text == "\n".join((P1, P2, last))


def test_a_last_sentence_about_a_reporter_is_kept() -> None:
    last = "记者了解到，全市今年将投入专项资金三千万元，用于重点行业领域安全改造。"
    page = extract(paragraphs(P1, P2, last))
    assert page.content_text == "\n".join((P1, P2, last))


def test_a_video_player_label_before_the_text_is_cut() -> None:
    content = '<div id="sohuplayer"></div><p class="video-title">安全生产会议现场：各部门负责人参会</p>' + paragraphs(P1, P2, P3)
    page = extract(content)
    assert page.content_text == TEXT


def test_the_headline_block_repeated_in_the_text_is_cut_with_its_kicker_and_subtitle() -> None:
    content = (
        '<p style="text-align:center"><strong>全市部署</strong></p>'
        '<p style="text-align:center"><strong>某市召开安全生产</strong></p>'
        '<p style="text-align:center"><strong>工作会议</strong></p>'
        '<p style="text-align:center">某市应急〔2026〕12号</p>' + paragraphs(P1, P2, P3)
    )
    page = extract(content)
    assert page.content_text == TEXT


def test_a_dash_subtitle_before_the_text_is_cut() -> None:
    page = extract(paragraphs("——写在全市安全生产工作会议召开之际", P1, P2, P3))
    assert page.content_text == TEXT


def test_a_record_metadata_table_before_the_text_is_cut_and_the_date_is_the_publication_day() -> None:
    rows = (
        ("索 引 号：", "11220000013544357T/2026-00426"), ("分 类：", "安全生产;通知"), ("发文机关：", "某市人民政府"),
        ("成文日期：", "2026年11月18日"), ("标 题：", TITLE), ("发文字号：", "某政发〔2026〕12号"),
    )
    table = '<table class="xxgk">' + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    page = extract(table + paragraphs(P1, P2, P3))
    assert page.content_text == TEXT
    assert page.published is not None and page.published.date().isoformat() == "2026-11-20"


def test_a_short_heading_near_the_end_is_not_a_credit() -> None:
    """A section head with a role word in it ("规划设计", "版面编辑") is not a credit line: the
    paragraph under it is the end of the text."""
    page = extract(paragraphs(P1, P2) + "<h3>五、规划设计</h3>" + paragraphs(P3))
    assert page.content_text == "\n".join((P1, P2, "五、规划设计", P3))


def test_subtitle_lines_under_a_repeated_headline_are_cut_but_the_salutation_is_text() -> None:
    content = (
        f"<p><strong>{TITLE}</strong></p><p>——在全市安全生产工作会议上的讲话</p><p>（2026年11月20日）</p>"
        "<p>各区县人民政府：</p>" + paragraphs(P1, P2, P3)
    )
    page = extract(content)
    assert page.content_text == "\n".join(("各区县人民政府：", P1, P2, P3))


def test_a_related_heading_over_teasers_with_long_summaries_ends_the_text() -> None:
    summary = "某区今天召开冬季安全生产工作部署会，要求各单位开展全面排查，对发现的隐患立即整改，确保不留死角，会议还通报了近期检查情况。"
    teasers = "".join(f'<div class="item"><a href="/n/{i}.html">某区部署冬季安全生产工作第{i}条</a><p>{summary}</p></div>' for i in range(6))
    page = extract(paragraphs(P1, P2, P3) + "<div><h3>推荐阅读</h3></div>" + teasers)
    assert page.content_text == TEXT


def test_a_short_last_sentence_about_an_infringement_case_is_kept() -> None:
    last = "法院审理认为，被告构成商标侵权。"
    page = extract(paragraphs(P1, P2, last))
    assert page.content_text == "\n".join((P1, P2, last))
