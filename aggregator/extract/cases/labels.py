"""Field labels of penalty decisions: which Case field a label (a table cell, a `当事人：` line) names.

The vocabularies are those of the national 行政处罚信息公开 formats (双公示: 行政相对人名称, 处罚决定书文号,
违法行为类型, 处罚依据, 处罚内容, 罚款金额(万元), 处罚决定日期, 处罚机关) and of the decision documents
(当事人, 统一社会信用代码, 违法事实), which sites of every department reuse. A label is short; a cell
that holds a sentence is a value, whatever words it contains.
"""

from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborNode

from .money import chinese_number

__all__ = ["block_text", "FINE_IN_WAN", "FINE_LABEL", "OTHER", "field_of", "iso_date", "normal_label", "strength"]

_MAX_LABEL = 24  # characters of a label, after normalising
FINE_LABEL = "fine"  # a 罚款金额 column: not a Case field by itself, read into fine_yuan
FINE_IN_WAN = "fine_wan"  # 罚款金额（万元）

_PUNCT = re.compile(r"[\s\u3000\xa0:：*＊·•\-_/|｜]+")
_NOT_LABELS = re.compile(r"[。；;]")

# (field, pattern), first match wins; each pattern is searched in the normalised label.
OTHER = "-"  # a label, but of no Case field (地址, 序号, 法定代表人 …)
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("penalty", re.compile(r"^(?:行政)?处罚(?:的)?(?:种类|类别|类型)$")),
    # 双公示's 违法行为类型 column holds what was done wrong (违反账户管理规定): the facts when no
    # 违法事实 column is there (a weak label, so a real one wins).
    ("violation", re.compile(r"^(?:主要)?违法(?:违规)?行为(?:类型|种类)$")),
    # A column headed by the document's name lists the documents' numbers.
    ("number", re.compile(r"^(?:行政)?处罚决定书(?:号)?$")),
    # Never a field: addresses, representatives, ID documents, publication bookkeeping.
    (OTHER, re.compile(r"地址|住所|住址|法定代表人|负责人|经营者|证件|身份证|联系|电话|邮编|序号|编号$|^备注|公示|发布|更新|有效期|截止|"
                      r"数据来源|来源单位|信息来源|索引|主题分类|浏览|状态|类别$|类型$|^性别|年龄|职务|经营场所|"
                      r"违法依据|违反(?:的)?(?:条款|规定|法律)|违法条款")),  # the law broken, not the penalty's basis
    ("credit_code", re.compile(r"信用代码|注册号|组织机构代码|纳税人识别号|工商注册号|相对人代码")),
    ("number", re.compile(r"文号|决定书号|文书号|决定编号|案件编号|处罚编号|^案号")),
    ("authority", re.compile(r"(?:处罚|决定|执法|实施|作出)(?:的)?(?:机关|单位|部门|机构)|^(?:处罚|决定|执法)(?:机关|部门)名称|^(?:作出)?(?:行政)?处罚(?:决定)?机关")),
    ("party", re.compile(r"当事人|相对人|被处罚|处罚对象|^(?:单位|企业|公司|机构|商户|个体工商户|经营户|主体|对象)名称$|^(?:单位|企业|公司)$|^名称$|^姓名$|^违法(?:主体|单位|企业|者)")),
    (FINE_IN_WAN, re.compile(r"罚款(?:金额|数额)?[（(]?万元[)）]?$")),
    (FINE_LABEL, re.compile(r"罚款(?:金额|数额)(?:[（(]?元[)）]?)?$")),
    ("date", re.compile(r"(?:决定|处罚)(?:书)?(?:作出|签发|下达)?(?:的)?(?:日期|时间)|^作出.*(?:日期|时间)$|^(?:处罚|决定)日$|^日期$")),
    ("basis", re.compile(r"依据|法律条款|处罚条款")),
    ("violation", re.compile(r"违法(?:违规)?(?:失信)?(?:事实|行为)(?!类型|种类|类别)|^案由$|^(?:主要)?违法(?:违规)?情况$|^(?:主要)?(?:违法)?案情|^案件(?:事实|情况)$|^(?:主要)?事实$")),
    ("penalty", re.compile(r"处罚(?:的)?(?:内容|决定(?!书)|结果|情况|种类|类别|措施)|^(?:行政)?处罚$|决定内容|^处理(?:结果|决定|意见)$|^处罚种类和内容")),
]
# Several labels of one table may name one field; the better one wins (处罚内容 over 处罚种类).
_WEAK = re.compile(r"种类|类别|类型|^案由$")


_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "table", "ul", "ol", "dl", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article"})


def block_text(node: LexborNode) -> str:
    """`node`'s text with a line break per block element (p, div, br …) and none at inline ones:
    Word-made cells split one sentence over many spans, which must stay one line."""
    parts: list[str] = []
    stack = [(node.iter(include_text=True), True)]
    while stack:
        children, block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if block:  # the end of a block breaks the line; the end of a <span> does not
                parts.append("\n")
            continue
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.is_element_node:
            if child.tag in _BLOCK_TAGS:
                parts.append("\n")
            if child.tag not in ("script", "style"):
                stack.append((child.iter(include_text=True), child.tag in _BLOCK_TAGS))
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def normal_label(text: str) -> str:
    """A cell's text as a label: whitespace, colons and stars removed, a trailing bracket note kept."""
    return _PUNCT.sub("", text).strip()


def field_of(text: str) -> str | None:
    """The Case field (or FINE_LABEL / FINE_IN_WAN, or OTHER for a label of something else) the
    label `text` names; None when `text` is no label."""
    label = normal_label(text)
    if not label or len(label) > _MAX_LABEL or _NOT_LABELS.search(label) or re.search(r"\d{4}", label):
        return None
    label = re.sub(r"^(?:\d+|[一二三四五六七八九十]+)[、.．]", "", label)
    for name, pattern in _RULES:
        if pattern.search(label):
            return name
    return None


def strength(text: str) -> int:
    """How well a label names its field: 1 for a weak one (处罚种类), 2 otherwise."""
    return 1 if _WEAK.search(normal_label(text)) else 2


_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[年\-/.]\s*(?P<m>\d{1,2})\s*[月\-/.]\s*(?P<d>\d{1,2})\s*日?"
    r"|(?P<cy>[一二〇○零Ｏ][〇○零Ｏ一二三四五六七八九]{3})\s*年\s*(?P<cm>[一二三四五六七八九十]{1,2})\s*月\s*(?P<cd>[一二三四五六七八九十]{1,3})\s*日"
)


def iso_date(text: str | None) -> str | None:
    """The first date in `text` (2024年3月5日, 2024-03-05, 二〇二四年三月五日) as YYYY-MM-DD."""
    for match in _DATE.finditer(text or ""):
        if match.group("y"):
            year, month, day = int(match.group("y")), int(match.group("m")), int(match.group("d"))
        else:
            parts = [chinese_number(match.group(key)) for key in ("cy", "cm", "cd")]
            if None in parts:
                continue
            year, month, day = parts  # type: ignore[misc]
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def find_date(text: str) -> re.Match[str] | None:
    return _DATE.search(text)


def all_dates(text: str) -> list[re.Match[str]]:
    return list(_DATE.finditer(text))
