"""Reading items out of list rows: selectors (CSS with an optional `@attr`), titles, and
the date of each row (in its link, after it, inside it, or in a header above a run of rows).

Used with a source's [sources.list] selectors and with the ones auto_list.py finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from ..models import ErrorKind, RawItem, SourceError
from ..normalise.dates import find_date_span, is_relative, parse_date
from ..normalise.urls import absolute_url

# "置顶" (pinned) markers: the row stays, the marker leaves the title.
_PINNED = re.compile(r"^\s*[\[【(（<]?\s*置顶\s*[\]】)）>]?\s*|\s*[\[【(（<]?\s*置顶\s*[\]】)）>]?\s*$")
_CUT = re.compile(r"(?:…|\.\.\.|。。。)\s*$")
_BRACKETS = "[]【】()（）<>〈〉《》 "
_DIGIT = re.compile(r"\d")
_SEARCH_HIT = re.compile(r"key|highlight|search|match|hit", re.I)
# A link holding blocks is a "card": the whole row is the link, title and date are parts of it.
_CARD_TAGS = frozenset({"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dl", "dd", "dt", "section"})


def split_selector(selector: str) -> tuple[str, str | None]:
    """`a.title@title` -> ("a.title", "title"); `li a` -> ("li a", None)."""
    if "@" in selector:
        css, _, attr = selector.rpartition("@")
        # '@' inside an attribute selector's quotes is part of the CSS.
        if "]" not in attr and "'" not in attr and '"' not in attr:
            return css.strip(), attr.strip() or None
    return selector.strip(), None


# Between two text nodes whose facing characters are both Chinese (ideographs, CJK or full-width
# punctuation) a browser shows no space: `关于<em>第五次</em>全国` reads 关于第五次全国.
_CJK_JOIN = re.compile(r"(?<=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u201c\u201d\u2018\u2019])\x00+(?=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u201c\u201d\u2018\u2019])")


def node_text(node: LexborNode) -> str:
    """Visible text of a node on one line."""
    text = node.text(deep=True, separator="\x00", strip=False)
    if "\x00" in text:
        text = _CJK_JOIN.sub("", text).replace("\x00", " ")
    # split/join is `\s+` -> " " plus strip, ~5x faster than the regex on CJK text.
    return " ".join(text.split())


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


def _is_badge(node: LexborNode, value: str) -> bool:
    """A label such as 专题, 视频, [图文], NEW: a few letters, no digits, styled apart from the title.

    Styled apart: in brackets, or in an element with a class of its own. A bare <em> or <font>
    (a search hit, a red word) is part of the title; so is a class that marks a search hit.
    """
    core = value.strip(_BRACKETS)
    if not 0 < len(core) <= 4 or _DIGIT.search(core):
        return False
    if core != value:
        return True
    classes = node.attributes.get("class")
    return bool(classes) and not _SEARCH_HIT.search(classes)


def _split_link(link: LexborNode, tz: ZoneInfo, now: datetime) -> tuple[str, str | None]:
    """A link's title, apart from a date or badges printed in elements of their own inside it.

    `<a><span>2024-05-01</span>关于…的通知</a>`: the title is the notice, the date is the span.
    `<a><em>视频</em>关于…</a>`, `<a>关于…<i>专题</i></a>`: a label styled as a badge at the
    start or the end of the link is not part of the title (a reader sees a tag beside it).
    """
    text = node_text(link)
    date: str | None = None
    badges: list[str] = []
    for child in link.iter():
        value = node_text(child)
        if not value or value == text:
            continue
        if date is None and len(value) <= 24 and parse_date(value, tz, now):
            date = value
        elif _is_badge(child, value):
            badges.append(value)
    if date is not None:
        text = " ".join(text.replace(date, " ", 1).split())
    for badge in badges:
        # Only at either end, and only when a real title remains.
        if text.startswith(badge) and len(text) - len(badge) >= 6:
            text = text[len(badge):].lstrip()
        elif text.endswith(badge) and len(text) - len(badge) >= 6:
            text = text[: -len(badge)].rstrip()
    return text, date


_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_HIDING_CLASSES = frozenset({"hide", "hidden", "d-none"})


def is_hidden(node: LexborNode, *, by_class: bool = True) -> bool:
    """The element itself is hidden (inline style, `hidden`, or with `by_class` a hide class such
    as `.hide`); ancestors not checked."""
    attrs = node.attributes
    if "hidden" in attrs:
        return True
    style = attrs.get("style")
    if style and _HIDING_STYLE.search(style):
        return True
    classes = attrs.get("class") if by_class else None
    return bool(classes) and not _HIDING_CLASSES.isdisjoint(classes.split())


class Hidden:
    """A document's hidden parts, found with one query (a row's sub-list of 解读 links shown on
    hover, an inactive tab): which elements are hidden, and the outermost ones inside each element."""

    def __init__(self, root: LexborNode) -> None:
        self.ids: set[int] = set()
        self._inside: dict[int, list[LexborNode]] = {}
        for node in root.css('[style*="none" i], [style*="hidden" i], [hidden], .hide, .hidden, .d-none'):
            if not is_hidden(node):
                continue
            chain: list[int] = []
            parent = node.parent
            while parent is not None:
                if parent.mem_id in self.ids:
                    break  # inside a hidden element already known
                chain.append(parent.mem_id)
                parent = parent.parent
            else:
                self.ids.add(node.mem_id)
                for mem_id in chain:
                    self._inside.setdefault(mem_id, []).append(node)

    def links(self) -> set[int]:
        """The links inside hidden elements (by mem_id)."""
        found: set[int] = set()
        for parts in self._inside.values():
            for part in parts:
                if part.mem_id not in found:
                    found.add(part.mem_id)
                    found.update(a.mem_id for a in part.css("a[href]"))
        return found

    def parts(self, row: LexborNode) -> list[LexborNode]:
        """The outermost hidden elements inside `row`."""
        return self._inside.get(row.mem_id, [])


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


def _full_date(row: LexborNode, shown: str, tz: ZoneInfo, now: datetime) -> str | None:
    """The full date a relative one ("3 天前", "昨天 10:20") stands for, when the page gives it.

    Forums and CMSs print the relative form and keep the date in the element's `title`
    (or a <time datetime>): that one stays right when the page is read later.
    """
    for node in row.css("[title], time[datetime]"):
        value = node.attributes.get("datetime") or node.attributes.get("title")
        text = node_text(node)
        if not value or not text or (text not in shown and shown not in text):
            continue
        if _YEAR.search(value) and parse_date(value, tz, now):
            return " ".join(value.split())
    return None


@dataclass(slots=True)
class _Rules:
    """Selectors relative to one item."""

    link: str = "a@href"
    title: str | None = None
    date: str | None = None
    summary: str | None = None


def _items_from_nodes(
    nodes: Iterable[LexborNode],
    rules: _Rules,
    base: str,
    tz: ZoneInfo,
    now: datetime,
    warnings: list[str],
    hidden: Hidden | None = None,
) -> list[RawItem]:
    items: list[RawItem] = []
    seen: dict[str, list[str]] = {}  # link -> the titles of the rows that gave it
    no_link = 0
    repeated = 0
    headers: dict[int, str | None] = {}
    link_css, link_attr = split_selector(rules.link)
    nodes = list(nodes)
    pairs = None if rules.date else _pair_dates(nodes, tz, now)
    if hidden is None and nodes:
        hidden = Hidden(_top(nodes[0]))
    full_dates = 0  # rows with a relative date and no full one (-1: some row had one)
    for node in nodes:
        link = _first(node, link_css)
        href = link.attributes.get(link_attr or "href") if link is not None else None
        url = absolute_url(base, href)
        if url is None or link is None:
            no_link += 1
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
        if url in seen and any(_same_title(title, earlier) for earlier in seen[url]):
            repeated += 1
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
            if hidden is not None:
                exclude += hidden.parts(node)  # a hidden sub-list's dates are its own items'
            published_text = (
                inner_date or (pairs.get(node.mem_id) if pairs else None) or _row_date(node, exclude, tz, now, headers)
            )
        if published_text and full_dates < 3 and is_relative(published_text):
            full = _full_date(node, published_text, tz, now)
            # Rows share their markup: when the first few give no full date, none will.
            full_dates = full_dates + 1 if full is None and full_dates >= 0 else -1
            published_text = full or published_text
        summary_html = None
        if rules.summary:
            summary_node, summary_value = select_value(node, rules.summary)
            if summary_node is not None:
                summary_html = summary_value if split_selector(rules.summary)[1] else summary_node.html
        seen.setdefault(url, []).append(title)
        items.append(RawItem(url=url, title=title, published_text=published_text, summary_html=summary_html))
    if no_link:
        warnings.append(f"{no_link} list entries had no usable link or title and were skipped")
    if repeated:
        warnings.append(f"{repeated} list entries repeat a link and title listed above and were merged into it")
    return items


def _same_title(a: str, b: str) -> bool:
    """The same headline, one perhaps cut short ("…"): two rows of one story, not two stories."""
    a, b = (" ".join(t.rstrip(".…").split()) for t in (a, b))
    return a.startswith(b) or b.startswith(a)


def _top(node: LexborNode) -> LexborNode:
    while node.parent is not None:
        node = node.parent
    return node


def _is_card(link: LexborNode) -> bool:
    return any(child.tag in _CARD_TAGS for child in link.iter())
