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


def test_a_comment_section_after_the_post_ends_the_text() -> None:
    """Readers' comments (WordPress #comments / .commentlist / #respond) stand after the article, even
    when a comment is a long pasted article that reads as text."""
    pasted = paragraphs(
        "转贴：某县召开消防安全工作会议，强调要守牢安全底线，确保人民群众生命财产安全。",
        "会议指出，要深入开展隐患排查整治，对人员密集场所逐一检查，发现问题立即整改，绝不走过场。",
        "会议要求，各乡镇要落实属地责任，加强宣传教育，提升群众防火意识和自救能力，形成群防群治格局。",
    )
    content = (
        paragraphs(P1, P2, P3) + '<h3 id="comments">《某市召开安全生产工作会议》已有1件评论</h3>'
        f'<ol class="commentlist"><li id="comment-12"><cite>网友</cite>的评论 {pasted}</li></ol>'
        '<h3 id="respond">发表评论</h3>'
    )
    page = extract(content)
    assert page.content_text == TEXT


def test_a_comment_class_inside_the_text_is_kept() -> None:
    """An inline note marked "comment" (a wiki's gloss) is text; only a section after it ends it."""
    content = paragraphs(P1) + f'<p>{P2[:-1]}<span class="ilh-comment">（英语：Safety）</span>。</p>' + paragraphs(P3)
    page = extract(content)
    assert "".join(page.content_text.split()) == P1 + P2[:-1] + "（英语：Safety）。" + P3


def test_a_newsletter_box_in_the_text_is_cut() -> None:
    box = (
        '<div class="o-self-promo o-self-promo--nl"><p class="o-self-promo__text"><strong>电邮新闻</strong>头条新闻就在您的每日新闻信里</p>'
        '<a href="https://example.com/subscribe">订阅</a></div>'
        '<div class="o-self-promo o-self-promo--app"><p>下载本站应用程序跟踪国际时事</p></div>'
    )
    page = extract(paragraphs(P1, P2) + box + paragraphs(P3) + box)
    assert page.content_text == TEXT


def test_a_see_more_in_the_topic_line_after_the_text_is_cut() -> None:
    page = extract(paragraphs(P1, P2, P3) + '<p>相关资讯请关注:<a href="/zt/aqsc/">安全生产专区</a></p>')
    assert page.content_text == TEXT


def test_a_read_count_run_straight_after_the_text_is_cut() -> None:
    """Blog footers in inline markup right in the body's element: "(本文发表于…, 已被阅读178次)", Trackback."""
    content = paragraphs(P1, P2, P3) + '<span class="px14">(本文发表于<a href="/?cat=7">批评与建议</a>, 已被阅读178次)</span>'
    content += '<div><span>本文通告引用(Trackback)链接: /wp-trackback.php?p=1700</span></div>'
    page = extract(content)
    assert page.content_text == TEXT


@pytest.mark.parametrize("credit", ["顶端新闻·河南商报记者马俊峰/文受访者供图", "本报记者 张三/文 李四/图"])
def test_a_text_and_photo_credit_line_before_the_text_is_cut(credit: str) -> None:
    page = extract(paragraphs(credit, P1, P2, P3))
    assert page.content_text == TEXT


def test_a_comment_counter_above_the_text_does_not_end_it() -> None:
    """A comment count or button near the top ("评论(3)") is not the readers' comments: the text under it is kept."""
    summary = "摘要：会议召开。部署工作。总结经验。"
    page = extract(paragraphs(summary) + '<div class="comment-count">评论(3)</div>' + paragraphs(P1, P2, P3))
    assert page.content_text.endswith(P3)
