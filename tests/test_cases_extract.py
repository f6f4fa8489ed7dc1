"""Penalty decisions read as cases (issue 19): what a reader of the feed or of `aggregator try` sees.

Small pages written here exercise each shape (a table per decision, header + value row, a table of
many cases, a decision as text, a document's text) and the bad inputs (merged cells, amounts in words
that cannot be read, notices that look like decisions, a huge table). The labelled real pages are
scored in tests/test_cases_golden.py; the body rule is checked on two of them here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.cli import main
from aggregator.extract.article import extract_article
from aggregator.extract.attachments import DOCX, PDF, read_document
from aggregator.extract.cases import case_in_text, cases_in_html, fine_yuan, looks_like_number, titled
from aggregator.models import CASE_FIELDS, Case, Enclosure
from aggregator.normalise.text import html_to_lines

from .conftest import Site
from .documents import make_docx, make_pdf

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=ZONE)
CASES = Path(__file__).parent / "fixtures" / "cases"

NAV = "<nav><a href='/'>首页</a><a href='/cf'>行政处罚</a><a href='/xk'>行政许可</a></nav>"

PAIRS_TABLE = """<html><head><meta charset="utf-8"><title>行政处罚信息公开表</title></head><body>""" + NAV + """
<h1>行政处罚信息公开表</h1>
<table border="1">
<tr><td>行政处罚决定书文号</td><td>示环罚〔2026〕15号</td></tr>
<tr><td>被处罚当事人</td><td>示例建材有限公司</td></tr>
<tr><td>统一社会信用代码</td><td>91110000ma01abcd3x</td></tr>
<tr><td>主要违法事实</td><td>该公司露天堆放物料未采取防尘措施。</td></tr>
<tr><td>行政处罚依据</td><td>《中华人民共和国大气污染防治法》第一百零八条第一项</td></tr>
<tr><td>行政处罚内容</td><td>罚款人民币35.6万元</td></tr>
<tr><td>作出处罚决定的机关</td><td>示例市生态环境局</td></tr>
<tr><td>作出处罚决定的日期</td><td>2026年3月5日</td></tr>
</table></body></html>"""

WANT_PAIRS = Case(
    number="示环罚〔2026〕15号", party="示例建材有限公司", credit_code="91110000MA01ABCD3X",
    violation="该公司露天堆放物料未采取防尘措施。", basis="《中华人民共和国大气污染防治法》第一百零八条第一项",
    penalty="罚款人民币35.6万元", fine_yuan=356000, date="2026-03-05", authority="示例市生态环境局",
)

TEXT_DECISION = [
    "示例市生态环境局行政处罚决定书",
    "示环罚〔2026〕15号",
    "当事人：示例建材有限公司",
    "统一社会信用代码：91110000MA01ABCD3X",
    "法定代表人：张某某",
    "一、环境违法事实和证据",
    "我局于2026年1月5日对你公司进行现场检查，发现你公司露天堆放物料未采取覆盖措施。",
    "以上事实，有现场检查笔录、照片等证据为凭。",
    "二、行政处罚的依据、种类及其履行方式、期限",
    "依据《中华人民共和国大气污染防治法》第一百零八条第一项的规定，我局决定对你公司作出如下行政处罚：",
    "罚款人民币壹拾贰万元整。",
    "限于接到本处罚决定之日起十五日内缴至指定银行。",
    "三、申请复议或者提起诉讼的途径和期限",
    "如不服本决定，可在收到本决定书之日起六十日内申请行政复议。",
    "示例市生态环境局",
    "二〇二六年三月五日",
]
WANT_TEXT = Case(
    number="示环罚〔2026〕15号", party="示例建材有限公司", credit_code="91110000MA01ABCD3X",
    violation="我局于2026年1月5日对你公司进行现场检查，发现你公司露天堆放物料未采取覆盖措施。\n以上事实，有现场检查笔录、照片等证据为凭。",
    basis="《中华人民共和国大气污染防治法》第一百零八条第一项", penalty="罚款人民币壹拾贰万元整。", fine_yuan=120000,
    date="2026-03-05", authority="示例市生态环境局",
)


def _page(lines: list[str], title: str = "行政处罚决定书") -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in lines)
    return f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>{NAV}<div class='content'>{paragraphs}</div></body></html>"


# ---------------------------------------------------------------- fine_yuan


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("罚款35.6万元", 356000),
        ("罚款人民币壹拾贰万元整", 120000),
        ("罚款1,234.5元", 1235),
        ("罚款1234.49元", 1234),
        ("罚款5000元并处没收违法所得2000元", 5000),
        ("处3万元罚款", 30000),
        ("罚款叁万元整（¥30,000.00）", 30000),
        ("罚款人民币贰拾万零伍佰元", 200500),
        ("依据该法，处二万元以上二十万元以下的罚款。决定处以罚款5万元。", 50000),
        ("对公司罚款10万元，对法定代表人罚款1万元", 110000),
        ("对A罚款10万元，对B罚款5万元，合计罚款15万元。", 150000),
        ("合计罚款158万元。其中，总公司38万元，分支机构120万元。对项某警告并罚款1万元", 1590000),
        ("1.罚款5万元\n2.没收违法所得3000元", 50000),  # a list item after the amount is not more of it
    ],
)
def test_fine_yuan_reads_the_total_fine(text: str, yuan: int) -> None:
    assert fine_yuan(text) == yuan


@pytest.mark.parametrize(
    "text",
    [
        "警告",
        "没收违法所得2000元",
        "罚款人民币叁万伍元",  # 30005 to a parser, 35000 to a speaker: no number is better than a wrong one
        "罚款人民币壹拾贰萬伍元整",
        "罚款人民币三五万元",
        "罚款人民币3万5千元",  # not 5000: the 5千元 is the end of an amount, not one of its own
        "罚款人民币叁万元零伍拾元",  # not 30000: the amount goes on after its 元
        "拟处罚款5万元",
        "对A罚款10万元，对B罚款5万元，合计罚款16万元。",  # a total that is not the sum
        "罚款若干元",
        "罚款" + "1" * 100_000 + "元",  # no fine has a hundred thousand digits
        "罚款" + "一" * 100_000 + "元",
        "",
        None,
    ],
)
def test_fine_yuan_is_none_rather_than_wrong(text: str | None) -> None:
    assert fine_yuan(text) is None


# ---------------------------------------------------------------- titles


def test_a_title_that_is_only_a_number_becomes_party_penalty_and_number() -> None:
    assert looks_like_number("示环罚〔2026〕15号")
    assert looks_like_number(" 京市监罚字[2024]第12号 ")
    assert looks_like_number("行政处罚决定书（示环罚〔2026〕15号）") and looks_like_number("〔2024〕12号")
    assert looks_like_number("（湘）应急罚〔2024〕12号")
    assert not looks_like_number("关于示环罚〔2026〕15号的说明")
    assert not looks_like_number("示例市生态环境局行政处罚信息公开")
    assert titled("示环罚〔2026〕15号", WANT_PAIRS) == "示例建材有限公司 罚款35.6万元（示环罚〔2026〕15号）"
    assert titled("", WANT_PAIRS) == "示例建材有限公司 罚款35.6万元（示环罚〔2026〕15号）"
    assert titled("示例建材有限公司行政处罚信息", WANT_PAIRS) == "示例建材有限公司行政处罚信息"


def test_titles_without_a_fine_say_the_penalty_kind_or_the_party_alone() -> None:
    warned = Case(number="甲罚〔2024〕3号", party="乙公司", penalty="警告")
    assert titled("甲罚〔2024〕3号", warned) == "乙公司 警告（甲罚〔2024〕3号）"
    assert titled("甲罚〔2024〕3号", Case(party="乙公司")) == "乙公司（甲罚〔2024〕3号）"
    assert titled("甲罚〔2024〕3号", Case()) == "甲罚〔2024〕3号"
    assert titled("甲罚〔2024〕3号", None) == "甲罚〔2024〕3号"


# ---------------------------------------------------------------- shapes


def test_a_table_per_decision_gives_every_field() -> None:
    assert cases_in_html(PAIRS_TABLE) == [WANT_PAIRS]


def test_four_column_label_value_table_and_inline_labels() -> None:
    html = """<table>
    <tr><td>当事人名称</td><td>丙餐饮店</td><td>统一社会信用代码</td><td>92440101MA5XXXXX1Q</td></tr>
    <tr><td>决定书文号</td><td>穗市监处罚〔2025〕88号</td><td>处罚决定日期</td><td>2025-11-02</td></tr>
    <tr><td colspan="4">违法事实：销售过期食品。</td></tr>
    <tr><td>处罚依据</td><td colspan="3">《中华人民共和国食品安全法》第一百二十四条</td></tr>
    <tr><td>处罚内容</td><td colspan="3">警告，没收违法所得300元</td></tr>
    </table>"""
    assert cases_in_html(html) == [Case(
        number="穗市监处罚〔2025〕88号", party="丙餐饮店", credit_code="92440101MA5XXXXX1Q", violation="销售过期食品。",
        basis="《中华人民共和国食品安全法》第一百二十四条", penalty="警告，没收违法所得300元", fine_yuan=None, date="2025-11-02",
    )]


def test_a_header_row_and_one_value_row_is_one_decision() -> None:
    html = """<table><tr><th>行政相对人名称</th><th>处罚决定书文号</th><th>违法行为类型</th><th>处罚依据</th>
    <th>处罚内容</th><th>罚款金额（万元）</th><th>处罚决定日期</th><th>处罚机关</th></tr>
    <tr><td>丁化工有限公司</td><td>丁环罚〔2025〕7号</td><td>超标排放</td><td>《中华人民共和国水污染防治法》第八十三条</td>
    <td>罚款</td><td>12.5</td><td>2025/07/09</td><td>丁市生态环境局</td></tr></table>"""
    assert cases_in_html(html) == [Case(
        number="丁环罚〔2025〕7号", party="丁化工有限公司", violation="超标排放",  # 违法行为类型: what was done wrong
        basis="《中华人民共和国水污染防治法》第八十三条", penalty="罚款",
        fine_yuan=125000, date="2025-07-09", authority="丁市生态环境局",
    )]


def test_word_made_cells_split_over_spans_stay_one_line() -> None:
    # Word exports a cell as <p><span>罚款</span><span>56</span><span>万元</span></p>: the end of a
    # span is no line break (it gave "罚款\n56\n万元" and a 文号 "岚卫医罚 [2022]1 号"); a <p> still is.
    span = '<span style="font-family:仿宋_GB2312">{}</span>'
    cell = lambda *parts: "<td><p>" + "".join(span.format(p) for p in parts) + "</p></td>"
    html = ("<table><tr><th>当事人名称</th><th>行政处罚决定书文号</th><th>主要违法事实</th><th>行政处罚内容</th></tr>"
            "<tr>" + cell("甲保险", "股份有限公司") + cell("岚卫医罚", "[2022]1", "号")
            + "<td><p>" + span.format("一、虚列费用") + "</p><p>" + span.format("二、数据不真实") + "</p></td>"
            + cell("罚款", "56", "万元") + "</tr></table>")
    (case,) = cases_in_html(html)
    assert (case.party, case.number, case.violation, case.penalty, case.fine_yuan) == (
        "甲保险股份有限公司", "岚卫医罚[2022]1号", "一、虚列费用\n二、数据不真实", "罚款56万元", 560000)


MANY = """<html><body>""" + NAV + """<table>
<tr><th>序号</th><th>文号</th><th>当事人名称</th><th>违法事实</th><th>处罚内容</th><th>日期</th></tr>
<tr><td>1</td><td>甲罚〔2024〕1号</td><td>甲公司</td><td>超标排放</td><td>罚款10万元</td><td>2024-01-02</td></tr>
<tr><td>2</td><td>甲罚〔2024〕2号</td><td rowspan="2">乙公司</td><td>未批先建</td><td>罚款壹拾贰万元整</td><td>2024-01-03</td></tr>
<tr><td>3</td><td>甲罚〔2024〕3号</td><td>未验先投</td><td>警告</td><td>2024-01-04</td></tr>
</table></body></html>"""


def test_a_page_tabling_many_cases_gives_one_per_row_and_merged_cells_do_not_shift() -> None:
    cases = cases_in_html(MANY)
    assert [(c.number, c.party, c.violation, c.penalty, c.fine_yuan, c.date) for c in cases] == [
        ("甲罚〔2024〕1号", "甲公司", "超标排放", "罚款10万元", 100000, "2024-01-02"),
        ("甲罚〔2024〕2号", "乙公司", "未批先建", "罚款壹拾贰万元整", 120000, "2024-01-03"),
        ("甲罚〔2024〕3号", "乙公司", "未验先投", "警告", None, "2024-01-04"),  # the merged party, then its own cells
    ]


def test_merged_cells_across_columns_and_a_two_row_header() -> None:
    html = """<table>
    <tr><th rowspan="2">序号</th><th colspan="2">当事人</th><th rowspan="2">决定书文号</th><th rowspan="2">处罚结果</th></tr>
    <tr><th>名称</th><th>统一社会信用代码</th></tr>
    <tr><td>1</td><td>戊公司</td><td>91330100MA2XXXXX0K</td><td>浙环罚〔2025〕3号</td><td>罚款2万元</td></tr>
    <tr><td colspan="5">合计：1件</td></tr>
    <tr><td>2</td><td colspan="2">己个体户</td><td>浙环罚〔2025〕4号</td><td>警告</td></tr>
    </table>"""
    cases = cases_in_html(html)
    assert [(c.party, c.credit_code, c.number, c.penalty, c.fine_yuan) for c in cases] == [
        ("戊公司", "91330100MA2XXXXX0K", "浙环罚〔2025〕3号", "罚款2万元", 20000),
        ("己个体户", None, "浙环罚〔2025〕4号", "警告", None),  # its name spans the code column: no code
    ]


def test_a_table_on_its_side_gives_one_case_per_column() -> None:
    html = """<table><tr><td>序号</td><td>1</td><td>2</td></tr>
    <tr><td>当事人名称</td><td>某农村商业银行股份有限公司</td><td>舒某（时任该行独立审批人）</td></tr>
    <tr><td>行政处罚决定书文号</td><td>商金监罚决字〔2025〕10号</td><td>商金监罚决字〔2025〕11号</td></tr>
    <tr><td>主要违法违规行为</td><td colspan="2">贷前调查不尽职</td></tr>
    <tr><td>行政处罚内容</td><td>罚款30万元</td><td>警告</td></tr>
    <tr><td>作出决定机关</td><td colspan="2">商洛金融监管分局</td></tr></table>"""
    assert cases_in_html(html) == [
        Case(number="商金监罚决字〔2025〕10号", party="某农村商业银行股份有限公司", violation="贷前调查不尽职", penalty="罚款30万元",
             fine_yuan=300000, authority="商洛金融监管分局"),
        Case(number="商金监罚决字〔2025〕11号", party="舒某", violation="贷前调查不尽职", penalty="警告", authority="商洛金融监管分局"),
    ]
    wide = PAIRS_TABLE.replace("</td></tr>", "</td><td></td></tr>").replace("<td>示例建材有限公司</td><td></td>", '<td colspan="2">示例建材有限公司</td>')
    assert cases_in_html(wide) == [WANT_PAIRS]  # a label | value table with a spare column is one case


def test_broken_spans_do_not_crash() -> None:
    html = """<table><tr><th>当事人</th><th>文号</th><th>处罚内容</th></tr>
    <tr><td rowspan="0">甲</td><td colspan="x">甲罚〔2024〕1号</td><td rowspan="99999">罚款1万元</td></tr>
    <tr><td colspan="-3">乙</td></tr></table>"""
    cases = cases_in_html(html)
    assert cases[0] == Case(number="甲罚〔2024〕1号", party="甲", penalty="罚款1万元", fine_yuan=10000)


def test_a_decision_as_text_with_sections_signature_and_chinese_date() -> None:
    assert cases_in_html(_page(TEXT_DECISION)) == [WANT_TEXT]
    assert case_in_text("\n".join(TEXT_DECISION)) == WANT_TEXT


def test_a_menu_of_other_decisions_above_the_text_gives_not_their_number() -> None:
    menu = "<ul>" + "".join(f"<li><a href='/{i}.html'>示环罚〔2026〕{i}号</a></li>" for i in (13, 14)) + "</ul>"
    html = _page(TEXT_DECISION).replace("<div class='content'>", menu + "<div class='content'>")
    assert cases_in_html(html) == [WANT_TEXT]


def test_a_decision_without_section_headings_and_a_list_of_penalties() -> None:
    lines = [
        "乙区市场监督管理局行政处罚决定书",
        "乙市监罚字〔2025〕第36号",
        "当事人：乙贸易有限公司（统一社会信用代码：91320000MA1XXXXX2B）",
        "住所：乙区某路1号",
        "经查，当事人于2025年3月起销售未标注生产日期的预包装食品，货值金额3000元，违法所得800元。",
        "上述事实，有现场笔录、进货票据等证据证明。",
        "当事人的上述行为违反了《中华人民共和国食品安全法》第六十七条的规定。",
        "根据《中华人民共和国食品安全法》第一百二十五条第一款第二项的规定，本局决定对当事人作出如下行政处罚：",
        "1.没收违法所得800元；",
        "2.罚款5000元。",
        "当事人应当自收到本决定书之日起十五日内缴纳罚款。",
        "乙区市场监督管理局",
        "2025年6月18日",
    ]
    case = case_in_text("\n".join(lines))
    assert case == Case(
        number="乙市监罚字〔2025〕第36号", party="乙贸易有限公司", credit_code="91320000MA1XXXXX2B",
        violation="经查，当事人于2025年3月起销售未标注生产日期的预包装食品，货值金额3000元，违法所得800元。\n上述事实，有现场笔录、进货票据等证据证明。",
        basis="《中华人民共和国食品安全法》第一百二十五条第一款第二项", penalty="1.没收违法所得800元；\n2.罚款5000元。", fine_yuan=5000,
        date="2025-06-18", authority="乙区市场监督管理局",
    )


def test_labelled_facts_end_at_the_next_label() -> None:
    # A short decision of "label：value" lines: the facts are the 违法事实 line, not the 依据 and
    # 决定 lines below it (they have fields of their own).
    lines = [
        "行政处罚决定书（环罚〔2026〕15号）",
        "当事人：某化工有限公司",
        "统一社会信用代码：91330100MA27XXXX1X",
        "违法事实：超标排放大气污染物。",
        "处罚依据：《中华人民共和国大气污染防治法》第九十九条。",
        "处罚决定：罚款人民币35.6万元。",
        "生态环境部",
        "2026年11月20日",
    ]
    case = case_in_text("\n".join(lines))
    assert case is not None
    assert (case.violation, case.basis, case.penalty, case.fine_yuan) == (
        "超标排放大气污染物。", "《中华人民共和国大气污染防治法》第九十九条", "罚款人民币35.6万元。", 356000,
    )


def test_a_decision_whose_lines_were_run_together() -> None:
    run_together = " ".join(TEXT_DECISION)  # a page that lost its line breaks, as some CMSs print it
    case = case_in_text(run_together)
    assert case is not None
    assert case.as_dict() == {**WANT_TEXT.as_dict(), "violation": WANT_TEXT.violation.replace("\n", " ")}


def test_a_decision_with_a_labelled_violation_line_and_the_party_before_its_code() -> None:
    lines = [
        "某省生态环境厅行政处罚决定书",
        "某环罚〔2025〕9号",
        "某某化工有限公司：统一社会信用代码：91340100MA2XXXXX7P",
        "环境违法行为：我厅于2025年4月2日对你公司进行检查，发现你公司废气处理设施未正常运行。",
        "以上事实，有现场检查笔录等证据为凭。",
        "你公司上述行为违反了《中华人民共和国大气污染防治法》第二十条第二款的规定。",
        "依据《中华人民共和国大气污染防治法》第九十九条第三项的规定，我厅决定对你公司处以罚款人民币贰拾万元整。",
        "某省生态环境厅",
        "2025年5月6日",
    ]
    assert case_in_text("\n".join(lines)) == Case(
        number="某环罚〔2025〕9号", party="某某化工有限公司", credit_code="91340100MA2XXXXX7P",
        violation="我厅于2025年4月2日对你公司进行检查，发现你公司废气处理设施未正常运行。\n以上事实，有现场检查笔录等证据为凭。",
        basis="《中华人民共和国大气污染防治法》第九十九条第三项", penalty="对你公司处以罚款人民币贰拾万元整。", fine_yuan=200000,
        date="2025-05-06", authority="某省生态环境厅",
    )


MARKET_DECISION = """某市市场监督管理局
行政处罚决定书
某市监处罚〔2024〕123号
当事人：某某食品有限公司
主体资格证照名称：营业执照
统一社会信用代码：91330100MA27XXXX5N
住所（住址）：某市某区某路8号
法定代表人（负责人、经营者）：王某某
身份证件号码：3301**********1234
2024年3月1日，本局执法人员对当事人的经营场所进行检查，发现当事人涉嫌销售超过保质期的食品，经批准于同日立案调查。
经查，当事人于2024年2月购进某品牌饼干20箱，其中2箱已超过保质期仍在销售，货值金额共计360元，违法所得50元。
以上事实，有现场笔录、询问笔录、进货单据等证据证明。
本局认为，当事人销售超过保质期的食品的行为，违反了《中华人民共和国食品安全法》第三十四条第十项的规定。
当事人在陈述申辩中提出其系初次违法，请求从轻处罚。
综上，依据《中华人民共和国食品安全法》第一百二十四条第一款第五项的规定，本局决定：
1.没收超过保质期的饼干2箱；
2.没收违法所得50元；
3.罚款50000元。
当事人应当自收到本处罚决定书之日起十五日内，通过某银行缴纳罚没款。
当事人如不服本处罚决定，可以在收到本处罚决定书之日起六十日内向某市人民政府申请行政复议。
某市市场监督管理局
（印章）
2024年4月15日
（市场监督管理部门将依法向社会公示本行政处罚决定信息）"""

SAFETY_DECISION = """某县应急管理局
行政处罚决定书
（某）应急罚〔2024〕7号
被处罚单位：某某建材有限公司 地址：某县某镇 邮政编码：000000
法定代表人：李某 职务：总经理 联系电话：138********
违法事实及证据：2024年5月8日，我局执法人员对你单位进行安全检查，发现你单位未对从业人员进行安全生产教育和培训。
以上事实有现场检查记录等证据为证。
你单位的上述行为违反了《中华人民共和国安全生产法》第二十八条第一款的规定。
依据《中华人民共和国安全生产法》第九十七条第三项的规定，决定给予罚款人民币叁万元整的行政处罚。
罚款限于2024年6月30日前缴至某县财政局。
如果不服本处罚决定，可以依法申请行政复议。
某县应急管理局
2024年6月1日"""


def test_a_market_regulation_decision_with_its_party_block_and_a_numbered_penalty() -> None:
    assert case_in_text(MARKET_DECISION) == Case(
        number="某市监处罚〔2024〕123号", party="某某食品有限公司", credit_code="91330100MA27XXXX5N",
        violation="经查，当事人于2024年2月购进某品牌饼干20箱，其中2箱已超过保质期仍在销售，货值金额共计360元，违法所得50元。\n"
        "以上事实，有现场笔录、询问笔录、进货单据等证据证明。",
        basis="《中华人民共和国食品安全法》第一百二十四条第一款第五项",
        penalty="1.没收超过保质期的饼干2箱；\n2.没收违法所得50元；\n3.罚款50000元。", fine_yuan=50000,
        date="2024-04-15", authority="某市市场监督管理局",
    )


def test_a_safety_decision_with_a_bracketed_issuer_and_the_penalty_in_one_sentence() -> None:
    assert case_in_text(SAFETY_DECISION) == Case(
        number="（某）应急罚〔2024〕7号", party="某某建材有限公司",
        violation="2024年5月8日，我局执法人员对你单位进行安全检查，发现你单位未对从业人员进行安全生产教育和培训。\n以上事实有现场检查记录等证据为证。",
        basis="《中华人民共和国安全生产法》第九十七条第三项", penalty="给予罚款人民币叁万元整的行政处罚。", fine_yuan=30000,
        date="2024-06-01", authority="某县应急管理局",
    )


def test_a_tax_decision_addressed_to_its_party_with_no_decide_word() -> None:
    lines = [
        "国家税务总局示例市税务局第一稽查局",
        "税务行政处罚决定书",
        "示税稽罚〔2024〕88号",
        "示例贸易有限公司：（纳税人识别号：91440101MA5XXXXX9L）",
        "经我局于2023年1月1日至2023年12月31日对你单位的纳税情况进行了检查，你单位存在违法事实及处罚依据如下：",
        "一、违法事实",
        "你单位2021年少缴增值税50,000.00元。",
        "二、处罚决定",
        "根据《中华人民共和国税收征收管理法》第六十三条第一款的规定，对你单位少缴的增值税处百分之五十的罚款25,000.00元。",
        "以上应缴款项共计25,000.00元。限你单位自本决定书送达之日起15日内缴纳入库。",
        "国家税务总局示例市税务局第一稽查局",
        "2024年5月6日",
    ]
    assert case_in_text("\n".join(lines)) == Case(
        number="示税稽罚〔2024〕88号", party="示例贸易有限公司", credit_code="91440101MA5XXXXX9L", violation="你单位2021年少缴增值税50,000.00元。",
        basis="《中华人民共和国税收征收管理法》第六十三条第一款", penalty="对你单位少缴的增值税处百分之五十的罚款25,000.00元。",
        fine_yuan=25000, date="2024-05-06", authority="国家税务总局示例市税务局第一稽查局",
    )


def test_a_securities_decision_with_several_parties_and_a_bare_number() -> None:
    lines = [
        "中国证监会行政处罚决定书（示例股份有限公司、张某）",
        "〔2024〕12号",
        "当事人：示例股份有限公司（以下简称示例股份），住所：北京市。",
        "张某，男，1970年出生，时任示例股份董事长，住址：北京市。",
        "经查明，示例股份存在以下违法事实：",
        "一、未按规定披露关联交易",
        "2021年，示例股份与关联方发生非经营性资金往来。",
        "我会认为，示例股份的上述行为违反了《证券法》第七十八条第二款的规定。",
        "依据《中华人民共和国证券法》第一百九十七条第二款的规定，我会决定：",
        "一、对示例股份有限公司责令改正，给予警告，并处以500万元罚款；",
        "二、对张某给予警告，并处以200万元罚款。",
        "上述当事人应自收到本处罚决定书之日起15日内，将罚款汇交中国证券监督管理委员会。",
        "中国证监会",
        "2024年3月15日",
    ]
    case = case_in_text("\n".join(lines))
    assert case is not None
    assert (case.number, case.party, case.fine_yuan, case.date, case.authority) == ("〔2024〕12号", "示例股份有限公司", 7_000_000, "2024-03-15", "中国证监会")
    assert case.penalty == "一、对示例股份有限公司责令改正，给予警告，并处以500万元罚款；\n二、对张某给予警告，并处以200万元罚款。"
    assert case.basis == "《中华人民共和国证券法》第一百九十七条第二款"


def test_a_decision_table_in_a_docx_reads_like_the_table() -> None:
    rows = [[label, value] for label, value in (
        ("行政处罚决定书文号", "示环罚〔2026〕15号"), ("被处罚当事人", "示例建材有限公司"), ("统一社会信用代码", "91110000MA01ABCD3X"),
        ("主要违法事实", "该公司露天堆放物料未采取防尘措施。"), ("行政处罚依据", "《中华人民共和国大气污染防治法》第一百零八条第一项"),
        ("行政处罚内容", "罚款人民币35.6万元"), ("作出处罚决定的机关", "示例市生态环境局"), ("作出处罚决定的日期", "2026年3月5日"),
    )]
    body = make_docx(["行政处罚信息公开表"], table=rows)
    text = read_document(body, Enclosure("http://127.0.0.1/a.docx", DOCX), max_bytes=10**7, seconds=30).text
    assert case_in_text(text) == WANT_PAIRS
    assert case_in_text(text.replace("行政处罚信息公开表", "行政处罚事先告知书")) is None


@pytest.mark.parametrize("kind", [PDF, DOCX])
def test_a_decision_in_an_attachment(kind: str) -> None:
    body = make_pdf(TEXT_DECISION) if kind == PDF else make_docx(TEXT_DECISION)
    text = read_document(body, Enclosure("http://127.0.0.1/a", kind), max_bytes=10**7, seconds=30).text
    case = case_in_text(text)
    assert case is not None
    assert (case.number, case.party, case.fine_yuan, case.date, case.authority) == (
        "示环罚〔2026〕15号", "示例建材有限公司", 120000, "2026-03-05", "示例市生态环境局")


# ---------------------------------------------------------------- not decisions


def test_a_notice_of_intent_that_looks_like_a_decision_is_no_case() -> None:
    notice = [line.replace("行政处罚决定书", "行政处罚事先告知书").replace("我局决定对你公司作出", "我局拟对你公司作出") for line in TEXT_DECISION]
    assert cases_in_html(_page(notice, "行政处罚事先（听证）告知书")) == []
    assert case_in_text("\n".join(notice)) is None
    hearing = PAIRS_TABLE.replace("行政处罚内容", "拟作出的行政处罚内容")
    assert cases_in_html(hearing) == []
    urged = _page(["示例市生态环境局催告书", *TEXT_DECISION[1:]], "催告书")
    assert cases_in_html(urged) == []


def test_news_and_lists_about_penalties_are_no_cases() -> None:
    news = _page([
        "近日，示例市生态环境局对示例建材有限公司作出行政处罚决定，罚款35.6万元。",
        "该局相关负责人表示，将继续加大执法力度，依法查处各类环境违法行为。",
    ], "我市依法查处一起大气污染案件")
    links = "<html><body><ul>" + "".join(
        f"<li><a href='/{i}.html'>示例市生态环境局行政处罚决定书（示环罚〔2026〕{i}号）</a><span>2026-03-0{i}</span></li>" for i in range(1, 8)
    ) + "</ul></body></html>"
    record = """<table><tr><td>索引号</td><td>11370000/2026-001</td><td>发布机构</td><td>示例市生态环境局</td></tr>
    <tr><td>文号</td><td>示环罚〔2026〕15号</td><td>发布日期</td><td>2026-03-06</td></tr></table><p>行政处罚决定书见附件。</p>"""
    assert cases_in_html(news) == []
    assert cases_in_html(links) == []
    assert cases_in_html(record) == []
    assert cases_in_html("") == [] and cases_in_html("<html>") == []


def test_a_huge_table_is_read_without_trouble_up_to_its_cap() -> None:
    rows = "".join(
        f"<tr><td>{i}</td><td>甲罚〔2024〕{i}号</td><td>公司{i}</td><td>超标排放</td><td>罚款{i}元</td></tr>" for i in range(1, 5001)
    )
    html = f"<table><tr><th>序号</th><th>文号</th><th>当事人</th><th>违法事实</th><th>处罚内容</th></tr>{rows}</table>"
    cases = cases_in_html(html)
    assert 1000 <= len(cases) < 5000
    assert cases[0] == Case(number="甲罚〔2024〕1号", party="公司1", violation="超标排放", penalty="罚款1元", fine_yuan=1)
    assert cases[-1].fine_yuan == len(cases)  # the rows kept are the first ones, each with its own values


# ---------------------------------------------------------------- the article page


def test_extract_article_fills_cases_and_the_body_is_the_table_not_the_sidebar() -> None:
    duties = "".join(f"<p>{i}、负责全市生态环境监督管理，拟订并组织实施生态环境政策、规划和标准，统一负责生态环境监测和执法工作。</p>" for i in range(1, 8))
    table = PAIRS_TABLE.split("<h1>", 1)[1].split("</body>")[0]
    html = (f"<html><head><meta charset='utf-8'><title>行政处罚信息公开表</title></head><body>{NAV}"
            f"<div class='side'><h3>主要职责</h3>{duties}</div><div class='main'><h1>{table}</div></body></html>")
    page = extract_article(html, "http://127.0.0.1/cf/1.html", None, tz=ZONE, now=NOW)
    assert page.cases == [WANT_PAIRS]
    assert page.content_html is not None and "<table" in page.content_html
    assert "行政处罚决定书文号" in page.content_html and "2026年3月5日" in page.content_html
    assert "主要职责" not in page.content_html and "统一负责生态环境监测" not in page.content_html


def test_an_ordinary_article_has_no_cases() -> None:
    html = _page(["为贯彻落实生态环境保护要求，现就开展执法检查有关事项通知如下。" * 5], "关于开展执法检查的通知")
    assert extract_article(html, "http://127.0.0.1/a.html", None, tz=ZONE, now=NOW).cases == []


@pytest.mark.parametrize(
    ("file", "first_cell", "last_cell"),
    [
        ("t01_nfra_hq_fosun_health_table.html", "行政处罚决定书文号", "2024年7月8日"),
        ("t02_nfra_zhejiang_cpic_wenzhou_rows.html", "序号", "警告并罚款14万元"),
    ],
)
def test_on_real_pages_the_body_is_the_whole_decision_table(file: str, first_cell: str, last_cell: str) -> None:
    from aggregator.extract.decode import decode_page

    html = decode_page((CASES / "tables" / file).read_bytes(), None, None, "http://fixture.invalid/")
    page = extract_article(html, "http://fixture.invalid/" + file, None, tz=ZONE, now=NOW)
    assert page.content_html is not None and page.content_html.count("<table") == 1
    text = html_to_lines(page.content_html)
    lines = text.splitlines()
    assert lines[0].replace(" ", "") == first_cell and last_cell in text
    assert "主要职责" not in text and "机构概况" not in text  # the sidebar of duties and the menu stay out


# ---------------------------------------------------------------- aggregator try --article --json


def test_try_article_json_prints_the_case_with_exactly_its_fields(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/cf/1.html", PAIRS_TABLE)
    assert main(["try", site.url("/cf/1.html"), "--article", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload["case"]) == list(CASE_FIELDS)
    assert payload["case"] == WANT_PAIRS.as_dict()
    assert "cases" not in payload

    site.add("/cf/list.html", MANY)
    assert main(["try", site.url("/cf/list.html"), "--article", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [case["number"] for case in payload["cases"]] == ["甲罚〔2024〕1号", "甲罚〔2024〕2号", "甲罚〔2024〕3号"]
    assert payload["case"] is None and all(list(case) == list(CASE_FIELDS) for case in payload["cases"])

    site.add("/news.html", _page(["近日，我局依法查处一起大气污染案件，罚款35.6万元。" * 3], "我市依法查处一起大气污染案件"))
    assert main(["try", site.url("/news.html"), "--article", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["case"] is None and "cases" not in payload


def test_try_article_reads_the_case_from_a_shell_pages_document(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/doc/15.pdf", make_pdf(TEXT_DECISION), content_type=PDF)
    site.add("/cf/15.html", "<html><head><meta charset='utf-8'><title>示环罚〔2026〕15号</title></head><body>"
             "<h1>示环罚〔2026〕15号</h1><p><a href='/doc/15.pdf'>行政处罚决定书.pdf</a></p></body></html>")
    assert main(["try", site.url("/cf/15.html"), "--article", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["case"] is not None
    assert (payload["case"]["party"], payload["case"]["fine_yuan"]) == ("示例建材有限公司", 120000)

    assert main(["try", site.url("/cf/15.html"), "--article"]) == 0
    out = capsys.readouterr().out
    assert "case: number='示环罚〔2026〕15号', party='示例建材有限公司'" in out


def test_a_name_printed_over_two_paragraphs_of_one_cell_is_one_name() -> None:
    html = """<table><tr><td>行政处罚决定书文号</td><td>戊环罚〔2025〕3号</td></tr>
    <tr><td>当事人名称</td><td><p>戊市某某</p><p>化工有限公司</p></td></tr>
    <tr><td>处罚内容</td><td>罚款5万元</td></tr>
    <tr><td>作出处罚决定的机关</td><td><p>戊市</p><p>生态环境局</p></td></tr></table>"""
    (case,) = cases_in_html(html)
    assert (case.party, case.authority, case.fine_yuan) == ("戊市某某化工有限公司", "戊市生态环境局", 50000)
