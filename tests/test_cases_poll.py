"""Penalty decisions read as cases by a real poll: a list page on 127.0.0.1, its article pages and
documents, a real TinyDB store, and the Atom and JSON Feed a reader gets (issue 19).

Shapes: a decision as a table, as text, a page tabling several decisions (one entry each), a
shell page whose decision is only in its PDF, and a list whose titles are bare 文号.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import httpx
import pytest

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.models import Case
from aggregator.store import open_store

from .conftest import Response, Site, write_config
from .documents import make_docx, make_pdf
from .pagehelpers import served

NAV = "".join(f'<a href="/col/{n}/">栏目{n}</a>' for n in range(6))


def list_page(rows: list[tuple[str, str, str]]) -> str:
    items = "".join(f'<li><a href="{href}">{title}</a><span>{date}</span></li>' for href, title, date in rows)
    return f'<html><body><div class="nav">{NAV}</div><ul class="list">{items}</ul></body></html>'


def article(title: str, published: str, body: str) -> str:
    """An article page as these sites print one: meta headline and date, the body in #zoom."""
    return f"""<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{published}"></head><body><div class="nav">{NAV}</div>
<div class="article"><h1>{title}</h1><div id="zoom">{body}</div></div>
<div class="footer">主办单位：示例市生态环境局 版权所有</div></body></html>"""


def table_of(pairs: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in pairs)
    return f'<table border="1">{rows}</table>'


DECISION_TABLE = table_of([
    ("行政处罚决定书文号", "示环罚〔2026〕15号"),
    ("被处罚当事人", "示例建材有限公司"),
    ("统一社会信用代码", "91330100MA2B3C4D5E"),
    ("主要违法事实", "该公司粉磨车间未密闭，颗粒物无组织排放，违反了《中华人民共和国大气污染防治法》第四十八条第一款的规定。"),
    ("行政处罚依据", "《中华人民共和国大气污染防治法》第一百零八条第一项"),
    ("行政处罚内容", "罚款人民币35.6万元"),
    ("作出处罚决定的机关", "示例市生态环境局"),
    ("作出处罚决定的日期", "2026年3月2日"),
])

DECISION_TEXT = """<p style="text-align:center">示例市生态环境局行政处罚决定书</p>
<p style="text-align:center">示环罚〔2026〕16号</p>
<p>当事人：示例化工有限公司</p>
<p>统一社会信用代码：91330100MA2F6G7H8J</p>
<p>地址：示例市经济开发区化工路8号</p>
<p>一、环境违法事实和证据</p>
<p>2026年1月12日，我局执法人员对你单位进行现场检查，发现你单位危险废物贮存场所未设置识别标志，危险废物露天堆放。</p>
<p>以上事实，有现场检查笔录、调查询问笔录、现场照片等证据为凭。</p>
<p>二、行政处罚的依据、种类</p>
<p>依据《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第二项的规定，我局决定对你单位作出如下行政处罚：罚款人民币壹拾贰万元整。</p>
<p>三、行政处罚决定的履行方式和期限</p>
<p>你单位应自收到本决定书之日起十五日内将罚款缴至指定银行。</p>
<p style="text-align:right">示例市生态环境局</p>
<p style="text-align:right">2026年4月8日</p>"""

MANY_HEAD = "<tr><th>序号</th><th>文号</th><th>当事人名称</th><th>违法事实</th><th>处罚内容</th><th>日期</th></tr>"
MANY_ROWS = [
    ("示环罚〔2026〕21号", "示例纺织有限公司", "废水超标排放", "罚款人民币20万元", "2026-10-09"),
    ("示环罚〔2026〕22号", "示例电镀厂", "未批先建", "罚款人民币5.5万元", "2026-10-15"),
    ("示环罚〔2026〕23号", "示例食品有限公司", "未按规定申领排污许可证", "警告", "2026-10-21"),
]
MANY_NEW = ("示环罚〔2026〕24号", "示例印刷有限公司", "挥发性有机物未收集处理", "罚款人民币3万元", "")  # no date printed


