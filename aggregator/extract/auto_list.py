"""Auto mode: the news list of a page found without selectors.

The candidate lists are groups of repeated sibling rows; each is scored, the
best one's rows are read by list_rows.py, and the selectors that find it are
written out as TOML for [sources.list].
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborNode

from ..models import SourceError
from ..normalise.dates import find_date_span
from .list_rows import (
    _CUT,
    _css,
    _first,
    _full_title,
    _is_card,
    _pair_dates,
    _row_date,
    _row_dates,
    _Rules,
    _split_link,
    Hidden,
    node_text,
    select_value,
)
from ..normalise.dates import parse_date
from .table_rows import column as cell_column
from .table_rows import TABLE_ROWS, drop_cells, title_column
from .table_rows import labels as table_labels

# Hand-written because no maintained library finds the news list of a page
# (trafilatura and friends extract article bodies). The signals are the ones
# that hold across sites: rows of the same tag and classes under one parent,
# one dominant article link per row, a date per row (or a date header above a
# run of rows), title length, article-like URLs, and no navigation, footer,
# tab or sidebar ancestry.

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Row elements. `table` and `ul` too: old CMSs write one small table (or one <ul> of
# title / date cells) per row; forums (Discuz) one <tbody> per thread.
_ITEM_TAGS = frozenset(
    {"li", "tr", "dd", "dt", "dl", "div", "p", "article", "section", "h2", "h3", "h4", "td", "table", "ul", "tbody"}
)
_NAV_WORDS = re.compile(r"nav|menu|header|footer|foot\b|breadcrumb|crumb|topbar|banner|copyright|friend|links?\b|sitemap", re.I)
# A tab menu's own container; only the rows' parent or grandparent counts, since a
# `div.tab` often wraps the tabbed panels that hold the lists themselves.
_TAB_WORD = re.compile(r"(?:\w*[-_])?tabs?(?:[-_]?(?:nav|menu|tit|title|head|header|btn|bar|list|item)s?)?", re.I)
_SIDE_WORDS = re.compile(r"side|right|related|relate|hot|rank|recommend|tuijian|xgxw|zxxx|latest|paihang|gg_?right", re.I)
_NOT_ARTICLE = frozenset({"更多", "more", "more>>", "更多>>", "详细", "查看更多", "下一页", "上一页", "首页", "尾页"})
_CSS_IDENT = re.compile(r"-?[_a-zA-Z][_a-zA-Z0-9-]*")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TITLE_MARK = re.compile(r"title|tit\b|headline|subject|biaoti", re.I)
# Layout helpers say nothing about what a block is; they stay out of signatures and selectors.
_LAYOUT_CLASSES = frozenset({"clearfix", "clear", "cf", "clearfloat"})
_COLUMN_PAGE = re.compile(r"(?:^|/)(?:index|default|list|more)(?:_\d+)?\.\w+$")
_ATTACHMENT = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|ofd|zip|rar|txt)$")
_PAGE_EXT = re.compile(r"\.(?:s?html?|php|aspx?|jsp)$")
_DIGITS = re.compile(r"\d{4,}")
_DATE_ONLY = re.compile(r"[\d\s:./年月日时分秒T+\-]+|(?:\d+\s*(?:秒|分钟|小时|天)前|昨天|前天|今天|刚刚)[\d\s:]*")
_ID_SEGMENT = re.compile(r"(?=[\w-]*\d)(?=[\w-]*[a-zA-Z])[\w-]{8,}")


def _url_score(href: str) -> float:
    """How much a link looks like an article or attachment (1) rather than a column or site (0.2)."""
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return 0.0
    path = parts.path
    lower = path.lower()
    if _COLUMN_PAGE.search(lower):
        return 0.2
    segments = [s for s in path.split("/") if s]
    if _DIGITS.search(path) or any(_ID_SEGMENT.fullmatch(s) for s in segments):
        return 1.0  # t20230423_1027951, art_1229116_58938545, /2025/04/275909, /s/B5Mfat-h2t…
    if _ATTACHMENT.search(lower):
        return 1.0
    if re.search(r"\d", parts.query):
        return 0.8  # ?id=123
    if _PAGE_EXT.search(lower) or len(segments) >= 3:
        return 0.5
    return 0.2


def _classes(node: LexborNode) -> list[str]:
    return [
        c for c in (node.attributes.get("class") or "").split() if c not in _LAYOUT_CLASSES and _CSS_IDENT.fullmatch(c)
    ]


def _describe(node: LexborNode) -> str:
    """A CSS description of one element: tag plus its (CSS-safe) classes."""
    return node.tag + "".join("." + c for c in _classes(node))


def _id_selector(node: LexborNode) -> str | None:
    ident = node.attributes.get("id")
    if not ident:
        return None
    if _CSS_IDENT.fullmatch(ident):
        return f"{node.tag}#{ident}"
    return f'{node.tag}[id="{ident}"]' if '"' not in ident else None


def _article_like(link: LexborNode, href: str, text: str, page: _Page) -> bool:
    href = href.strip().lower()
    if not href or href.startswith(("javascript:", "#", "mailto:", "tel:")):
        return False
    text = text or (link.attributes.get("title") or "")
    if text.lower() in _NOT_ARTICLE:
        return False
    if not (len(text) >= 6 or len(_CJK.findall(text)) >= 4):
        return False
    # A link whose text is a date (a forum's "last post" time) is a row's date, not its story.
    return not (len(text) <= 24 and _DATE_ONLY.fullmatch(text) and parse_date(text, page.tz, page.now))


def _penalty(node: LexborNode | None) -> float:
    """How much a group looks like navigation, tabs, a footer or a sidebar, from its ancestors."""
    factor = 1.0
    depth = 0
    while node is not None and node.tag not in ("body", "html", "-undef") and depth < 12:
        if node.tag in ("nav", "header", "footer"):
            return 0.05
        if node.tag == "aside":
            factor = min(factor, 0.35)
        marks = " ".join(filter(None, (node.attributes.get("class"), node.attributes.get("id"))))
        if marks:
            if _NAV_WORDS.search(marks) or (depth < 2 and any(_TAB_WORD.fullmatch(w) for w in marks.split())):
                factor = min(factor, 0.1)
            elif _SIDE_WORDS.search(marks):
                factor = min(factor, 0.35)
        node = node.parent
        depth += 1
    return factor


class _Page:
    """Per-page caches: the same nodes are described and read many times."""

    def __init__(self, tz: ZoneInfo, now: datetime, root: LexborNode) -> None:
        self.tz, self.now = tz, now
        self.hidden = Hidden(root)
        self._text: dict[int, str] = {}
        self._described: dict[int, str] = {}
        self._titles: dict[int, tuple[str, LexborNode | None]] = {}
        self._weights: dict[int, float] = {}
        self._hrefs: dict[int, str] = {}
        self.inner_dates: dict[int, str | None] = {}  # set by title()
        self.headers: dict[int, str | None] = {}

    def text(self, node: LexborNode) -> str:
        found = self._text.get(node.mem_id)
        if found is None:
            found = self._text[node.mem_id] = node_text(node)
        return found

    def describe(self, node: LexborNode) -> str:
        found = self._described.get(node.mem_id)
        if found is None:
            found = self._described[node.mem_id] = _describe(node)
        return found

    def title(self, link: LexborNode) -> tuple[str, LexborNode | None]:
        """A link's title as a user should see it, and the element inside a card that holds it."""
        found = self._titles.get(link.mem_id)
        if found is None:
            element = _card_title(link) if _is_card(link) else None
            if element is not None:
                text, self.inner_dates[link.mem_id] = self.text(element), None
            else:
                own, self.inner_dates[link.mem_id] = _split_link(link, self.tz, self.now)
                text = _full_title(own, link.attributes.get("title"))
            found = self._titles[link.mem_id] = (text, element)
        return found

    def href(self, link: LexborNode) -> str:
        found = self._hrefs.get(link.mem_id)
        if found is None:
            found = self._hrefs[link.mem_id] = link.attributes.get("href") or ""
        return found

    def weight(self, link: LexborNode) -> float:
        """How much a link is a row's headline: title length, doubled inside a heading."""
        found = self._weights.get(link.mem_id)
        if found is None:
            text = self.title(link)[0]
            parent = link.parent
            heading = parent is not None and (parent.tag in _HEADINGS or (parent.parent is not None and parent.parent.tag in _HEADINGS))
            found = self._weights[link.mem_id] = len(text) * (2.0 if heading else 1.0)
        return found


