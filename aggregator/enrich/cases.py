"""Penalty decisions (行政处罚) on a row's page: the row's case, or one entry per case.

A page (or, when the page states none, its documents) stating one decision gives its row
that case, and a title that says who was fined what when the list showed only the 文号. A
page tabling several decisions becomes one entry per decision; the page itself is none.
Each such entry is keyed by its page and its 文号 (else its party and date), never by its
row's place in the table, so a row added to the page later is one new entry and the others
stay as they are.

`case_rows_html` runs in the worker processes (it parses the page's body); the rest on the
event loop with what the workers returned.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import lxml.html
from lxml import etree

from ..extract.cases import titled
from ..models import Case, RawItem
from ..normalise.urls import item_key

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
# 文号 are printed with any of these brackets: 示环罚〔2026〕15号, 示环罚[2026]15号, 示环罚（2026）15号.
_BRACKETS = str.maketrans("〔［【（[{", "((((((", ) | str.maketrans("〕］】）]}", "))))))")


def fold(text: str) -> str:
    """What two printings of one 文号 or name share: no whitespace, one kind of bracket, half-width."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).translate(_BRACKETS)


def case_ids(page_url: str, cases: Sequence[Case]) -> list[str]:
    """A permanent upstream id for each case a page tables (a `urn:` id: `item_key` keeps it).

    Made of the page's key and the case's 文号; a case without one by its party and date; one
    with neither by everything it states. Two cases that would share an id (a 文号 printed twice)
    are told apart by their order among those that share it, not by their place in the table.
    """
    page = item_key(page_url)
    seen: Counter[tuple[str, ...]] = Counter()
    ids = []
    for case in cases:
        if case.number:
            basis: tuple[str, ...] = ("number", fold(case.number))
        elif case.party:
            basis = ("party", fold(case.party), case.date or "")
        else:
            basis = ("case", *(fold(str(value)) for value in case.as_dict().values() if value is not None))
        repeat = seen[basis]
        seen[basis] += 1
        text = "\x00".join((page, *basis, *([str(repeat)] if repeat else [])))
        ids.append("urn:x-case:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return ids


def with_cases(raw: RawItem, cases: Sequence[Case], contents: Sequence[str | None] = ()) -> list[RawItem]:
    """The row with the case its page states, or one entry per case for a page stating several.

    `contents`: each case's own content (its row of the page's table, its document's text),
    None where there is none: the publisher's case table is then the entry's content.
    """
    if not cases:
        return [raw]
    if len(cases) == 1:
        raw.case = cases[0]
        raw.title = titled(raw.title, cases[0])
        return [raw]
    entries = []
    for case, upstream_id, content in zip(cases, case_ids(raw.url, cases), [*contents, *[None] * len(cases)]):
        entry = dataclasses.replace(
            raw, upstream_id=upstream_id, title=case_title(case, raw.title), case=case, summary_html=None,
            content_html=content, content_sanitised=content is not None, attachment_text=None, shared_link=False,
            original_url=None,  # the page's 原文链接: as a repost of it, every case would merge into that one item
        )
        if case.date:  # the decision's own date; the page's is only when it was published
            entry.published, entry.published_text = None, case.date
        entries.append(entry)
    return entries


def case_title(case: Case, page_title: str) -> str:
    """One case of a page's table: party, penalty and 文号, as a bare-文号 title is told; the
    文号 alone when the case names neither party nor penalty, else the page's title."""
    return titled("", case) or case.number or page_title


def case_rows_html(content_html: str | None, cases: Sequence[Case]) -> list[str | None]:
    """Each case's own row of the page's table, under the table's heading rows, as a table.

    The row as the publisher printed it (with columns a case record has no field for). None
    for a case whose row is not found exactly once, and for every case of a page with no
    table naming two of them.
    """
    none: list[str | None] = [None] * len(cases)
    if not content_html or "<tr" not in content_html or len(cases) < 2:
        return none
    try:
        root = lxml.html.fragment_fromstring(content_html, create_parent="div")
    except (etree.ParserError, ValueError):  # nothing to parse: no rows
        return none
    for table in root.iter("table"):
        rows = [row for row in table.iter("tr") if _own(row, table)]
        texts = [fold(row.text_content()) for row in rows]
        numbers = Counter(fold(case.number) for case in cases if case.number)
        found = [_row_of(case, texts, numbers) for case in cases]
        named = [at for at in found if at is not None]
        if len(named) < 2:
            continue
        whole = _whole_rows(rows)
        heading = whole[: min(named)]
        return [None if at is None else _one_row_table(heading, whole[at]) for at in found]
    return none


def _own(row: etree._Element, table: etree._Element) -> bool:
    """A row of this table, not of a table nested in one of its cells."""
    parent = row.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent is table


def _row_of(case: Case, texts: list[str], numbers: Counter[str]) -> int | None:
    """The one row naming the case, or None: the row with its 文号 and its party; else the one
    with its party (a decision's other parties share its 文号, often in a cell spanning their
    rows); else the one with its 文号, when no other case has that 文号."""
    number, party = fold(case.number or ""), fold(case.party or "")
    tries = [(number, party)] if number and party else []
    tries += [(party,)] if party else []
    tries += [(number,)] if number and numbers[number] == 1 else []
    for needles in tries:
        hits = [at for at, text in enumerate(texts) if all(needle in text for needle in needles)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            return None  # named in several rows: none of them is surely its own
    return None


def _whole_rows(rows: list[etree._Element]) -> list[etree._Element]:
    """Copies of the rows, each with the cells of rows above that span down into it (a
    decision's 文号 printed once for its several parties), and no rowspan left."""
    out = []
    above: dict[int, tuple[etree._Element, int]] = {}  # column -> (cell spanning down, rows it still covers)
    for row in rows:
        whole = etree.Element("tr")
        own = [cell for cell in row if isinstance(cell.tag, str) and cell.tag in ("td", "th")]
        column = 0
        while own or any(at >= column for at in above):
            if column in above:
                cell, left = above.pop(column)
                if left > 1:
                    above[column] = (cell, left - 1)
            elif own:
                cell = own.pop(0)
                span = _span(cell.get("rowspan"))
                if span > 1:
                    above[column] = (cell, span - 1)
            else:
                column += 1
                continue
            kept = copy.deepcopy(cell)
            kept.tail = None
            kept.attrib.pop("rowspan", None)
            whole.append(kept)
            column += _span(cell.get("colspan"))
        out.append(whole)
    return out


def _span(value: str | None) -> int:
    try:
        return max(1, min(int((value or "1").strip()), 1000))
    except ValueError:  # rowspan="" or "2a": as browsers, one
        return 1


def _one_row_table(heading: list[etree._Element], row: etree._Element) -> str:
    """The heading rows and the case's row, without a 序号 column: a row's number moves when
    the publisher inserts a case above it, and the entry must not change with it."""
    kept = [copy.deepcopy(one) for one in (*heading, row)]
    cells = [[cell for cell in one if isinstance(cell.tag, str)] for one in kept]
    width = len(cells[-1])
    ordinal = next(
        (
            at for head in cells[:-1] if len(head) == width for at, cell in enumerate(head)
            if _text(cell) == "序号" and _text(cells[-1][at]).isdigit()
        ),
        None,
    )
    table = etree.Element("table")
    for one, its in zip(kept, cells):
        if ordinal is not None and len(its) == width:
            one.remove(its[ordinal])
        table.append(one)
    return lxml.html.tostring(table, encoding="unicode")


def _text(cell: etree._Element) -> str:
    return fold("".join(cell.itertext()))