def many_page(rows: list[tuple[str, str, str, str, str]]) -> str:
    cells = "".join(
        f"<tr><td>{n}</td>{''.join(f'<td>{value}</td>' for value in row)}</tr>" for n, row in enumerate(rows, start=1)
    )
    body = (
        "<p>根据《中华人民共和国行政处罚法》有关规定，现将我局2026年10月作出的行政处罚决定公开如下：</p>"
        f'<table border="1">{MANY_HEAD}{cells}</table>'
    )
    return article("示例市生态环境局2026年10月行政处罚信息公开", "2026-11-03 09:30", body)


PDF_DECISION = make_pdf([
    "示例市生态环境局",
    "行政处罚决定书",
    "示环罚〔2026〕17号",
    "当事人：示例印染有限公司",
    "统一社会信用代码：91330100MA2K9L8M7N",
    "一、环境违法事实和证据",
    "2026年2月3日，我局执法人员现场检查发现，你单位污水处理设施未正常运行。",
    "二、行政处罚的依据、种类",
    "依据《中华人民共和国水污染防治法》第八十三条第三项的规定，我局决定对你单位罚款人民币捌万元整。",
    "示例市生态环境局",
    "2026年3月20日",
])
SHELL = '<p>附件：<a href="/files/xzcf-17.pdf">示环罚〔2026〕17号行政处罚决定书.pdf</a></p>'
NOTICE = (
    "<p>2026年3月，示例市生态环境局依法对示例塑料制品厂环境违法行为作出行政处罚决定。根据政府信息公开的有关规定，"
    "现将行政处罚决定书予以公开，具体内容详见附件。</p>"
    '<p>附件：<a href="/files/19.docx">示环罚〔2026〕19号.docx</a></p>'
)
DOCX_19 = make_docx([
    "示例市生态环境局行政处罚决定书",
    "示环罚〔2026〕19号",
    "当事人：示例塑料制品厂",
    "一、环境违法事实和证据",
    "你厂注塑车间产生的挥发性有机物未经收集处理直接排放。",
    "二、行政处罚的依据、种类",
    "依据《中华人民共和国大气污染防治法》第一百零八条第一项的规定，我局决定对你厂罚款人民币伍万元整。",
    "示例市生态环境局",
    "2026年3月28日",
])
PDF_20 = make_pdf([
    "示例县生态环境分局行政处罚决定书",
    "示环罚〔2026〕20号",
    "当事人：示例石材加工厂",
    "一、环境违法事实和证据",
    "你厂切割工序产生的废水未经处理直接排入外环境。",
    "二、行政处罚的依据、种类",
    "依据《中华人民共和国水污染防治法》第八十三条第二项的规定，我局决定对你厂罚款人民币拾万元整。",
    "示例县生态环境分局",
    "2026年3月30日",
])
DOCX_DECISION = make_docx([
    "示例县环境保护局行政处罚决定书",
    "示环罚〔2026〕18号",
    "当事人：示例砖瓦厂",
    "一、环境违法事实和证据",
    "你厂未按规定安装大气污染物排放自动监测设备。",
    "二、行政处罚的依据、种类",
    "依据《中华人民共和国大气污染防治法》第一百条第三项的规定，我局决定对你厂罚款人民币2万元。",
    "示例县环境保护局",
    "2026年3月25日",
])
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def config_for(tmp_path: Path, site: Site, workers: int = 0) -> Path:
    return write_config(
        tmp_path,
        f"""
[categories.penalties]
title = "行政处罚"
rules = {{ include = ["罚款"] }}

[[sources]]
name = "bureau"
url = "{site.url('/list/')}"
kind = "html"
fetch_articles = true
[sources.list]
item = "ul.list li"
date = "span"
""",
        workers=workers,
    )