def _card_title(link: LexborNode) -> LexborNode | None:
    """The title element inside a card link: a heading, or an element whose class says title."""
    for node in link.css("*"):
        if node.tag in _HEADINGS or _TITLE_MARK.search(node.attributes.get("class") or ""):
            if node_text(node):
                return node
    return None


@dataclass(slots=True)
class _Group:
    parent: LexborNode
    rows: dict[int, LexborNode] = field(default_factory=dict)
    parents: set[int] = field(default_factory=set)
    links: dict[int, list[LexborNode]] = field(default_factory=dict)


@dataclass(slots=True)
class _Candidate:
    score: float
    group: _Group
    rows: list[LexborNode]
    links: list[LexborNode]  # the article link of each row
    item: str  # tag and the classes every row has
    dated: bool


def _outermost(node: LexborNode, page: _Page, tops: dict[int, LexborNode]) -> LexborNode:
    """The outermost of directly nested containers of the same shape as `node` (memoised)."""
    chain: list[LexborNode] = []
    shape = page.describe(node)
    current = node
    while True:
        known = tops.get(current.mem_id)
        if known is not None:
            top = known
            break
        chain.append(current)
        parent = current.parent
        if parent is None or parent.tag in ("body", "html", "-undef") or page.describe(parent) != shape:
            top = current
            break
        current = parent
    for member in chain:
        tops[member.mem_id] = top
    return top



