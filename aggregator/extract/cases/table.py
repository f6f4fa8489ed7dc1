"""Decisions in HTML tables: a table per decision, or a table of many decisions.

Two shapes, told apart by where the labels are:
- label and value side by side (行政处罚决定书文号 | 示环罚〔2026〕15号), in two or four columns;
- a header row of labels (序号 | 文号 | 当事人 | 违法事实 | 处罚内容 | 日期) and a data row per decision.
Merged cells are laid out on a grid first (rowspan/colspan), so a value spanning several rows
counts for each of them and never shifts the columns after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from ...models import Case
from .labels import FINE_IN_WAN, FINE_LABEL, OTHER, block_text, field_of, strength
from .values import make_case

__all__ = ["cases_in_table"]

_MAX_ROWS = 2000  # a table longer than this is read up to here (a page tabling cases, paged by the site)
_MAX_SPAN = 100
_MAX_COLUMNS = 40
_KEY_FIELDS = frozenset({"number", "party", "violation", "penalty", "basis"})


@dataclass(slots=True)
class Cell:
    text: str
    origin: int  # one id per <td>: a merged cell has the same origin on every grid square it covers
    label: str | None  # field_of(text)


def _cell_text(node: LexborNode) -> str:
    return block_text(node)


def _span(node: LexborNode, name: str) -> int:
    try:
        value = int(re.sub(r"\D", "", node.attributes.get(name) or "") or 1)
    except ValueError:
        return 1
    return max(1, min(value, _MAX_SPAN))


def grid(table: LexborNode) -> list[list[Cell | None]]:
    """The table's rows as a grid; a merged cell fills every square it covers."""
    rows: list[list[Cell | None]] = []
    pending: dict[tuple[int, int], Cell] = {}  # squares filled by a rowspan from above
    origin = 0
    for r, row in enumerate(table.css("tr")):
        if r >= _MAX_ROWS:
            break
        cells: list[Cell | None] = []
        col = 0
        for node in row.iter():
            if node.tag not in ("td", "th"):
                continue
            while (r, col) in pending:
                cells.append(pending.pop((r, col)))
                col += 1
            text = _cell_text(node)
            cell = Cell(text, origin, field_of(text) if len(text) <= 40 else None)
            origin += 1
            width, height = _span(node, "colspan"), _span(node, "rowspan")
            for c in range(col, min(col + width, _MAX_COLUMNS)):
                cells.append(cell)
                for below in range(1, height):
                    pending[(r + below, c)] = cell
            col += width
        while (r, col) in pending:
            cells.append(pending.pop((r, col)))
            col += 1
        rows.append(cells)
        # Squares promised to this row beyond its own cells belong to no later row.
        for key in [key for key in pending if key[0] <= r]:
            del pending[key]
    return rows


def _distinct(row: list[Cell | None]) -> list[Cell]:
    out: list[Cell] = []
    for cell in row:
        if cell is not None and (not out or out[-1].origin != cell.origin):
            out.append(cell)
    return out


def _is_header(row: list[Cell | None]) -> bool:
    cells = [c for c in _distinct(row) if c.text]
    if len(cells) < 3:
        return False
    labels = [c for c in cells if c.label is not None]
    fields = {c.label for c in labels} & _KEY_FIELDS
    return len(labels) >= 0.7 * len(cells) and len(fields) >= 2 and ("party" in fields or "number" in fields)


def _header_table(rows: list[list[Cell | None]], at: int) -> list[Case]:
    header = rows[at]
    columns: dict[int, tuple[str, str]] = {}  # column -> (field, label text)
    for c, cell in enumerate(header):
        if cell is not None and cell.label and cell.label != OTHER:
            columns[c] = (cell.label, cell.text)
    # A second header row under merged labels (当事人 over 名称 | 统一社会信用代码) names them better.
    start = at + 1
    if start < len(rows) and _mostly_labels(rows[start]):
        for c, cell in enumerate(rows[start]):
            if cell is not None and cell.label and cell.label != OTHER and (header[c] is None or cell.origin != header[c].origin):
                columns[c] = (cell.label, cell.text)
        start += 1
    chosen = _best_columns(columns)
    cases: list[Case] = []
    for row in rows[start:]:
        distinct = _distinct(row)
        if len([c for c in distinct if c.text]) < 2 or _is_header(row):
            continue  # a caption, a 合计 line or a repeated header
        values: dict[str, str] = {}
        for name, c in chosen.items():
            if c < len(row) and row[c] is not None and row[c].text:
                values[name] = row[c].text
        case = make_case(values)
        if case is not None:
            cases.append(case)
    return cases


