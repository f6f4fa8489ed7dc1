"""Items of an HTML news list page, with per-source selectors or found automatically.

Selectors are CSS with an optional trailing `@attr` (`a@title`,
`meta[name=PubDate]@content`). Without selectors the main news list is found
as the group of repeated sibling blocks (li / tr / dd / div …) that each hold
exactly one article-like link and usually a date, outside navigation; what was
chosen is returned as a TOML snippet a user can paste into `[sources.list]`.

Hanweb JCMS pages keep their items in a `<datastore>` script; those records are
used automatically (see hanweb.py).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from itertools import islice
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from ..config import ListSelectors
from ..models import ErrorKind, RawItem, SourceError
from ..normalise.dates import find_date_span, parse_date
from ..normalise.urls import absolute_url
from .hanweb import Paging, detect_paging, find_records

__all__ = ["ListPage", "extract_list", "split_selector", "select_value", "node_text"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# "置顶" (pinned) markers: the row stays, the marker leaves the title.
_PINNED = re.compile(r"^\s*[\[【(（<]?\s*置顶\s*[\]】)）>]?\s*|\s*[\[【(（<]?\s*置顶\s*[\]】)）>]?\s*$")
_CUT = re.compile(r"(?:…|\.\.\.|。。。)\s*$")
# Row elements. `table` and `ul` too: old CMSs write one small table (or one <ul> of
# title / date cells) per row.
_ITEM_TAGS = frozenset(
    {"li", "tr", "dd", "dt", "dl", "div", "p", "article", "section", "h2", "h3", "h4", "td", "table", "ul"}
)
_NAV_WORDS = re.compile(r"nav|menu|header|footer|foot\b|breadcrumb|crumb|topbar|banner|copyright|friend|links?\b|sitemap", re.I)
# A tab menu's own container; only the rows' parent or grandparent counts, since a
# `div.tab` often wraps the tabbed panels that hold the lists themselves.
_TAB_WORD = re.compile(r"(?:\w*[-_])?tabs?(?:[-_]?(?:nav|menu|tit|title|head|header|btn|bar|list|item)s?)?", re.I)
_SIDE_WORDS = re.compile(r"side|right|related|relate|hot|rank|recommend|tuijian|xgxw|zxxx|latest|paihang|gg_?right", re.I)
_NOT_ARTICLE = frozenset({"更多", "more", "more>>", "更多>>", "详细", "查看更多", "下一页", "上一页", "首页", "尾页"})
_CSS_IDENT = re.compile(r"-?[_a-zA-Z][_a-zA-Z0-9-]*")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")


@dataclass(slots=True)
class ListPage:
    items: list[RawItem] = field(default_factory=list)
    feed_url: str | None = None  # a <link rel=alternate> feed the site offers
    paging: Paging | None = None  # Hanweb dataproxy or TRS index_N pages, when detected
    chosen: str | None = None  # auto mode: the selectors chosen, as TOML for [sources.list]
    warnings: list[str] = field(default_factory=list)


def split_selector(selector: str) -> tuple[str, str | None]:
    """`a.title@title` -> ("a.title", "title"); `li a` -> ("li a", None)."""
    if "@" in selector:
        css, _, attr = selector.rpartition("@")
        # '@' inside an attribute selector's quotes is part of the CSS.
        if "]" not in attr and "'" not in attr and '"' not in attr:
            return css.strip(), attr.strip() or None
    return selector.strip(), None


def node_text(node: LexborNode) -> str:
    """Visible text of a node on one line."""
    # split/join is `\s+` -> " " plus strip, ~5x faster than the regex on CJK text.
    return " ".join(node.text(deep=True, separator=" ", strip=False).split())


def _css(node: LexborNode | LexborHTMLParser, css: str) -> list[LexborNode]:
    try:
        return list(node.css(css))
    except SelectolaxError as exc:
        raise SourceError(ErrorKind.PARSE, f"selector {css!r} is not valid CSS: {exc}") from None


def _first(node: LexborNode, css: str) -> LexborNode | None:
    # css() searches descendants only; an item that *is* the wanted element counts too.
    found = _css(node, css)
    if found:
        return found[0]
    if re.fullmatch(r"[a-zA-Z][a-zA-Z0-9]*", css) and node.tag == css.lower():
        return node
    return None


def select_value(node: LexborNode, selector: str) -> tuple[LexborNode | None, str | None]:
    """The first node matching `selector` under `node` and its text (or `@attr` value)."""
    css, attr = split_selector(selector)
    found = _first(node, css)
    if found is None:
        return None, None
    if attr:
        value = found.attributes.get(attr)
        return found, (" ".join(value.split()) or None) if value else None
    return found, node_text(found) or None


def _clean_title(text: str | None) -> str:
    if not text:
        return ""
    return _PINNED.sub("", " ".join(text.split())).strip()


def _full_title(link_text: str, title_attr: str | None) -> str:
    """The link text, or the link's title attribute where that has the same title whole.

    Link text is often cut, with "…" or just at a fixed length; `@title` then
    holds it all. A title attribute that is something else ("点击查看") is ignored.
    """
    title = _clean_title(link_text)
    full = _clean_title(title_attr)
    if not full:
        return title
    if not title:
        return full
    stem = _CUT.sub("", title).rstrip()
    if len(full) > len(stem) and full.startswith(stem[: max(4, len(stem) - 1)]):
        return full
    return title


def _split_link(link: LexborNode, tz: ZoneInfo, now: datetime) -> tuple[str, str | None]:
    """A link's text and a date printed in an element of its own inside it, apart.

    `<a><span>2024-05-01</span>关于…的通知</a>`: the title is the notice, the date is the span.
    """
    text = node_text(link)
    for child in link.iter():
        value = node_text(child)
        if value and len(value) <= 24 and value != text and parse_date(value, tz, now):
            return " ".join(text.replace(value, " ", 1).split()), value
    return text, None


def _small(node: LexborNode) -> bool:
    """A few elements at most: could be a date label. (Reading a big block's text would cost its size.)"""
    return sum(1 for _ in islice(node.traverse(), 8)) < 8


def _pair_dates(nodes: list[LexborNode], tz: ZoneInfo, now: datetime) -> dict[int, str] | None:
    """Dates in the element after each row (`<dt><a>…</a></dt><dd>2024-05-01</dd>`).

    Only when (nearly) every row has one: a date header after the last row of
    a day belongs to the next day's rows, not to that row.
    """
    found: dict[int, str] = {}
    for node in nodes:
        after = node.next
        while after is not None and after.tag in ("-text", "-comment"):
            after = after.next
        if after is None or (after.tag == node.tag and after.attributes.get("class") == node.attributes.get("class")):
            continue
        if not _small(after):
            continue
        value = node_text(after)
        if value and len(value) <= 24 and parse_date(value, tz, now):
            found[node.mem_id] = value
    return found if nodes and len(found) >= 0.8 * len(nodes) else None


_MAYBE_DATE = re.compile(r"\d|今|昨|前天|刚")
_YEAR = re.compile(r"(?:19|20)\d\d")
_SEP = "\x1f"  # between text nodes: a row's date is one short text of its own


def _row_dates(row: LexborNode, exclude: list[LexborNode], tz: ZoneInfo, now: datetime) -> tuple[str | None, str | None]:
    """The dates printed in a row outside `exclude` (its title, its link).

    First: the first short text holding a date. Second: the first full date
    (with its year) inside a longer text, a weaker sign. A month-day inside a
    summary sentence ("提升2-3倍") is never the row's date.
    """
    rest = row.text(deep=True, separator=_SEP, strip=False)
    for node in exclude:
        if node.mem_id == row.mem_id:
            return None, None
        rest = rest.replace(node.text(deep=True, separator=_SEP, strip=False), _SEP, 1)
    weak: str | None = None
    for piece in rest.split(_SEP):
        if not _MAYBE_DATE.search(piece):
            continue
        text = " ".join(piece.split())
        if len(text) <= 40:
            found = find_date_span(text, tz, now)
            if found:
                return found[1], weak
        elif weak is None and _YEAR.search(text):
            found = find_date_span(text, tz, now)
            if found and _YEAR.search(found[1]):
                weak = found[1]
    return None, weak


def _row_date(row: LexborNode, exclude: list[LexborNode], tz: ZoneInfo, now: datetime, headers: dict[int, str | None]) -> str | None:
    """A row's date: its own short date, else the date header above it, else a full date in its text."""
    strong, weak = _row_dates(row, exclude, tz, now)
    return strong or _header_date(row, tz, now, headers) or weak


def _header_date(node: LexborNode, tz: ZoneInfo, now: datetime, cache: dict[int, str | None]) -> str | None:
    """The date a header before a run of rows gives them (`4月22日·周二`, then that day's rows).

    Only an earlier sibling whose short text is mostly a date counts; rows of
    the same shape are skipped. `cache` makes a run of n rows cost O(n).
    """
    walked: list[int] = []
    found: str | None = None
    shape = (node.tag, node.attributes.get("class"))
    sibling = node.prev
    for _ in range(400):
        if sibling is None:
            break
        if sibling.tag not in ("-text", "-comment"):
            if sibling.mem_id in cache:
                found = cache[sibling.mem_id]
                break
            if (sibling.tag, sibling.attributes.get("class")) != shape and _small(sibling):
                text = node_text(sibling)
                if 0 < len(text) <= 24:
                    span = find_date_span(text, tz, now)
                    if span and len(span[1]) * 2 >= len(text.replace(" ", "")):
                        found = span[1]
                        break
            walked.append(sibling.mem_id)
        sibling = sibling.prev
    cache[node.mem_id] = found
    for mem_id in walked:
        cache[mem_id] = found
    return found


def _page_base(tree: LexborHTMLParser, base_url: str) -> str:
    base = tree.css_first("base[href]")
    if base is not None:
        resolved = absolute_url(base_url, base.attributes.get("href"))
        if resolved:
            return resolved
    return base_url


def _feed_url(tree: LexborHTMLParser, base: str) -> str | None:
    for link in tree.css("link[rel][href]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        kind = (link.attributes.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES:
            url = absolute_url(base, link.attributes.get("href"))
            if url:
                return url
    return None


@dataclass(slots=True)
class _Rules:
    """Selectors relative to one item."""

    link: str = "a@href"
    title: str | None = None
    date: str | None = None
    summary: str | None = None


def _items_from_nodes(
    nodes: Iterable[LexborNode], rules: _Rules, base: str, tz: ZoneInfo, now: datetime, warnings: list[str]
) -> list[RawItem]:
    items: list[RawItem] = []
    seen: set[str] = set()
    no_link = 0
    repeated = 0
    headers: dict[int, str | None] = {}
    link_css, link_attr = split_selector(rules.link)
    nodes = list(nodes)
    pairs = None if rules.date else _pair_dates(nodes, tz, now)
    for node in nodes:
        link = _first(node, link_css)
        href = link.attributes.get(link_attr or "href") if link is not None else None
        url = absolute_url(base, href)
        if url is None or link is None:
            no_link += 1
            continue
        if url in seen:
            repeated += 1
            continue
        title = None
        title_node = None
        if rules.title:
            title_node, value = select_value(node, rules.title)
            title = _clean_title(value)
        link_text, inner_date = _split_link(link, tz, now)
        if not title:
            title = _full_title(link_text, link.attributes.get("title"))
        if not title:
            no_link += 1
            continue
        published_text = None
        if rules.date:
            published_text = select_value(node, rules.date)[1]
        if not published_text:
            # No date selector (or it missed): a date printed inside the link, in the element
            # after each row (<dt> title, <dd> date), in the row outside the title, or
            # the date header above a run of rows (lists grouped by day).
            exclude = [n for n in (title_node,) if n is not None]
            if link.mem_id != node.mem_id and not _is_card(link):
                exclude.append(link)
            published_text = (
                inner_date or (pairs.get(node.mem_id) if pairs else None) or _row_date(node, exclude, tz, now, headers)
            )
        summary_html = None
        if rules.summary:
            summary_node, summary_value = select_value(node, rules.summary)
            if summary_node is not None:
                summary_html = summary_value if split_selector(rules.summary)[1] else summary_node.html
        seen.add(url)
        items.append(RawItem(url=url, title=title, published_text=published_text, summary_html=summary_html))
    if no_link:
        warnings.append(f"{no_link} list entries had no usable link or title and were skipped")
    if repeated:
        warnings.append(f"{repeated} list entries repeat a link listed above and were merged into it")
    return items


# ---------------------------------------------------------------- auto mode
#
# Hand-written because no maintained library finds the news list of a page
# (trafilatura and friends extract article bodies). The signals are the ones
# that hold across sites: rows of the same tag and classes under one parent,
# one dominant article link per row, a date per row (or a date header above a
# run of rows), title length, article-like URLs, and no navigation, footer,
# tab or sidebar ancestry.

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# A link holding blocks is a "card": the whole row is the link, title and date are parts of it.
_CARD_TAGS = frozenset({"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dl", "dd", "dt", "section"})
_TITLE_MARK = re.compile(r"title|tit\b|headline|subject|biaoti", re.I)
# Layout helpers say nothing about what a block is; they stay out of signatures and selectors.
_LAYOUT_CLASSES = frozenset({"clearfix", "clear", "cf", "clearfloat"})
_COLUMN_PAGE = re.compile(r"(?:^|/)(?:index|default|list|more)(?:_\d+)?\.\w+$")
_ATTACHMENT = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|ofd|zip|rar|txt)$")
_PAGE_EXT = re.compile(r"\.(?:s?html?|php|aspx?|jsp)$")
_DIGITS = re.compile(r"\d{4,}")
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


def _article_like(link: LexborNode, href: str, text: str) -> bool:
    href = href.strip().lower()
    if not href or href.startswith(("javascript:", "#", "mailto:", "tel:")):
        return False
    text = text or (link.attributes.get("title") or "")
    if text.lower() in _NOT_ARTICLE:
        return False
    return len(text) >= 6 or len(_CJK.findall(text)) >= 4


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

    def __init__(self, tz: ZoneInfo, now: datetime) -> None:
        self.tz, self.now = tz, now
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


def _is_card(link: LexborNode) -> bool:
    return any(child.tag in _CARD_TAGS for child in link.iter())


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
    for link in root.css("a[href]"):
        if not _article_like(link, page.href(link), page.text(link)):
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
    return exclude


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
    if core:
        rows = [r for r in rows if core <= set(_classes(r))]
    picks: list[LexborNode] = []
    links: list[LexborNode] = []
    crowded = 0
    for row in rows:
        candidates = group.links[row.mem_id]
        if len(candidates) > 24:
            crowded += 1  # no news row holds two dozen article links
            continue
        best = max(candidates, key=page.weight)
        top = page.weight(best)
        rival = 0.0
        if len(candidates) > 1:
            href = page.href(best)
            rival = max((page.weight(a) for a in candidates if page.href(a) != href), default=0.0)
        if rival * 2 > top:
            crowded += 1  # several stories in one block: a box of lists, not a row
            continue
        picks.append(row)
        links.append(best)
    if len(picks) < min_items or not picks:
        return None
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
    order = [c for c in _classes(picks[0]) if c in core]
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


def _auto(root: LexborNode, tz: ZoneInfo, now: datetime, min_items: int) -> _Choice | None:
    page = _Page(tz, now)
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
    return _Choice(nodes, rules, lines, over, best.dated, item_css)


# ---------------------------------------------------------------- entry point


def _records_document(records: list[str]) -> LexborHTMLParser:
    body = "".join(records)
    # Table rows outside a table are dropped by HTML parsers; give them one.
    if re.match(r"\s*<tr[\s>]", body, re.I):
        body = f"<table><tbody>{body}</tbody></table>"
    elif re.match(r"\s*<li[\s>]", body, re.I):
        body = f"<ul>{body}</ul>"
    return LexborHTMLParser(f"<html><body>{body}</body></html>")


def extract_list(
    html: str, base_url: str, selectors: ListSelectors | None, *, tz: ZoneInfo, now: datetime
) -> ListPage:
    """Items of a list page (or a Hanweb dataproxy response); never raises but SourceError."""
    page = ListPage()
    if not html or not html.strip():
        page.warnings.append("the page is empty")
        return page
    tree = LexborHTMLParser(html)
    base = _page_base(tree, base_url)
    page.feed_url = _feed_url(tree, base)
    page.paging = detect_paging(html, base)

    roots: list[LexborNode] = []
    records = find_records(html)
    if records:
        records_tree = _records_document(records)
        record_root = records_tree.body or records_tree.root
        if record_root is not None:
            roots.append(record_root)
    elif records is not None:
        page.warnings.append("the Hanweb datastore holds no records")
    whole = tree.body or tree.root
    if whole is None:
        raise SourceError(ErrorKind.PARSE, "the page has no document body")
    roots.append(whole)

    if selectors is not None:
        rules = _Rules(
            link=selectors.link, title=selectors.title, date=selectors.date, summary=selectors.summary
        )
        for root in roots:  # records first; the visible page when they do not match
            nodes = _css(root, selectors.item)
            if nodes:
                page.items = _items_from_nodes(nodes, rules, base, tz, now, page.warnings)
                break
        else:
            page.warnings.append(f"item selector {selectors.item!r} matched nothing")
        return page

    for root, min_items in zip(roots, (1, 3) if records else (3,)):
        found = _auto(root, tz, now, min_items)
        if found is None:
            continue
        page.items = _items_from_nodes(found.nodes, found.rules, base, tz, now, page.warnings)
        counted = f"{len(page.items)} items"
        if len(found.nodes) > len(page.items):
            counted += f" from {len(found.nodes)} rows"
        choice = f"# chose `{found.item}` ({counted}, {'dated' if found.dated else 'no dates'})"
        if found.over:
            choice += " over " + ", ".join(found.over)
        lines = [choice, "# found automatically; paste under [sources.list] to pin them", *found.lines]
        if records and root is roots[0]:
            lines.insert(0, "# items are read from the page's Hanweb <datastore> records")
        page.chosen = "\n".join(lines)
        break
    if not page.items:
        page.warnings.append("no news list found: give [sources.list] selectors")
    return page