def _place(
    node: LexborNode, card: bool, groups: dict[tuple[int, str, str, str], _Group], tops: dict[int, LexborNode], page: _Page
) -> tuple[_Group | None, LexborNode | None]:
    """The group `node` is a row of (if any) and the ancestor to look at next (None: stop)."""
    parent = node.parent
    if parent is None or parent.tag in ("html", "-undef"):
        return None, None
    group = None
    if node.tag in _ITEM_TAGS or card:
        # Rows are keyed by tag only (a first row's extra class stays in the group).
        # Containers of the same shape form one group: a list split into several
        # <ul>s of five, or a date-grouped list whose groups nest (unclosed divs).
        grand = _outermost(parent, page, tops).parent
        great = grand.parent if grand is not None else None
        key = (
            great.mem_id if great is not None else 0,
            page.describe(grand) if grand is not None else "",
            page.describe(parent),
            node.tag,
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(parent)
        group.rows[node.mem_id] = node
        group.links[node.mem_id] = []
        group.parents.add(parent.mem_id)
    return group, (None if parent.tag == "body" else parent)


def _groups(root: LexborNode, page: _Page) -> list[_Group]:
    groups: dict[tuple[int, str, str, str], _Group] = {}
    tops: dict[int, LexborNode] = {}
    # Ancestors are shared by many links: each element is placed once.
    placed: dict[int, tuple[_Group | None, LexborNode | None]] = {}
    hidden = page.hidden.links() if page.hidden.ids else set()
    for link in root.css("a[href]"):
        if not _article_like(link, page.href(link), page.text(link), page):
            continue
        # Hidden links (a row's sub-list of 解读 links shown on hover, an inactive tab) are
        # not what a reader sees as the list, nor rival stories of a row.
        if link.mem_id in hidden:
            continue
        node: LexborNode | None = link
        card = _is_card(link)
        for _ in range(7):
            if node is None:
                break
            mem_id = node.mem_id
            entry = placed.get(mem_id)
            if entry is None:
                entry = placed[mem_id] = _place(node, card and mem_id == link.mem_id, groups, tops, page)
            group, node = entry
            if group is not None:
                group.links[mem_id].append(link)
    return _merge_split_lists(groups, page)


def _row_shape(row: LexborNode, page: _Page) -> frozenset[str]:
    # The first few dozen elements say enough; a huge container would cost a walk of the page.
    return frozenset(page.describe(n) for n in islice(row.traverse(), 1, 40))


def _merge_split_lists(groups: dict[tuple[int, str, str, str], _Group], page: _Page) -> list[_Group]:
    """One group for a list split over sibling containers (`ul.a` + `ul.b` of five rows each).

    Containers merge only when their rows look alike (same elements inside), so
    a tab menu in a `ul` beside the list's `ul` stays apart.
    """
    buckets: dict[tuple[int, str, str, str], list[_Group]] = {}
    for (great, grand, _, tag), group in groups.items():
        buckets.setdefault((great, grand, group.parent.tag, tag), []).append(group)
    merged: list[_Group] = []
    for members in buckets.values():
        if len(members) == 1:
            merged.extend(members)
            continue
        kept: list[tuple[frozenset[str], _Group]] = []
        for group in members:
            shape = _row_shape(next(iter(group.rows.values())), page)
            into = next((g for s, g in kept if s == shape), None)
            if into is None:
                kept.append((shape, group))
                continue
            into.rows.update(group.rows)
            into.links.update(group.links)
            into.parents.update(group.parents)
        merged.extend(g for _, g in kept)
    return merged


def _exclusions(row: LexborNode, link: LexborNode, page: _Page) -> list[LexborNode]:
    """What is not a row's date: its title, and its link unless the link is a card holding the date."""
    element = page.title(link)[1]
    exclude = [element] if element is not None else []
    if link.mem_id != row.mem_id and element is None:
        exclude.append(link)
    return exclude + page.hidden.parts(row)


def _evaluate(group: _Group, page: _Page, min_items: int) -> _Candidate | None:
    rows = list(group.rows.values())
    if len(rows) < min_items:
        return None
    if len(rows) > 1 and len(group.parents) == len(rows):
        return None  # each "row" is the only one in its parent: a wrapper, the row is higher up
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(set(_classes(row)))
    # Classes (nearly) every row has make the row's signature; rows without them are something else.
    core = {c for c, k in counts.items() if k >= 0.8 * len(rows)}
    # A row lacking one of them but having a class every row has is a variant of the same
    # block (`data_row news_photo` among `data_row news_article`): an item if it is dated.
    variants: set[int] = set()
    if core:
        base = any(k == len(rows) for c, k in counts.items() if c in core)
        variants = {r.mem_id for r in rows if not core <= set(_classes(r))} if base else set()
        rows = [r for r in rows if r.mem_id in variants or core <= set(_classes(r))]
    picks: list[LexborNode] = []
    links: list[LexborNode] = []
    crowded = 0
    labels = table_labels(rows, group, page) if any(len(group.links[r.mem_id]) > 1 for r in rows) else set()
    for row in rows:
        candidates = group.links[row.mem_id]
        if len(candidates) > 24:
            crowded += 1  # no news row holds two dozen article links
            continue
        stories = candidates
        if labels and len(candidates) > 1:
            stories = [a for a in candidates if page.title(a)[0] not in labels] or candidates
        best = max(stories, key=page.weight)
        top = page.weight(best)
        rival = 0.0
        if len(stories) > 1:
            href = page.href(best)
            column = cell_column(best, row, page)
            rival = max(
                (page.weight(a) for a in stories if page.href(a) != href and cell_column(a, row, page) == column), default=0.0
            )
        if rival * 2 > top:
            crowded += 1  # several stories in one block: a box of lists, not a row
            continue
        if row.mem_id in variants and not (
            page.inner_dates.get(best.mem_id) or _row_date(row, _exclusions(row, best, page), page.tz, page.now, page.headers)
        ):
            continue
        picks.append(row)
        links.append(best)
    if len(picks) < min_items or not picks:
        return None
    if picks[0].tag in TABLE_ROWS:
        links = title_column(picks, links, group, labels, page)
    sample = list(zip(picks[:24], links[:24]))
    pairs = _pair_dates(picks[:24], page.tz, page.now) or {}
    dated = length = urls = 0.0
    for row, link in sample:
        length += min(len(page.title(link)[0]), 40)
        urls += _url_score(page.href(link))
        if (
            page.inner_dates.get(link.mem_id)
            or row.mem_id in pairs
            or _row_date(row, _exclusions(row, link, page), page.tz, page.now, page.headers)
        ):
            dated += 1
    date_share = dated / len(sample)
    title_factor = min(length / len(sample), 24) / 24
    crowd = crowded / len(rows)
    score = (
        len(picks) * (0.25 + date_share) * title_factor * (0.4 + 0.6 * urls / len(sample))
        * (1 - 0.7 * crowd) * _penalty(group.parent)
    )
    shared = set(core).intersection(*(_classes(p) for p in picks))  # a variant row's extra class is not the item's
    order = [c for c in _classes(picks[0]) if c in shared]
    item = picks[0].tag + "".join("." + c for c in order)
    return _Candidate(score, group, picks, links, item, date_share >= 0.5)


def _relative_link_selector(items: list[LexborNode], links: list[LexborNode]) -> str | None:
    """A selector that finds, in every item, exactly its article link."""
    first, link = items[0], links[0]
    candidates = ["a"]
    parent = link.parent
    if parent is not None and parent.mem_id != first.mem_id:
        if parent.tag in _HEADINGS:
            candidates.append(f"{parent.tag} > a")
            candidates.append(f"{parent.tag} a")
    described = _describe(link)
    if described != "a":
        candidates.append(described)
    if parent is not None and parent.mem_id != first.mem_id:
        candidates.append(f"{_describe(parent)} > a")
        candidates.append(f"{_describe(parent)} > {described}")
    siblings = [n for n in parent.iter() if n.tag == "a"] if parent is not None else []
    if siblings:
        index = next((i for i, n in enumerate(siblings) if n.mem_id == link.mem_id), None)
        if index is not None:
            candidates.append(f"a:nth-of-type({index + 1})")
    for css in candidates:
        try:
            if all((_first(item, css) or item).mem_id == want.mem_id for item, want in zip(items, links)):
                return css
        except SourceError:
            continue
    return None


def _title_selector(items: list[LexborNode], links: list[LexborNode], page: _Page) -> str | None:
    """For card links (title, date and counts glued in one link): the element holding the title."""
    element = page.title(links[0])[1]
    if element is None:
        return None
    for css in dict.fromkeys((_describe(element), element.tag)):
        if all(select_value(item, css)[1] == page.title(link)[0] for item, link in zip(items, links)):
            return css
    return None


def _date_selector(items: list[LexborNode], links: list[LexborNode], page: _Page) -> str | None:
    """The element holding the date, when the date has an element of its own."""
    for first, link in zip(items[:5], links[:5]):
        found = _row_dates(first, _exclusions(first, link, page), page.tz, page.now)[0]
        if found:
            break
    else:
        return None
    title_element = page.title(link)[1]
    best: LexborNode | None = None
    for node in first.css("*"):
        if node.mem_id == link.mem_id or node.tag == "a" or (title_element is not None and node.mem_id == title_element.mem_id):
            continue
        text = page.text(node)
        # On a tie the inner element wins: `div.tag > span.time` gives `span.time`.
        if found in text and (best is None or len(text) <= len(page.text(best))):
            best = node
    if best is None:
        return None
    css = _describe(best)
    hits = 0
    sample = items[:60]
    for item in sample:
        node = _first(item, css)
        if node is not None and find_date_span(node_text(node), page.tz, page.now):
            hits += 1
    return css if hits >= max(1, len(sample) * 0.8) else None


def _item_selector(candidate: _Candidate, root: LexborNode, page: _Page) -> tuple[str, bool]:
    """A selector for the rows, and whether it selects exactly them."""
    parent = candidate.group.parent
    item = candidate.item
    wanted = {n.mem_id for n in candidate.rows}
    allowed = set(candidate.group.rows)
    options = []
    parent_id = _id_selector(parent)
    if parent_id:
        options.append(f"{parent_id} > {item}")
    options.append(f"{page.describe(parent)} > {item}")
    if "." in item:
        options.append(item)
    grand = parent.parent
    if grand is not None and grand.tag not in ("html", "body", "-undef"):
        options.append(f"{_id_selector(grand) or page.describe(grand)} > {parent.tag} > {item}")
    ancestor = parent.parent
    chain = page.describe(parent)
    for _ in range(5):
        if ancestor is None or ancestor.tag in ("html", "body", "-undef"):
            break
        ident = _id_selector(ancestor)
        chain = f"{ident or page.describe(ancestor)} > {chain}"
        options.append(f"{chain} > {item}")
        if ident:
            break
        ancestor = ancestor.parent
    near: str | None = None
    for css in options:
        try:
            got = {n.mem_id for n in _css(root, css)}
        except SourceError:
            continue
        if got == wanted:
            return css, True
        if near is None and wanted <= got <= allowed:
            near = css
    return (near, True) if near else (options[-1], False)


def _label(node: LexborNode, page: _Page) -> str:
    """`div.nav_list > ul` rather than a bare `ul`: up to the nearest element with an id or class."""
    chain = [_id_selector(node) or page.describe(node)]
    current = node
    for _ in range(3):
        if "." in chain[0] or "#" in chain[0] or "[" in chain[0]:
            break
        current = current.parent
        if current is None or current.tag in ("html", "body", "-undef"):
            break
        chain.insert(0, _id_selector(current) or page.describe(current))
    return " > ".join(chain)


def _inside(node: LexborNode | None, ids: set[int]) -> bool:
    for _ in range(16):
        if node is None:
            return False
        if node.mem_id in ids:
            return True
        node = node.parent
    return False


@dataclass(slots=True)
class _Choice:
    nodes: list[LexborNode]
    rules: _Rules
    lines: list[str]  # TOML lines for [sources.list]
    over: list[str]  # the lists not chosen, described for the user
    dated: bool
    item: str
    weak: bool  # navigation-, sidebar-like or undated: a stand-in when the page's own list is missing
    hidden: Hidden  # the page's hidden parts, for reading the rows


def _auto(root: LexborNode, tz: ZoneInfo, now: datetime, min_items: int) -> _Choice | None:
    page = _Page(tz, now, root)
    candidates: list[_Candidate] = []
    top = 0.0
    # Largest groups first; a group whose every factor were perfect (1.25 per row)
    # and still scored under an eighth of the best so far cannot matter.
    for group in sorted(_groups(root, page), key=lambda g: len(g.rows), reverse=True):
        if len(group.rows) * 1.25 < top / 8:
            break
        candidate = _evaluate(group, page, min_items)
        if candidate is not None:
            candidates.append(candidate)
            top = max(top, candidate.score)
    if not candidates:
        return None
    candidates = drop_cells(candidates)
    candidates.sort(key=lambda c: c.score, reverse=True)
    best = candidates[0]
    rows, links = best.rows, best.links
    rules = _Rules()
    link_css = _relative_link_selector(rows, links)
    if link_css and link_css != "a":
        rules.link = f"{link_css}@href"
    rules.title = _title_selector(rows, links, page)
    if rules.title is None and link_css:
        titles_cut = sum(1 for a in links if _CUT.search(page.text(a)) and a.attributes.get("title"))
        if titles_cut:
            rules.title = f"{link_css}@title"
    rules.date = _date_selector(rows, links, page)
    item_css, exact = _item_selector(best, root, page)
    nodes = _css(root, item_css) if exact else rows
    lines = [f"item = {json.dumps(item_css, ensure_ascii=False)}"]
    if rules.title:
        lines.append(f"title = {json.dumps(rules.title, ensure_ascii=False)}")
    if rules.link != "a@href":
        lines.append(f"link = {json.dumps(rules.link, ensure_ascii=False)}")
    if rules.date:
        lines.append(f"date = {json.dumps(rules.date, ensure_ascii=False)}")
    if link_css is None:
        # No selector singles the link out; extraction still uses the nodes found.
        lines.append("# (no selector found for the link in every row: check `link`)")
    if not exact:
        lines.append("# (no selector selects exactly these rows: check `item`)")
    chosen_rows = {n.mem_id for n in rows}
    over = []
    for other in candidates[1:]:
        if len(over) == 3:
            break
        # Parts of the chosen rows, or blocks around them, are not rival lists.
        if _inside(other.group.parent, chosen_rows) or _inside(best.group.parent, {n.mem_id for n in other.rows}):
            continue
        label = "dated" if other.dated else "no dates"
        over.append(f"`{_label(other.group.parent, page)} > {other.item}` ({len(other.rows)} items, {label})")
    weak = not best.dated or _penalty(best.group.parent) < 1
    return _Choice(nodes, rules, lines, over, best.dated, item_css, weak, page.hidden)