def _mostly_labels(row: list[Cell | None]) -> bool:
    cells = [c for c in _distinct(row) if c.text]
    return bool(cells) and all(c.label is not None for c in cells)


def _best_columns(columns: dict[int, tuple[str, str]]) -> dict[str, int]:
    """field -> column: where two columns name one field, the stronger label, then the first."""
    chosen: dict[str, tuple[int, int]] = {}
    for c, (name, text) in sorted(columns.items()):
        rank = strength(text)
        if name not in chosen or rank > chosen[name][1]:
            chosen[name] = (c, rank)
    return {name: c for name, (c, _rank) in chosen.items()}


_INLINE_LABEL = re.compile(r"^([^:：\n]{2,16})[:：]\s*(.+)$", re.S)


def _pairs_table(rows: list[list[Cell | None]]) -> Case | None:
    """Label cells followed by their values (two or four columns); `标签：值` in one cell too."""
    found: dict[str, tuple[str, int]] = {}  # field -> (value, label strength)

    def put(name: str, label: str, value: str) -> None:
        rank = strength(label)
        if value and (name not in found or rank > found[name][1]):
            found[name] = (value, rank)

    for row in rows:
        cells = _distinct(row)
        i = 0
        while i < len(cells):
            cell = cells[i]
            if cell.label is not None and i + 1 < len(cells) and cells[i + 1].label is None:
                if cell.label != OTHER:
                    put(cell.label, cell.text, cells[i + 1].text)
                i += 2
                continue
            if cell.label is None and (match := _INLINE_LABEL.match(cell.text)):
                name = field_of(match.group(1))
                if name is not None and name != OTHER:
                    put(name, match.group(1), match.group(2).strip())
            i += 1
    return make_case({name: value for name, (value, _rank) in found.items()}, pairs=True)


def _columns_table(rows: list[list[Cell | None]]) -> list[Case] | None:
    """A table turned on its side: labels down the first column, one decision per further column
    (序号 | 1 | 2 | 3, 当事人名称 | A | B | C …). None when the table is not laid out so."""
    labelled = [row for row in rows if row and row[0] is not None and row[0].label is not None and len(row) >= 3]
    if len(labelled) < 3 or len({row[0].label for row in labelled} & _KEY_FIELDS) < 2:
        return None
    width = max(len(row) for row in labelled)
    if any(cell is not None and cell.label not in (None, OTHER) for row in labelled for cell in row[1:]):
        return None  # labels inside the table: label | value | label | value pairs
    split = sum(1 for row in labelled if len({cell.origin for cell in row[1:] if cell is not None}) > 1)
    if split < 2:
        return None  # each value spans the row: a label | value table drawn three columns wide
    cases: list[Case] = []
    for c in range(1, width):
        values = {}
        for row in labelled:
            label = row[0]
            if label.label != OTHER and c < len(row) and row[c] is not None and row[c].text and label.label not in values:
                values[label.label] = row[c].text
        case = make_case(values)
        if case is not None:
            cases.append(case)
    return cases if len(cases) >= 2 else None


def cases_in_table(table: LexborNode) -> list[Case]:
    """The decisions one table (with no table inside it) states; [] for any other table."""
    rows = grid(table)
    if not rows or any(cell is not None and cell.label and "拟" in cell.text for row in rows for cell in row):
        return []  # 拟处罚: a notice of intent, not a decision
    for at, row in enumerate(rows[:5]):
        if _is_header(row):
            cases = _header_table(rows, at)
            if cases:
                return cases
    if (columns := _columns_table(rows)) is not None:
        return columns
    case = _pairs_table(rows)
    return [case] if case is not None else []


def labels_of(table: LexborNode) -> set[str]:
    """The fields the table's (short) cells name: a cheap look before reading it."""
    out: set[str] = set()
    for node in table.css("td, th"):
        text = node.text(deep=True, separator="", strip=True)
        if len(text) <= 40 and (name := field_of(text)) is not None:
            out.add(name)
    return out


_DECISION_FIELDS = frozenset({"number", "party", "credit_code", "violation", "basis", "penalty", "date", "authority"})


def is_decision_table(table: LexborNode) -> bool:
    """A table labelled as penalty decisions: three of the Case fields, two of them among 文号,
    当事人, 违法事实, 依据, 处罚. A 政府信息公开 record table (索引号, 文号, 发布机构) is not one."""
    text = table.text(deep=True, separator="", strip=False)
    if "处罚" not in text and "当事人" not in text:
        return False
    labels = labels_of(table)
    return len(labels & _DECISION_FIELDS) >= 3 and len(labels & _KEY_FIELDS) >= 2


__all__ += ["grid", "is_decision_table", "labels_of", "FINE_LABEL", "FINE_IN_WAN"]
