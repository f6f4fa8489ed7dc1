"""Article pages: title, time, 来源, 作者, body, 原文链接 — checked against the HTML by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.config import ArticleSelectors
from aggregator.extract.article import extract_article
from aggregator.extract.decode import decode_html

FIXTURES = Path(__file__).parent / "fixtures"
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SH)
SEED = (Path(__file__).parent / "fixtures" / "sites" / "repost" / "article.html")


def read(path: str) -> str:
    return decode_html((FIXTURES / path).read_bytes()).text


class TestSeedRepost:
    page = extract_article(read("sites/repost/article.html"), "http://www.lshbw.example.cn/html/2023/11/12/58213.html", None, tz=SH, now=NOW)

    def test_header_fields(self) -> None:
        assert self.page.title == "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会"
        assert self.page.published is not None
        assert self.page.published.isoformat() == "2023-11-12T09:42:56+08:00"
        assert self.page.origin is None  # "来源:  作者:" — empty, not "作者:"
        assert self.page.author is None
        assert self.page.original_url == "http://sthjt.zj.gov.cn/art/2023/4/23/art_1202652_58938545.html"

    def test_body_is_the_article_only(self) -> None:
        text = self.page.content_text or ""
        assert text.startswith("2023年4月19日,浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会议")
        assert text.endswith("省厅大气处通报了近期治气检查情况和涉气典型问题。")
        for boilerplate in ("免责声明", "最新信息", "2020-11-27", "原文链接", "分享到", "上一篇", "点击"):
            assert boilerplate not in text
        assert "免责声明" not in (self.page.content_html or "")


def test_mee_article_with_selectors() -> None:
    selectors = ArticleSelectors(body=".neiright_JPZ_GK_CP", date="meta[name=PubDate]@content")
    page = extract_article(read("sites/mee/article.html"), "https://www.mee.gov.cn/ywdt/202304/t20230419_1027643.shtml", selectors, tz=SH, now=NOW)
    assert page.title == "生态环境部公布2023年第一批生态环境执法典型案例"
    assert page.published is not None and page.published.isoformat() == "2023-04-19T16:30:00+08:00"
    assert page.origin == "生态环境部"
    assert page.author is None  # <meta name=author content="">
    html = page.content_html or ""
    assert '<img src="https://www.mee.gov.cn/ywdt/202304/W020230419563412345678.jpg"' in html
    assert 'href="https://www.mee.gov.cn/ywdt/202304/P020230419563456789012.pdf"' in html
    assert (page.content_text or "").startswith("为进一步发挥典型案例的警示教育作用")
    for boilerplate in ("字号", "打印", "分享到"):
        assert boilerplate not in (page.content_text or "")


def test_mee_article_without_selectors_gives_the_same_fields() -> None:
    page = extract_article(read("sites/mee/article.html"), "https://www.mee.gov.cn/ywdt/202304/t20230419_1027643.shtml", None, tz=SH, now=NOW)
    assert page.title == "生态环境部公布2023年第一批生态环境执法典型案例"
    assert page.published is not None and page.published.isoformat() == "2023-04-19T16:30:00+08:00"
    assert page.origin == "生态环境部"
    assert (page.content_text or "").endswith("附件：2023年第一批生态环境执法典型案例.pdf")


def test_fgw_hanweb_article() -> None:
    page = extract_article(read("real/fgw-zj-gov-cn-article-hanweb.html"), "http://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html", None, tz=SH, now=NOW)
    assert page.title == "1-10月德清县固定资产投资结构趋稳趋优"
    assert page.published is not None and page.published.isoformat() == "2016-11-22T09:53:00+08:00"  # meta PubDate
    assert page.origin == "省发改委"
    assert page.author is None
    text = page.content_text or ""
    assert text.startswith("1-10月，全县固定资产投资完成246.79亿元")
    assert text.endswith("总体全县投资结构趋稳趋优。（德清县发改局）")
    assert "打印" not in text and "关闭" not in text


def test_people_article() -> None:
    page = extract_article(read("real/people-com-cn-article.html"), "http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html", None, tz=SH, now=NOW)
    assert page.title == "女儿出嫁，郑板桥画了几笔兰花当嫁妆"
    # meta publishdate has the day only; the page header gives the time.
    assert page.published is not None and page.published.isoformat() == "2019-06-15T08:18:00+08:00"
    assert page.origin == "人民网-文化频道"
    assert page.author is None  # <meta name=author content="104363"> is a user id
    text = page.content_text or ""
    assert "父亲的教诲像一盏灯，为我们照亮前行的路" in text
    assert text.endswith("字里行间都是对儿子的爱。")
    assert "责编" not in text and "【2】" not in text


def test_youth_article_with_relative_images() -> None:
    page = extract_article(read("real/youth-cn-article-utf8-declares-gb2312.html"), "http://news.youth.cn/gn/202405/t20240513_15249693.htm", None, tz=SH, now=NOW)
    assert page.title == "我国首届养老专业本科生迎来毕业季 “银发浪潮”到来，年轻人可大展拳脚"
    assert page.published is not None and page.published.isoformat() == "2024-05-13T06:03:00+08:00"
    assert page.origin == "中国青年报"
    assert page.author == "青网新闻杨逸凡"  # what the page's <meta name=author> says
    html = page.content_html or ""
    assert '<img alt="" src="http://news.youth.cn/gn/202405/W020240513218438501588.jpg">' in html
    text = page.content_text or ""
    assert text.startswith("5月9日，山东女子学院养老服务管理专业毕业生就业双选会现场。")
    # The byline after the last sentence is metadata (read as 来源 above), not text.
    assert text.endswith("在养老产业链上的每个环节，“都有年轻人大展拳脚的空间”。")
    assert "责任编辑" not in text and "来源：中国青年报" not in text


def test_sina_gbk_article() -> None:
    page = extract_article(read("real/sina-article-gbk.html"), "http://ent.sina.com.cn/y/2009-11-09/13482762951.shtml", None, tz=SH, now=NOW)
    assert page.title == "爱戴掀起红盖头 庆东南劲爆音乐颁奖七周年(图)"
    assert page.published is not None and page.published.isoformat() == "2009-11-09T13:48:00+08:00"
    text = page.content_text or ""
    assert "新浪音乐讯 第七届东南劲爆音乐榜颁奖盛典二十四项大奖名花有主" in text
    assert "http://i1.sinaimg.cn/ent/y/2009-11-09/U3996P28T3D2762951F326DT20091109135102.jpg" in (page.content_html or "")


def test_source_selector_and_labelled_fields() -> None:
    html = """<html><head><title>某市生态环境局通报一批典型案例_某市政府</title></head><body>
    <div class="side"><ul><li><a href="/a.html">旧闻</a> 2019-01-01</li></ul></div>
    <h1>某市生态环境局通报一批典型案例</h1>
    <p class="info">发布日期：2023年04月19日 09:42 信息来源：某市生态环境局 作者：李明</p>
    <div class="article-content"><p>正文第一段，内容足够长，用来确保正文被识别为正文的内容，并且说明这次通报的典型案例涉及哪些违法行为。</p>
    <p>责任编辑：王五</p><div class="share">分享到：微信</div></div></body></html>"""
    page = extract_article(html, "https://www.x.gov.cn/art/1.html", None, tz=SH, now=NOW)
    assert page.title == "某市生态环境局通报一批典型案例"
    assert page.published is not None and page.published.isoformat() == "2023-04-19T09:42:00+08:00"
    assert page.origin == "某市生态环境局"
    assert page.author == "李明"
    assert page.content_text == "正文第一段，内容足够长，用来确保正文被识别为正文的内容，并且说明这次通报的典型案例涉及哪些违法行为。"
    override = extract_article(html, "https://www.x.gov.cn/art/1.html", ArticleSelectors(source="p.info@data-none", author="h1"), tz=SH, now=NOW)
    assert override.origin == "某市生态环境局"  # selector matched no value: labelled text stays
    assert override.author == "某市生态环境局通报一批典型案例"


def test_trafilatura_fallback_when_no_container_is_known() -> None:
    paragraphs = "".join(f"<p>这是第{i}段正文，讲述生态环境执法工作的具体情况和取得的成效，内容较长以便识别。</p>" for i in range(8))
    html = f"<html><body><div class='nav'><a href='/'>首页</a></div><div class='x9'><h1>标题很长的一篇新闻稿件</h1>{paragraphs}</div></body></html>"
    page = extract_article(html, "https://www.x.gov.cn/a.html", None, tz=SH, now=NOW)
    assert "这是第0段正文" in (page.content_text or "")
    assert "这是第7段正文" in (page.content_text or "")


@pytest.mark.parametrize("html", ["", "   ", "<", "<html></html>", "\x00<p>\ud800</p>", "<p>时间:</p><p>来源:</p>"])
def test_malformed_pages_do_not_raise(html: str) -> None:
    page = extract_article(html, "https://x.gov.cn/a.html", None, tz=SH, now=NOW)
    assert page.published is None


def test_the_text_try_prints_keeps_inline_markup_inside_its_paragraph() -> None:
    html = (
        "<html><head><title>关于加强执法的通知</title></head><body><h1>关于加强执法的通知</h1><div id='zoom'>"
        "<p>依据<a href='/law/1.html'>《中华人民共和国环境保护法》</a>第五十九条，<b>责令</b>改正违法行为。</p>"
        "<p>第二段：罚款人民币<span>35.6</span>万元。</p><ul><li>一、事实</li><li>二、依据</li></ul></div></body></html>"
    )
    page = extract_article(html, "http://127.0.0.1/art/1.html", None, tz=SH, now=NOW)
    assert page.content_text == (
        "依据《中华人民共和国环境保护法》第五十九条，责令改正违法行为。\n第二段：罚款人民币35.6万元。\n一、事实\n二、依据"
    )


@pytest.mark.parametrize("meta_author", ["www.yunnan.cn,云南日报报业集团,云南网", "L_104485", "104363"])
def test_a_site_address_or_user_id_in_meta_author_is_no_author(meta_author: str) -> None:
    html = (
        f"<html><head><title>标题文字</title><meta name='author' content='{meta_author}'></head><body><h1>标题文字</h1>"
        "<div id='zoom'><p>正文第一段，说明事实和依据。</p><p>正文第二段，作出决定。</p></div></body></html>"
    )
    assert extract_article(html, "http://127.0.0.1/art/1.html", None, tz=SH, now=NOW).author is None
