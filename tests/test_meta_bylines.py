"""Issue 20, bylines: the date and 来源 a reader sees, from page shapes the dev set lacks.

Each test is one kind of miss seen on unseen real pages (collected copies of such pages are in
tests/fixtures/collected/meta/, scored by test_golden_real.py); these pin the rule on a small page.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from aggregator.extract.article import extract_article

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
TITLE = "拿起跨界指挥棒她跟学生较着劲儿成长"
PARAGRAPH = "年过五十，郭荣梅觉得自己的教师生涯很快就要告一段落了。谁承想，老教师也能跨界拿起乐团指挥棒，和学生较着劲儿，一路前行。"
URL = "http://paper.example.com/html/content_1.htm"  # no date in it


def extract(body: str, head: str = "", url: str = URL):  # noqa: ANN201
    html = f"<html><head><title>{TITLE}--某某网</title>{head}</head><body>{body}</body></html>"
    return extract_article(html, url, None, tz=SH, now=NOW)


def day(article) -> str | None:  # noqa: ANN001
    return article.published.astimezone(SH).strftime("%Y-%m-%d %H:%M") if article.published else None


def test_the_byline_under_the_first_headline_when_the_article_repeats_it() -> None:
    # An e-paper: the headline and the edition's date, then the article repeats the headline
    # (with its subtitle) at the top of its text.
    article = extract(
        f'<div class="list"><a href="#">{TITLE}</a></div>'
        f'<div class="head"><p class="ttl">{TITLE}</p><p>2022年02月12日</p><p>查看旧版</p></div>'
        f'<div class="article"><h1>{TITLE}</h1><h2>年过五十的她带领学校民乐团一路快乐前行</h2>'
        f"<div id=ozoom><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div></div>"
    )
    assert day(article) == "2022-02-12 00:00"


def test_a_date_line_right_above_the_headline() -> None:
    # Blog themes print the date, then the headline, inside the post.
    article = extract(
        '<div class="header">2006年12月27日（京港台时间）</div>'
        f'<div class="post"><p>Saturday, September 10th, 2005 &nbsp; 10:56 am</p><p align=center><font size=5>{TITLE}</font></p>'
        f"<p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>"
    )
    assert day(article) == "2005-09-10 10:56"


def test_an_outlet_linked_beside_the_date_is_the_source() -> None:
    article = extract(
        f'<h1>{TITLE}</h1><div class="info"><span>2026-11-20 09:30</span> <a href="https://www.yicai.com/">第一财经</a></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
        url="https://news.example.com/a/1.html",
    )
    assert article.origin == "第一财经"
    assert day(article) == "2026-11-20 09:30"


def test_a_column_linked_beside_the_date_is_not_the_source() -> None:
    article = extract(
        f'<h1>{TITLE}</h1><div class="info"><span>2026-11-20 09:30</span> <a href="https://news.example.com/finance/">财经要闻</a></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
        url="https://news.example.com/a/1.html",
    )
    assert article.origin is None


def test_an_outlet_with_an_editorial_mark_beside_the_date_is_the_source() -> None:
    article = extract(
        f"<h1>{TITLE}</h1><span>2019-09-05 11:10 游民星空[整理]</span>"
        f'<article><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></article>'
    )
    assert article.origin == "游民星空"


def test_dates_and_sources_of_a_related_articles_block_are_not_the_articles() -> None:
    related = "".join(
        f'<li><a href="/c/{i}.htm">另一篇文章第{i}条</a><span>发布时间：2026-11-2{i}</span><span>来源：别的报社</span></li>' for i in range(5)
    )
    article = extract(
        f'<h1>{TITLE}</h1><div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>'
        f"<div><h3>相关新闻</h3><ul>{related}</ul></div>"
    )
    assert article.published is None
    assert article.origin is None


def test_a_photo_credit_or_an_author_box_is_not_the_source() -> None:
    article = extract(
        f'<h1>{TITLE}</h1><div class="info">2026-11-20 09:30</div>'
        '<figure><figcaption class="m-figure__caption"><span class="a-media-legend">Podcast</span>'
        '<span class="a-media-legend">© FMM</span></figcaption></figure>'
        '<div class="m-from-author"><span class="m-from-author__by-label">作者：</span><a class="m-from-author__name">安东尼</a></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>'
    )
    assert article.origin is None
    assert article.author == "安东尼"


def test_a_link_to_the_sites_own_home_under_another_host_is_not_an_outlet() -> None:
    # A saved copy without its URL: the site is the host most links go to, and the <title> names it.
    nav = "".join(f'<a href="http://www.njxfhn.com/c/{i}.html">栏目{i}</a>' for i in range(5))
    article = extract(
        f'<div class="nav">{nav}</div><h1>{TITLE}</h1><div><a class="post-date">2019年09月11日</a> '
        '<a href="http://www.njxfhn.com/">富达传媒</a></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>',
        url="http://fixture.invalid/page.html",
    )
    assert article.origin is None


def test_a_teaser_whose_markup_says_origin_is_not_the_source() -> None:
    # A recommendation widget marks its boxes "origin-default"; the outlet is beside the date.
    article = extract(
        f'<h1>{TITLE}</h1><div class="tip"><span>2019-09-26 10:56:28</span> '
        '<a href="http://kuaixun.stcn.com/2019/0926/15408927.shtml">证券时报网</a></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>'
        '<div class="videoCube origin-default"><a href="http://house.example.com/2020/1.html">在武汉，这群人每天都走一万步</a>'
        "<div>撤消</div></div>"
    )
    assert article.origin == "证券时报网"


def test_a_teaser_headline_in_an_element_marked_origin_is_not_a_source() -> None:
    article = extract(
        f'<h1>{TITLE}</h1><div class="tip"><span>2019-09-26 10:56:28</span></div>'
        f'<div class="text"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>'
        '<div class="videoCube origin-default"><a href="http://house.example.com/2020/1.html">在武汉，这群人每天都走一万步</a></div>'
    )
    assert article.origin is None