def poll(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """One `poll --once`, and its line for the source."""
    capsys.readouterr()
    assert main(["poll", "--once", str(config)]) == 0
    captured = capsys.readouterr()
    (line,) = [line for line in (captured.out + captured.err).splitlines() if line.startswith("bureau: ")]
    return line


def atom(tmp_path: Path, name: str = "all") -> dict[str, feedparser.FeedParserDict]:
    parsed = feedparser.parse((tmp_path / "feeds" / f"{name}.atom").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return {entry.title: entry for entry in parsed.entries}


def local_day(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def json_feed(config: Path, name: str = "all") -> dict[str, dict]:
    with served(load_config(config)) as base:
        answer = httpx.get(f"{base}/{name}.json")
    assert answer.status_code == 200
    return {item["title"]: item for item in json.loads(answer.text)["items"]}


def stored_cases(tmp_path: Path) -> dict[str, Case | None]:
    with open_store(tmp_path / "store.json") as store:
        return {item.title: item.case for item in store.items()}


def test_a_decision_table_page_gives_its_row_the_case(tmp_path: Path, site: Site, capsys) -> None:
    site.add("/list/", list_page([("/art/15.html", "示例建材有限公司环境违法行政处罚信息公开表", "2026-03-05")]))
    site.add("/art/15.html", article("示例建材有限公司环境违法行政处罚信息公开表", "2026-03-05 10:00", DECISION_TABLE))
    config = config_for(tmp_path, site)
    assert poll(config, capsys) == "bureau: 1 found, 1 new, 0 changed, 0 reposts"

    ((title, case),) = stored_cases(tmp_path).items()
    assert title == "示例建材有限公司环境违法行政处罚信息公开表"  # a headline of its own stays
    assert case == Case(
        number="示环罚〔2026〕15号", party="示例建材有限公司", credit_code="91330100MA2B3C4D5E",
        violation="该公司粉磨车间未密闭，颗粒物无组织排放，违反了《中华人民共和国大气污染防治法》第四十八条第一款的规定。",
        basis="《中华人民共和国大气污染防治法》第一百零八条第一项", penalty="罚款人民币35.6万元", fine_yuan=356000,
        date="2026-03-02", authority="示例市生态环境局",
    )
    entry = atom(tmp_path, "penalties")[title]
    assert entry.link == site.url("/art/15.html") and "91330100MA2B3C4D5E" in entry.content[0].value
    assert json_feed(config, "penalties")[title]["url"] == site.url("/art/15.html")
    site.add("/list/", list_page([("/art/9.html", "示例市开展大气污染防治专项执法", "2026-03-06"),
                                  ("/art/15.html", "示例建材有限公司环境违法行政处罚信息公开表", "2026-03-05")]))
    site.add("/art/9.html", article("示例市开展大气污染防治专项执法", "2026-03-06 08:00", "<p>本月共检查企业120家。</p>" * 3))
    assert poll(config, capsys) == "bureau: 2 found, 1 new, 0 changed, 0 reposts"
    assert len(site.hits("/art/15.html")) == 1  # known as listed: not read again


def test_a_decision_as_text_is_read_into_its_case(tmp_path: Path, site: Site, capsys) -> None:
    site.add("/list/", list_page([("/art/16.html", "示例市生态环境局行政处罚决定书（示例化工有限公司）", "2026-04-10")]))
    site.add("/art/16.html", article("示例市生态环境局行政处罚决定书（示例化工有限公司）", "2026-04-10 15:00", DECISION_TEXT))
    config = config_for(tmp_path, site)
    assert poll(config, capsys) == "bureau: 1 found, 1 new, 0 changed, 0 reposts"

    ((title, case),) = stored_cases(tmp_path).items()
    assert case is not None
    assert (case.number, case.party, case.credit_code, case.fine_yuan, case.date, case.authority) == (
        "示环罚〔2026〕16号", "示例化工有限公司", "91330100MA2F6G7H8J", 120000, "2026-04-08", "示例市生态环境局"
    )
    assert case.basis == "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第二项"
    assert case.penalty is not None and case.penalty.startswith("罚款人民币壹拾贰万元整")
    assert "危险废物露天堆放" in (case.violation or "")
    assert "危险废物露天堆放" in atom(tmp_path, "penalties")[title].content[0].value
    assert poll(config, capsys) == "bureau: not modified"


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-process"])
def test_a_page_tabling_many_cases_is_one_entry_per_case_and_stays_quiet(tmp_path: Path, site: Site, capsys, workers: int) -> None:
    listed = ("/art/cases-10.html", "示例市生态环境局2026年10月行政处罚信息公开", "2026-11-03")
    site.add("/list/", list_page([listed]))
    site.add("/art/cases-10.html", many_page(MANY_ROWS))
    config = config_for(tmp_path, site, workers)
    assert poll(config, capsys) == "bureau: 1 found, 3 new, 0 changed, 0 reposts"

    entries = atom(tmp_path)
    assert len(entries) == 3 and listed[1] not in entries  # the page itself is no entry
    cases = stored_cases(tmp_path)
    assert {case.number for case in cases.values() if case} == {row[0] for row in MANY_ROWS}
    for title, case in cases.items():
        assert case is not None and case.party and case.party in title and case.number in title
        entry = entries[title]
        assert entry.link == site.url("/art/cases-10.html")
        number, party, violation, penalty, date = next(row for row in MANY_ROWS if row[0] == case.number)
        assert (case.party, case.penalty, case.date) == (party, penalty, date)
        assert local_day(entry.published) == date  # the decision's own date
        # Its content is its own row of the page's table, under the table's heading.
        content = entry.content[0].value
        assert violation in content and "当事人名称" in content
        assert not any(other[1] in content for other in MANY_ROWS if other[0] != number)
    fined = {case.number: case.fine_yuan for case in cases.values() if case}
    assert fined == {"示环罚〔2026〕21号": 200000, "示环罚〔2026〕22号": 55000, "示环罚〔2026〕23号": None}
    first_ids = {title: entry.id for title, entry in entries.items()}
    assert len(set(first_ids.values())) == 3
    assert {item["title"] for item in json_feed(config).values()} == set(entries)
    assert set(atom(tmp_path, "penalties")) == {t for t, c in cases.items() if c and c.fine_yuan}

    # The same list again; the list page changed elsewhere; then a news row more: the case page
    # is not read again, and its entries neither change nor multiply.
    assert poll(config, capsys) == "bureau: not modified"
    site.add("/list/", list_page([listed]).replace("栏目5", "栏目5（新）"))
    assert poll(config, capsys) == "bureau: 1 found, 0 new, 0 changed, 0 reposts"
    assert len(site.hits("/art/cases-10.html")) == 1
    site.add("/list/", list_page([("/art/news-1.html", "示例市召开生态环境执法工作会议", "2026-11-05"), listed]))
    site.add("/art/news-1.html", article("示例市召开生态环境执法工作会议", "2026-11-05 09:00", "<p>会议总结了全年执法工作。</p>" * 3))
    assert poll(config, capsys) == "bureau: 2 found, 1 new, 0 changed, 0 reposts"
    assert len(site.hits("/art/cases-10.html")) == 1
    news = [("/art/news-2.html", "示例市通报第三季度环境质量", "2026-11-06"), ("/art/news-1.html", "示例市召开生态环境执法工作会议", "2026-11-05")]
    site.add("/art/news-2.html", article("示例市通报第三季度环境质量", "2026-11-06 09:00", "<p>全市空气质量优良天数比例同比上升。</p>" * 3))
    site.add("/list/", list_page([*news, listed]))
    assert poll(config, capsys) == "bureau: 3 found, 1 new, 0 changed, 0 reposts"
    assert len(site.hits("/art/cases-10.html")) == 1

    # The publisher adds a decision to the page (and the list shows the page's new date): one new entry.
    site.add("/art/cases-10.html", many_page([*MANY_ROWS, MANY_NEW]))
    site.add("/list/", list_page([*news, (listed[0], listed[1], "2026-11-07")]))
    assert poll(config, capsys) == "bureau: 3 found, 1 new, 0 changed, 0 reposts"
    assert len(site.hits("/art/cases-10.html")) == 2
    after = {title: entry.id for title, entry in atom(tmp_path).items() if entry.link == site.url("/art/cases-10.html")}
    assert len(after) == 4 and {title: after[title] for title in first_ids} == first_ids
    (added,) = set(after) - set(first_ids)
    assert "示例印刷有限公司" in added and "示环罚〔2026〕24号" in added
    assert atom(tmp_path)[added].published == "2026-11-03T01:30:00+00:00"  # no date of its own: the page's

    # The page is gone (the list still shows it, with another date): its entries stay, and the
    # page never becomes an entry of its own.
    site.add("/art/cases-10.html", Response(b"not found", status=404, content_type="text/plain"))
    site.add("/list/", list_page([*news, (listed[0], listed[1], "2026-11-08")]))
    assert poll(config, capsys).startswith("bureau: 3 found, 0 new, 0 changed, 0 reposts; article ")
    assert {title for title, entry in atom(tmp_path).items() if entry.link == site.url("/art/cases-10.html")} == set(after)


def bare_page(title: str, published: str, body: str) -> str:
    """A page that is little more than its body (the shape of a shell page that only links its PDF)."""
    return f"""<html><head><meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{published}">
</head><body>{NAV}<div id="zoom">{body}</div></body></html>"""


def framed_shell(title: str, published: str, body: str) -> str:
    """A shell page in its site's frame: header, breadcrumb, 发布时间 line, footer around a body
    that is only the link (the frame's text may pass for a body: the PDF is read all the same,
    being named as a decision)."""
    return f"""<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{published}"></head><body><div class="header"><div class="nav">{NAV}</div></div>
<div class="main"><div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/col/1/">行政处罚</a></div>
<div class="article"><h1>{title}</h1><div class="info">发布时间：{published} 来源：示例县生态环境分局</div>
<div id="zoom" class="content">{body}</div></div></div>
<div class="footer"><p>主办单位：示例县生态环境分局</p><p>地址：示例县人民路1号 电话：0000-12345678</p></div></body></html>"""


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-process"])
def test_decisions_only_in_documents_give_their_rows_the_case(tmp_path: Path, site: Site, capsys, workers: int) -> None:
    site.add("/list/", list_page([
        ("/art/17.html", "关于示例印染有限公司的行政处罚决定", "2026-03-22"),  # a shell: only a link to the PDF
        ("/files/xzcf-18.docx", "示例砖瓦厂行政处罚决定书", "2026-03-26"),  # the row is the document itself
        ("/art/19.html", "示例市生态环境局行政处罚决定公开", "2026-03-29"),  # a notice; the decision is its DOCX
        ("/art/20.html", "示环罚〔2026〕20号", "2026-03-31"),  # a shell in its frame, listed by its 文号
    ]))
    site.add("/art/20.html", framed_shell("示环罚〔2026〕20号", "2026-03-31 10:00",
                                          '<p>附件：<a href="/files/20.pdf">行政处罚决定书.pdf</a></p>'))
    site.add("/files/20.pdf", Response(PDF_20, content_type="application/pdf"))
    site.add("/art/17.html", bare_page("关于示例印染有限公司的行政处罚决定", "2026-03-22 11:00", SHELL))
    site.add("/files/xzcf-17.pdf", Response(PDF_DECISION, content_type="application/pdf"))
    site.add("/files/xzcf-18.docx", Response(DOCX_DECISION, content_type=DOCX_TYPE))
    site.add("/art/19.html", bare_page("示例市生态环境局行政处罚决定公开", "2026-03-29 16:00", NOTICE))
    site.add("/files/19.docx", Response(DOCX_19, content_type=DOCX_TYPE))
    config = config_for(tmp_path, site, workers)
    assert poll(config, capsys) == "bureau: 4 found, 4 new, 0 changed, 0 reposts"

    cases = stored_cases(tmp_path)
    framed = cases["示例石材加工厂 罚款10万元（示环罚〔2026〕20号）"]
    assert framed is not None and (framed.number, framed.fine_yuan, framed.date) == ("示环罚〔2026〕20号", 100000, "2026-03-30")
    pdf = cases["关于示例印染有限公司的行政处罚决定"]
    assert pdf is not None
    assert (pdf.number, pdf.party, pdf.credit_code, pdf.fine_yuan, pdf.date) == (
        "示环罚〔2026〕17号", "示例印染有限公司", "91330100MA2K9L8M7N", 80000, "2026-03-20"
    )
    docx = cases["示例砖瓦厂行政处罚决定书"]
    assert docx is not None and (docx.number, docx.party, docx.fine_yuan) == ("示环罚〔2026〕18号", "示例砖瓦厂", 20000)
    notice = cases["示例市生态环境局行政处罚决定公开"]
    assert notice is not None and (notice.number, notice.party, notice.fine_yuan, notice.date) == (
        "示环罚〔2026〕19号", "示例塑料制品厂", 50000, "2026-03-28"
    )
    entries = atom(tmp_path)
    shell = entries["关于示例印染有限公司的行政处罚决定"]
    assert "污水处理设施未正常运行" in shell.content[0].value  # the document's text is the content
    assert [link.href for link in shell.links if link.rel == "enclosure"] == [site.url("/files/xzcf-17.pdf")]
    # The notice keeps its own text; its document gave the case (and is in the penalties feed by it).
    assert "具体内容详见附件" in entries["示例市生态环境局行政处罚决定公开"].content[0].value
    assert "示例市生态环境局行政处罚决定公开" in atom(tmp_path, "penalties")
    assert json_feed(config)["关于示例印染有限公司的行政处罚决定"]["attachments"][0]["url"] == site.url("/files/xzcf-17.pdf")


def test_a_list_of_bare_numbers_gets_titles_that_say_who_was_fined_what(tmp_path: Path, site: Site, capsys) -> None:
    site.add("/list/", list_page([
        ("/art/15.html", "示环罚〔2026〕15号", "2026-03-05"),
        ("/art/16.html", "示环罚〔2026〕16号", "2026-04-10"),
    ]))
    site.add("/art/15.html", article("示环罚〔2026〕15号", "2026-03-05 10:00", DECISION_TABLE))
    site.add("/art/16.html", article("示环罚〔2026〕16号", "2026-04-10 15:00", DECISION_TEXT))
    config = config_for(tmp_path, site)
    assert poll(config, capsys) == "bureau: 2 found, 2 new, 0 changed, 0 reposts"

    titles = {"示例建材有限公司 罚款35.6万元（示环罚〔2026〕15号）", "示例化工有限公司 罚款12万元（示环罚〔2026〕16号）"}
    assert set(atom(tmp_path)) == titles and set(atom(tmp_path, "penalties")) == titles
    assert set(json_feed(config)) == titles
    cases = stored_cases(tmp_path)
    assert {title: case.number for title, case in cases.items() if case} == {
        "示例建材有限公司 罚款35.6万元（示环罚〔2026〕15号）": "示环罚〔2026〕15号",
        "示例化工有限公司 罚款12万元（示环罚〔2026〕16号）": "示环罚〔2026〕16号",
    }
    # A list changed elsewhere: these rows are known as listed, neither read again nor retitled.
    site.add("/list/", list_page([("/art/9.html", "示例市开展大气污染防治专项执法", "2026-04-11"),
                                  ("/art/15.html", "示环罚〔2026〕15号", "2026-03-05"),
                                  ("/art/16.html", "示环罚〔2026〕16号", "2026-04-10")]))
    site.add("/art/9.html", article("示例市开展大气污染防治专项执法", "2026-04-11 08:00", "<p>本月共检查企业120家。</p>" * 3))
    assert poll(config, capsys) == "bureau: 3 found, 1 new, 0 changed, 0 reposts"
    assert len(site.hits("/art/15.html")) == 1 and len(site.hits("/art/16.html")) == 1
    assert titles <= set(atom(tmp_path))


def test_a_real_decision_with_two_parties_is_an_entry_per_party_each_with_its_whole_row(tmp_path: Path, site: Site, capsys) -> None:
    # NFRA 浙江监管局: one 文号 for a company and its manager, the 文号, facts and authority printed
    # once in cells spanning both rows (tests/fixtures/cases/tables, labelled).
    listed = "国家金融监督管理总局浙江监管局行政处罚信息公开表（浙金罚决字〔2024〕52号）"
    site.add("/list/", list_page([("/art/52.html", listed, "2025-06-03")]))
    site.add_file("/art/52.html", "cases/tables/t02_nfra_zhejiang_cpic_wenzhou_rows.html")
    config = config_for(tmp_path, site)
    assert poll(config, capsys) == "bureau: 1 found, 2 new, 0 changed, 0 reposts"

    entries = atom(tmp_path)
    assert len(entries) == 2 and listed not in entries and len({entry.id for entry in entries.values()}) == 2
    cases = stored_cases(tmp_path)
    assert {case.number for case in cases.values() if case} == {"浙金罚决字〔2024〕52号"}
    for title, case in cases.items():
        assert case is not None and case.party and title.startswith(case.party)
        content = entries[title].content[0].value  # its own row, the spanning cells carried down into it
        assert "浙金罚决字〔2024〕52号" in content and "给予投保人保险合同约定以外的其他利益" in content
        assert "浙江金融监管局" in content
    manager = next(title for title in entries if title.startswith("陈首伟"))
    assert "警告并罚款14万元" in entries[manager].content[0].value and "56" not in entries[manager].content[0].value
    assert entries[manager].link == site.url("/art/52.html")


def test_try_article_prints_the_case_a_shell_pages_pdf_states(site: Site, capsys) -> None:
    site.add("/art/17.html", bare_page("关于示例印染有限公司的行政处罚决定", "2026-03-22 11:00", SHELL))
    site.add("/files/xzcf-17.pdf", Response(PDF_DECISION, content_type="application/pdf"))
    assert main(["try", site.url("/art/17.html"), "--article", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["case"]["number"] == "示环罚〔2026〕17号" and shown["case"]["party"] == "示例印染有限公司"
    assert shown["case"]["fine_yuan"] == 80000 and shown["content_from"] == "attachment"


def test_cases_without_a_number_are_kept_apart_by_party_and_date_and_a_row_inserted_above_moves_none(
    tmp_path: Path, site: Site, capsys
) -> None:
    # A county's monthly table: no 文号 column; the newest case goes on top, renumbering the rows.
    head = "<tr><th>序号</th><th>当事人名称</th><th>违法事实</th><th>处罚内容</th><th>日期</th></tr>"

    def page(rows: list[tuple[str, str, str, str]]) -> str:
        cells = "".join(
            f"<tr><td>{n}</td>{''.join(f'<td>{value}</td>' for value in row)}</tr>" for n, row in enumerate(rows, start=1)
        )
        return article("示例县环境行政处罚案件信息公开", "2026-09-30 17:00", f'<table border="1">{head}{cells}</table>')

    rows = [
        ("示例混凝土搅拌站", "物料露天堆放未覆盖", "罚款人民币2万元", "2026-09-12"),
        ("示例汽车修理厂", "危险废物未分类贮存", "罚款人民币4万元", "2026-09-03"),
    ]
    listed = ("/art/county-9.html", "示例县环境行政处罚案件信息公开", "2026-09-30")
    site.add("/list/", list_page([listed]))
    site.add("/art/county-9.html", page(rows))
    config = config_for(tmp_path, site)
    assert poll(config, capsys) == "bureau: 1 found, 2 new, 0 changed, 0 reposts"
    first = {title: entry.id for title, entry in atom(tmp_path).items()}
    assert len(first) == 2 and all(case and case.number is None for case in stored_cases(tmp_path).values())
    assert {title.split(" ")[0] for title in first} == {"示例混凝土搅拌站", "示例汽车修理厂"}

    site.add("/art/county-9.html", page([("示例家具厂", "喷漆废气未经处理排放", "罚款人民币6万元", "2026-09-26"), *rows]))
    site.add("/list/", list_page([(listed[0], listed[1], "2026-10-01")]))
    assert poll(config, capsys) == "bureau: 1 found, 1 new, 0 changed, 0 reposts"
    after = {title: entry.id for title, entry in atom(tmp_path).items()}
    assert len(after) == 3 and {title: after[title] for title in first} == first
    (added,) = set(after) - set(first)
    assert added.startswith("示例家具厂") and "喷漆废气未经处理排放" in atom(tmp_path)[added].content[0].value


def test_a_shell_page_linking_two_decisions_is_two_entries_and_a_page_with_a_text_of_its_own_stays_one(
    tmp_path: Path, site: Site, capsys
) -> None:
    two = '<p>附件：<a href="/files/xzcf-17.pdf">行政处罚决定书1.pdf</a> <a href="/files/20.pdf">行政处罚决定书2.pdf</a></p>'
    site.add("/list/", list_page([("/art/shell.html", "行政处罚决定书（2026年3月）", "2026-03-31"),
                                  ("/art/news.html", "示例市通报两起环境违法案件查处情况", "2026-04-01")]))
    site.add("/art/shell.html", bare_page("行政处罚决定书（2026年3月）", "2026-03-31 10:00", two))
    site.add("/art/news.html", bare_page("示例市通报两起环境违法案件查处情况", "2026-04-01 10:00", NOTICE.replace(
        '<a href="/files/19.docx">示环罚〔2026〕19号.docx</a>',
        '<a href="/files/19.docx">示环罚〔2026〕19号.docx</a> <a href="/files/18.docx">示环罚〔2026〕18号.docx</a>',
    )))
    site.add("/files/xzcf-17.pdf", Response(PDF_DECISION, content_type="application/pdf"))
    site.add("/files/20.pdf", Response(PDF_20, content_type="application/pdf"))
    site.add("/files/19.docx", Response(DOCX_19, content_type=DOCX_TYPE))
    site.add("/files/18.docx", Response(DOCX_DECISION, content_type=DOCX_TYPE))
    config = config_for(tmp_path, site)
    assert poll(config, capsys) == "bureau: 2 found, 3 new, 0 changed, 0 reposts"

    cases = stored_cases(tmp_path)
    assert cases["示例市通报两起环境违法案件查处情况"] is None  # its text is no one decision's
    entries = atom(tmp_path)
    printed = {title: entries[title].content[0].value for title, case in cases.items() if case}
    assert {case.number for case in cases.values() if case} == {"示环罚〔2026〕17号", "示环罚〔2026〕20号"}
    (dyeing,) = [title for title in printed if title.startswith("示例印染有限公司")]
    assert "污水处理设施未正常运行" in printed[dyeing] and "切割工序" not in printed[dyeing]  # its own document's text
    assert all(entries[title].link == site.url("/art/shell.html") for title in printed)
