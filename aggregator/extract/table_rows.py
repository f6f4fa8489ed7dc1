"""Table rows in auto mode: a forum's or a letters office's table, where each row holds several
links (title, author, category, last reply) in cells that are columns, not rival stories.

Split from auto_list.py, which calls these while it scores candidate lists.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborNode

if TYPE_CHECKING:
    from .auto_list import _Candidate, _Group, _Page

TABLE_ROWS = frozenset({"tr", "tbody", "table"})  # rows whose cells are columns


def labels(rows: list[LexborNode], group: _Group, page: _Page) -> set[str]:
    """Link texts that recur in several rows: a category, an author, a department, a status.

    They are a column of the rows (forum and letters tables link them), never a row's story.
    """
    counts: Counter[str] = Counter()
    for row in rows:
        links = group.links[row.mem_id]
        if len(links) > 1:  # a row's only link is its story whatever it says
            counts.update({page.title(a)[0] for a in links})
    return {text for text, k in counts.items() if k >= 2}


def column(link: LexborNode, row: LexborNode, page: _Page) -> str:
    """The kind of table cell a link sits in within its row ("" outside a table row).

    In a table row each cell is a column (title, author, last reply): links in other
    kinds of cells are the row's details, not rival stories.
    """
    node = link
    for _ in range(8):
        parent = node.parent
        if parent is None or node.mem_id == row.mem_id:
            return ""
        if parent.tag == "tr" and node.tag in ("td", "th"):
            return page.describe(node)
        node = parent
    return ""


def title_column(
    rows: list[LexborNode], links: list[LexborNode], group: _Group, labels: set[str], page: _Page
) -> list[LexborNode]:
    """In table rows, each row's story from the column most rows' stories are in.

    A table's titles are one column; a row whose author or last poster has a name longer
    than its short title still has its title in the title column.
    """
    columns = Counter(column(link, row, page) for row, link in zip(rows, links))
    wanted, count = columns.most_common(1)[0]
    if not wanted or count == len(rows):
        return links
    out = []
    for row, link in zip(rows, links):
        if column(link, row, page) != wanted:
            inside = [
                a for a in group.links[row.mem_id] if column(a, row, page) == wanted and page.title(a)[0] not in labels
            ]
            link = max(inside, key=page.weight) if inside else link
        out.append(link)
    return out


def drop_cells(candidates: list[_Candidate]) -> list[_Candidate]:
    """Without the candidates whose rows are cells of table rows that are a candidate themselves.

    A forum or letters table row holds a title cell, an author cell, a last-reply cell: read
    by cells, a row would become three items. When the table rows read as one story each,
    they are the list; cells stay rows only where a table row holds several stories.
    """
    row_sets = [{n.mem_id for n in c.rows} for c in candidates]
    kept = []
    for candidate in candidates:
        if candidate.rows[0].tag not in ("td", "th"):
            kept.append(candidate)
            continue
        lines: list[tuple[int, int]] = []  # each cell's table row, and the <tbody> around it
        for cell in candidate.rows:
            line = cell.parent
            outer = line.parent if line is not None else None
            lines.append((line.mem_id if line is not None else 0, outer.mem_id if outer is not None else 0))
        covered = any(
            sum(1 for line, outer in lines if line in other or outer in other) >= 0.8 * len(lines) for other in row_sets
        )
        if not covered:
            kept.append(candidate)
    return kept
