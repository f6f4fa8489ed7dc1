"""The article extractor on page shapes no selector was written for (synthetic, one trap each).

The real dev pages are in test_golden_real.py; these pin the general rules behind them, so a
change that only keeps the dev pages right still fails here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from aggregator.extract.article import extract_article
from aggregator.extract.byline import clean_title, date_from_url

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)

PARAGRAPH = "生态环境部今天通报了第三轮中央生态环境保护督察整改情况，各地共完成整改任务一千余项，其中大气、水和土壤污染问题占多数。"


def page(body: str, title: str = "某市生态环境局通报一批环境违法案件-某某网", head: str = "") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def extract(html: str, url: str = "http://sthj.example.gov.cn/a/b.html"):  # noqa: ANN201
    return extract_article(html, url, None, tz=SH, now=NOW)


def test_a_short_article_beats_a_longer_recommendation_box() -> None:
    teasers = "".join(
        f'<dl><dt><a href="/n/{i}.html">推荐新闻标题第{i}条关于生态环境的报道</a></dt>'
        f"<dd>这是一段推荐摘要，内容较长，有逗号，有句号。还有第二句话，也很长。</dd><dd>2026-11-3{i % 2} 08:00</dd></dl>"
        for i in range(6)
    )
    html = page(
        '<div class="main"><h1>某市生态环境局通报一批环境违法案件</h1>'
        '<div class="info">2026-11-20 09:30 来源：某市生态环境局</div>'
        f'<div class="text">{PARAGRAPH}</div>'
        f'<div class="recommend"><h3>为你推荐</h3>{teasers}</div></div>'
    )
    article = extract(html)
    assert article.content_text == PARAGRAPH
    assert article.published is not None and article.published.isoformat() == "2026-11-20T09:30:00+08:00"
    assert article.origin == "某市生态环境局"
    assert article.title == "某市生态环境局通报一批环境违法案件"


def test_byline_date_beats_meta_and_sidebar_dates() -> None:
    html = page(
        '<div class="side"><ul><li><a href="/x/1.html">另一条新闻</a><span>2026-11-29</span></li></ul></div>'
        "<h1>某市生态环境局通报一批环境违法案件</h1><p class=byline>2026年11月18日 16:05</p>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>",
        head='<meta name="PubDate" content="2026-11-19">',
    )
    article = extract(html)
    assert article.published is not None and article.published.isoformat() == "2026-11-18T16:05:00+08:00"


def test_meta_date_then_url_date_when_no_byline() -> None:
    body = f"<h1>某市生态环境局通报一批环境违法案件</h1><div><p>{PARAGRAPH}</p></div>"
    with_meta = extract(page(body, head='<meta name="PubDate" content="2026-10-09 10:11">'), "http://x.gov.cn/art/2026/10/1/art_1_2.html")
    assert with_meta.published is not None and with_meta.published.isoformat() == "2026-10-09T10:11:00+08:00"
    from_url = extract(page(body), "http://x.gov.cn/xwzx/202610/t20261003_123.html")
    assert from_url.published is not None and from_url.published.date().isoformat() == "2026-10-03"


def test_edges_of_the_body_are_cut_but_captions_inside_stay() -> None:
    html = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        '<div class="article">'
        "<p>某市生态环境局通报一批环境违法案件</p>"
        "<p>（原标题：关于一批环境违法案件的通报）</p>"
        f"<p>{PARAGRAPH}</p><p><img src='/a.jpg'></p><p>执法人员在现场检查。张三 摄</p><p>{PARAGRAPH}最后一句。</p>"
        "<p>（责任编辑：李四）</p><p>版权所有 © 某某网 未经授权不得转载</p><p>分享到：微信 微博</p>"
        "</div>"
    )
    text = extract(html).content_text or ""
    assert text.startswith(PARAGRAPH)
    assert "执法人员在现场检查。张三 摄" in text
    assert text.endswith("最后一句。")


def test_source_label_with_the_value_on_the_next_line_and_in_brackets() -> None:
    html = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        "<div>2026-11-20 09:30 稿件来源：<span>\n  中国环境报\n</span></div>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>"
    )
    assert extract(html).origin == "中国环境报"
    bracketed = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        "<div>2026年11月20日09:30 [ 王五 ] 来源：[ <a href='#'>某某日报</a> ]</div>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>"
    )
    assert extract(bracketed).origin == "某某日报"


def test_unlabelled_outlet_beside_the_date_and_datelines() -> None:
    html = page(
        "<h2>某市生态环境局通报一批环境违法案件</h2><div><span>2026-11-20 09:57 光明网</span></div>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>"
    )
    assert extract(html).origin == "光明网"
    dateline = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        f"<div><p>新华社北京11月20日电（记者 赵六）{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>"
    )
    article = extract(dateline)
    assert article.origin == "新华社"
    assert article.author == "记者 赵六"


def test_a_hidden_copy_of_the_body_is_not_read() -> None:
    html = page(
        f"<h1>某市生态环境局通报一批环境违法案件</h1><div class=view><p>{PARAGRAPH}</p></div>"
        f'<div style="display:none"><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>'
    )
    assert extract(html).content_text == PARAGRAPH


def test_titles_lose_site_and_column_names() -> None:
    assert clean_title("保定市人民政府网——关于开展大气污染防治专项检查的通知") == "关于开展大气污染防治专项检查的通知"
    assert clean_title("土壤污染防治行动计划实施情况-新华网") == "土壤污染防治行动计划实施情况"
    assert clean_title("长江保护修复攻坚战取得新进展__商贸_产业资讯_新浪网") == "长江保护修复攻坚战取得新进展"
    assert clean_title("1-10月德清县固定资产投资结构趋稳趋优") == "1-10月德清县固定资产投资结构趋稳趋优"


def test_dates_in_urls() -> None:
    assert date_from_url("https://www.mee.gov.cn/ywdt/hjywnews/202304/t20230423_1027666.shtml", SH) == datetime(2023, 4, 23, tzinfo=SH)
    assert date_from_url("https://sthjt.zj.gov.cn/art/2023/4/9/art_1229116_1.html", SH) == datetime(2023, 4, 9, tzinfo=SH)
    assert date_from_url("https://example.org/news/123.html", SH) is None


def test_a_title_tag_that_names_only_the_column() -> None:
    html = page(
        "<h3>首页 - 新闻动态</h3><h5>某市开展2026年入河排污口排查整治专项行动</h5><div>发布时间：2026-11-02</div>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div><h4>联系我们</h4>",
        title="新闻动态--某某学会官网",
    )
    article = extract(html)
    assert article.title == "某市开展2026年入河排污口排查整治专项行动"
    assert article.published is not None and article.published.date().isoformat() == "2026-11-02"


def test_an_editor_credit_ends_the_text_with_what_follows_it() -> None:
    html = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        f"<div class=post><p>澎湃新闻记者 张三 李四</p><p>{PARAGRAPH}</p><p>{PARAGRAPH}最后一句。</p>"
        "<p>编辑/王五 摄影/赵六</p><blockquote><p>推荐：另一篇文章的标题</p></blockquote><p>返回首页</p></div>"
    )
    text = extract(html).content_text or ""
    assert text.startswith(PARAGRAPH)
    assert text.endswith("最后一句。")


def test_a_byline_date_without_a_year_takes_it_from_the_meta_date() -> None:
    html = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1><div>发布时间：09-30 22:46</div>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>",
        head='<meta itemprop="datePublished" content="2019-09-30 22:46:13">',
    )
    article = extract(html)
    assert article.published is not None and article.published.isoformat() == "2019-09-30T22:46:00+08:00"


def test_text_joined_by_br_ends_at_the_editor_line() -> None:
    html = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        f"<div class=text>{PARAGRAPH}<br>{PARAGRAPH}最后一句。<br>编辑|王五<br>责编|赵六<br>"
        "扫描下方二维码解锁更多技能<br>回复【公租房】查看最新消息<br>（实习生 钱七 对此文亦有贡献）</div>"
    )
    text = extract(html).content_text or ""
    assert text.endswith("最后一句。")
    assert "二维码" not in text


def test_a_body_chosen_by_selector_loses_its_edges_too() -> None:
    from aggregator.config import ArticleSelectors

    html = page(
        "<h1>某市生态环境局通报一批环境违法案件</h1>"
        f'<div class="TRS_Editor"><p>某市生态环境局通报一批环境违法案件</p><p>{PARAGRAPH}</p><p>{PARAGRAPH}最后一句。</p>'
        "<p>（责任编辑：李四）</p><p>分享到：微信 微博</p></div>"
    )
    article = extract_article(html, "http://x.gov.cn/a.html", ArticleSelectors(body=".TRS_Editor"), tz=SH, now=NOW)
    text = article.content_text or ""
    assert text.startswith(PARAGRAPH)
    assert text.endswith("最后一句。")
