"""Decisions on an HTML page: its tables first, else its text.

The page's chrome (nav, header, footer, aside, scripts, forms) is dropped before reading, so a
menu of 行政处罚 links or a sidebar never reads as a decision. A page whose headline names a notice
(事先告知书, 催告书, 听证, 送达公告) states no decision, whatever its table holds.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ...models import Case
from .table import cases_in_table, labels_of
from .text import case_in_text, is_notice_heading

__all__ = ["cases_in_html", "may_hold_cases"]

# A page with none of these words states no decision: the cheap look before any parsing.
_WORDS = re.compile(r"当事人|被处罚|相对人|处罚决定|处罚内容|处罚结果|违法事实|决定书")
_CHROME = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "select", "button", "iframe"]
# Block tags: each starts a line of the page's text (inline tags such as span do not).
_BLOCK = re.compile(r"<(?:br|/?p|/?div|/?tr|/?td|/?th|/?li|/?h[1-6]|/?table|/?section|/?article|/?dd|/?dt|/?blockquote|/?pre|/?center)\b[^>]*>", re.I)
_TABLE_FIELDS = frozenset({"number", "party", "violation", "penalty", "basis"})
_MAX_CASES = 2000


def may_hold_cases(text: str) -> bool:
    """Whether `text` (a page's HTML or text) has any word a decision is labelled with."""
    return "处罚" in text and bool(_WORDS.search(text))  # the substring test first: it is far cheaper


def _headline(tree: LexborHTMLParser) -> str:
    parts = []
    for css in ("title", "h1"):  # not h2/h3: sidebars head their boxes with them (征求意见, 通知公告)
        node = tree.css_first(css)
        if node is not None:
            parts.append(node.text(deep=True, separator="", strip=True)[:80])
    return " ".join(parts)


def _innermost_tables(root: LexborNode) -> list[LexborNode]:
    # A node's css() includes the node itself: an innermost table finds one table.
    return [table for table in root.css("table") if len(table.css("table")) == 1]


def cases_in_html(html: str | None) -> list[Case]:
    """The penalty decisions the page states: one for a decision (a table or text), one per data
    row for a page tabling many; [] for any other page."""
    if not html or not may_hold_cases(html):
        return []
    tree = LexborHTMLParser(html)
    if is_notice_heading(_headline(tree)):
        return []
    root = tree.body or tree.root
    if root is None:
        return []
    tree.strip_tags(_CHROME)
    cases: list[Case] = []
    seen: set[Case] = set()  # a print copy of the table states the same cases again
    for table in _innermost_tables(root):
        if len(labels_of(table) & _TABLE_FIELDS) < 2:
            continue  # layout, statistics or record tables: no need to lay them out
        caption = table.css_first("caption")
        if caption is not None and is_notice_heading(caption.text(deep=True, separator="", strip=True)):
            continue
        for case in cases_in_table(table):
            if case not in seen:
                seen.add(case)
                cases.append(case)
        if len(cases) >= _MAX_CASES:
            return cases[:_MAX_CASES]
    if cases:
        return cases
    case = case_in_text(page_text(root))
    return [case] if case is not None else []


def page_text(root: LexborNode) -> str:
    """The text of `root`, a line per block element (a span inside a line stays in it)."""
    marked = _BLOCK.sub(lambda m: m.group(0) + "\n", root.html or "")
    tree = LexborHTMLParser(marked)
    node = tree.body or tree.root
    return node.text(deep=True, separator="", strip=False) if node is not None else ""
