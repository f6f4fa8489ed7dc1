"""Issue 20: pages where the article's own box was thrown away and the chrome published instead.

Each test is a page shape from the collected real pages (tests/fixtures/collected/body/), written
small: the reader must get the article's text, not the navigation, search box or footer.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from aggregator.extract.article import extract_article

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
TITLE = "某市召开安全生产工作会议"
SENTENCES = [
    "某市今天召开全市安全生产工作会议，总结去年工作，部署今年任务。",
    "会议指出，各地各部门要压紧压实责任，深入开展重点行业领域专项整治，坚决防范遏制重特大事故。",
    "会议要求，要加强隐患排查治理，对发现的问题建立台账、限时整改，做到责任、措施、资金、时限和预案五落实。",
    "会议强调，岁末年初是事故易发多发时期，各级领导干部要带头值班值守，确保人民群众度过平安祥和的节日。",
]


def extract(html: str):  # noqa: ANN201
    return extract_article(html, "http://www.example.gov.cn/art/2026/11/20/art_1_2.html", None, tz=SH, now=NOW)


def _menu_table(n: int) -> str:
    links = "".join(f'<a href="/col/{n}/{i}.html">第{n}栏目下的一条新闻标题第{i}条</a><br>' for i in range(4))
    return f"<table><tr><td>{links}</td></tr></table>"


def test_article_table_among_sibling_tables_that_each_hold_headline_links() -> None:
    """2005 portal layout: <center> holds a row of tables: menus, the article, ad columns. The
    article's table holds a headline link too (its breadcrumb), so all siblings look like teasers."""
    article = (
        '<table><tr><td><a href="/index.html">企业服务首页产经资讯频道</a> &gt; 正文</td></tr>'
        f"<tr><td><h1>{TITLE}</h1>2026年11月20日 09:30</td></tr>"
        "<tr><td>" + "".join(f"<p>{s}</p>" for s in SENTENCES * 2) + "</td></tr></table>"
    )
    html = f"<html><head><title>{TITLE}</title></head><body><center>{_menu_table(1)}{_menu_table(2)}{article}{_menu_table(3)}{_menu_table(4)}</center></body></html>"
    page = extract(html)
    text = page.content_text or ""
    assert text.startswith(SENTENCES[0])
    assert text.endswith(SENTENCES[-1])
    assert "栏目下的一条新闻" not in text


def test_teaser_boxes_with_summaries_are_still_teasers() -> None:
    """A "related" box whose items carry a one-sentence summary stays out of the body."""
    teasers = "".join(
        f'<div class="item"><a href="/n/{i}.html">推荐新闻标题第{i}条关于安全生产的报道</a>'
        f"<p>这是推荐摘要，说明这条新闻讲了什么，有逗号，有句号。</p></div>"
        for i in range(5)
    )
    body = "".join(f"<p>{s}</p>" for s in SENTENCES[:2])
    html = f"<html><body><h1>{TITLE}</h1><div class=text>{body}</div><div class=rel>{teasers}</div></body></html>"
    page = extract(html)
    assert page.content_text == "\n".join(SENTENCES[:2])


def test_article_inside_a_form_that_wraps_the_page() -> None:
    """ASP.NET pages and VSB-built gov/university sites wrap the article (or the whole page) in a
    <form>; only search and login boxes are forms to drop."""
    search = '<form action="/search"><input name=q>站内搜索 热门搜索：安全生产</form>'
    content = "".join(f"<p>{s}</p>" for s in SENTENCES)
    html = (
        f"<html><body>{search}<div class=nav><a href=/>首页</a> <a href=/xw>新闻中心</a></div>"
        f'<form name="_newscontent_fromname"><h1>{TITLE}</h1><div id="vsb_content">{content}</div></form>'
        "<div class=footer>主办单位：某市人民政府办公室 版权所有 ICP备12345678号</div></body></html>"
    )
    page = extract(html)
    assert page.content_text == "\n".join(SENTENCES)


def test_a_short_article_beats_a_long_site_footer() -> None:
    """Two sentences of news against a footer of hotlines, licences and a disclaimer: the footer
    has more characters and punctuation, but it says what footers say."""
    footer = (
        "违法和不良信息举报电话：010-12345678 客服电话：010-12345679 传真：010-12345670 邮箱：service@example.com "
        "本站郑重声明：所载文章、数据仅供参考，投资有风险，选择需谨慎。风险提示Copyright©某某网 某某在线信息咨询服务有限公司 "
        "All Rights Reserved 版权所有 复制必究"
    )
    text = SENTENCES[0] + SENTENCES[1]
    html = (
        f"<html><body><h1>{TITLE}</h1><div class=info>2026-11-20 10:56:28 某某网</div>"
        f'<div class="art_context"><p>{text}</p></div>'
        f'<div class="footer"><div class="txt">{footer}</div></div></body></html>'
    )
    page = extract(html)
    assert page.content_text == text
