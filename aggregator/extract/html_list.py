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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from ..config import ListSelectors
from ..models import ErrorKind, RawItem, SourceError
from ..normalise.dates import find_date_span
from ..normalise.urls import absolute_url
from .hanweb import Paging, detect_paging, find_records

__all__ = ["ListPage", "extract_list", "split_selector", "select_value", "node_text"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# "置顶" (pinned) markers: the row stays, the marker leaves the title.
_PINNED = re.compile(r"^\s*[\[【(（<]?\s*置顶\s*[\]】)）>]?\s*|\s*[\[【(（<]?\s*置顶\s*[\]】)）>]?\s*$")
_CUT = re.compile(r"(?:…|\.\.\.|。。。)\s*$")
_ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "dl", "div", "p", "article", "section", "h2", "h3", "h4", "td"})
_NAV_WORDS = re.compile(r"nav|menu|header|footer|foot\b|breadcrumb|crumb|topbar|banner|copyright|friend|links?\b|sitemap", re.I)
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
    link_css, link_attr = split_selector(rules.link)
    for node in nodes:
        link = _first(node, link_css)
        href = link.attributes.get(link_attr or "href") if link is not None else None
        url = absolute_url(base, href)
        if url is None or link is None:
            no_link += 1
            continue
        if url in seen:
            continue
        title = None
        if rules.title:
            title = _clean_title(select_value(node, rules.title)[1])
        if not title:
            title = _clean_title(node_text(link))
            # Link text is often cut with "…"; the title attribute then has it whole.
            full = _clean_title(link.attributes.get("title"))
            if full and (not title or (_CUT.search(title) and full.startswith(_CUT.sub("", title)[:4]))):
                title = full
        if not title:
            no_link += 1
            continue
        published_text = None
        if rules.date:
            published_text = select_value(node, rules.date)[1]
        if not published_text:
            # No date selector (or it missed): the first date in the row outside the title.
            rest = node_text(node).replace(node_text(link), " ")
            found = find_date_span(rest, tz, now)
            published_text = found[1] if found else None
        summary_html = None
        if rules.summary:
            summary_node, summary_value = select_value(node, rules.summary)
            if summary_node is not None:
                summary_html = summary_value if split_selector(rules.summary)[1] else summary_node.html
        seen.add(url)
        items.append(RawItem(url=url, title=title, published_text=published_text, summary_html=summary_html))
    if no_link:
        warnings.append(f"{no_link} list entries had no usable link or title and were skipped")
    return items


# ---------------------------------------------------------------- auto mode


def _article_like(link: LexborNode) -> bool:
    href = (link.attributes.get("href") or "").strip().lower()
    if not href or href.startswith(("javascript:", "#", "mailto:")):
        return False
    text = node_text(link) or (link.attributes.get("title") or "")
    if text.lower() in _NOT_ARTICLE:
        return False
    return len(text) >= 6 or len(_CJK.findall(text)) >= 4


def _describe(node: LexborNode) -> str:
    """A CSS description of one element: tag plus its (CSS-safe) classes."""
    classes = [c for c in (node.attributes.get("class") or "").split() if _CSS_IDENT.fullmatch(c)]
    return node.tag + "".join("." + c for c in classes)


def _id_selector(node: LexborNode) -> str | None:
    ident = node.attributes.get("id")
    if not ident:
        return None
    if _CSS_IDENT.fullmatch(ident):
        return f"{node.tag}#{ident}"
    return f'{node.tag}[id="{ident}"]' if '"' not in ident else None


def _penalty(node: LexborNode | None) -> float:
    """How much a group looks like navigation or a sidebar, from its ancestors."""
    factor = 1.0
    depth = 0
    while node is not None and node.tag not in ("body", "html", "-undef") and depth < 12:
        if node.tag in ("nav", "header", "footer"):
            return 0.05
        marks = " ".join(filter(None, (node.attributes.get("class"), node.attributes.get("id"))))
        if marks:
            if _NAV_WORDS.search(marks):
                factor = min(factor, 0.1)
            elif _SIDE_WORDS.search(marks):
                factor = min(factor, 0.35)
        node = node.parent
        depth += 1
    return factor


@dataclass(slots=True)
class _Group:
    parent: LexborNode
    items: dict[int, LexborNode] = field(default_factory=dict)
    parents: set[int] = field(default_factory=set)
    links: dict[int, list[LexborNode]] = field(default_factory=dict)


def _groups(root: LexborNode) -> list[_Group]:
    groups: dict[tuple[int, str, str, str], _Group] = {}
    described: dict[int, str] = {}  # the same ancestors are described for many links

    def describe(node: LexborNode) -> str:
        text = described.get(node.mem_id)
        if text is None:
            text = described[node.mem_id] = _describe(node)
        return text

    for link in root.css("a[href]"):
        if not _article_like(link):
            continue
        current = link
        for _ in range(6):
            parent = current.parent
            if parent is None or parent.tag in ("html", "-undef"):
                break
            if current.tag in _ITEM_TAGS:
                # Sibling containers of the same shape (a list split into several
                # <ul>s of five) form one group.
                grand = parent.parent
                great = grand.parent if grand is not None else None
                key = (
                    great.mem_id if great is not None else 0,
                    (describe(grand) if grand is not None else "") + ">" + parent.tag,
                    current.tag,
                    current.attributes.get("class") or "",
                )
                group = groups.get(key)
                if group is None:
                    group = groups[key] = _Group(parent)
                group.items.setdefault(current.mem_id, current)
                group.parents.add(parent.mem_id)
                group.links.setdefault(current.mem_id, []).append(link)
            if parent.tag == "body":
                break
            current = parent
    return list(groups.values())


def _relative_link_selector(items: list[LexborNode], links: list[LexborNode]) -> str | None:
    """A selector that finds, in every item, exactly its article link."""
    first, link = items[0], links[0]
    candidates = ["a"]
    described = _describe(link)
    if described != "a":
        candidates.append(described)
    if link.parent is not None and link.parent.mem_id != first.mem_id:
        candidates.append(f"{_describe(link.parent)} > a")
        candidates.append(f"{_describe(link.parent)} > {described}")
    parent = link.parent
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


def _date_selector(items: list[LexborNode], links: list[LexborNode], tz: ZoneInfo, now: datetime) -> str | None:
    """The element holding the date, when the date has an element of its own."""
    first, link = items[0], links[0]
    found = find_date_span(node_text(first).replace(node_text(link), " "), tz, now)
    if not found:
        return None
    best: LexborNode | None = None
    for node in first.css("*"):
        if node.mem_id == link.mem_id or node.tag == "a":
            continue
        text = node_text(node)
        if found[1] in text and (best is None or len(text) < len(node_text(best))):
            best = node
    if best is None:
        return None
    css = _describe(best)
    hits = 0
    for item in items:
        node = _first(item, css)
        if node is not None and find_date_span(node_text(node), tz, now):
            hits += 1
    return css if hits >= max(1, len(items) * 0.8) else None


def _item_selector(group: _Group, good: list[LexborNode], root: LexborNode) -> str:
    parent = group.parent
    item = _describe(good[0])
    wanted = {n.mem_id for n in good}
    allowed = set(group.items)
    options = []
    parent_id = _id_selector(parent)
    if parent_id:
        options.append(f"{parent_id} > {item}")
    options.append(f"{_describe(parent)} > {item}")
    if parent.parent is not None and parent.parent.tag not in ("html", "body", "-undef"):
        grand = parent.parent
        options.append(f"{_id_selector(grand) or _describe(grand)} > {parent.tag} > {item}")
    ancestor = parent.parent
    chain = _describe(parent)
    for _ in range(4):
        if ancestor is None or ancestor.tag in ("html", "body", "-undef"):
            break
        ident = _id_selector(ancestor)
        chain = f"{ident or _describe(ancestor)} > {chain}"
        options.append(f"{chain} > {item}")
        if ident:
            break
        ancestor = ancestor.parent
    for css in options:
        try:
            got = {n.mem_id for n in _css(root, css)}
        except SourceError:
            continue
        if wanted <= got <= allowed:
            return css
    return options[-1]


def _auto(
    root: LexborNode, tz: ZoneInfo, now: datetime, min_items: int
) -> tuple[list[LexborNode], _Rules, str] | None:
    best: tuple[float, _Group, list[LexborNode], list[LexborNode]] | None = None
    for group in _groups(root):
        if len(group.items) < min_items:
            continue
        if len(group.items) > 1 and len(group.parents) == len(group.items):
            continue  # each "item" is the only one in its parent: a wrapper, the row is higher up
        good = [group.items[k] for k in group.items if len(group.links[k]) == 1]
        if len(good) < min_items:
            continue
        links = [group.links[n.mem_id][0] for n in good]
        sample = good[:30]
        dated = sum(1 for n, a in zip(sample, links) if find_date_span(node_text(n).replace(node_text(a), " "), tz, now))
        date_share = dated / len(sample)
        avg_len = sum(len(node_text(a)) for a in links) / len(links)
        crowded = (len(group.items) - len(good)) / len(group.items)  # items with several article links
        score = len(good) * (0.3 + date_share) * min(avg_len, 40) / 40 * (1 - 0.7 * crowded) * _penalty(group.parent)
        if best is None or score > best[0]:
            best = (score, group, good, links)
    if best is None:
        return None
    _, group, good, links = best
    rules = _Rules()
    link_css = _relative_link_selector(good, links)
    if link_css and link_css != "a":
        rules.link = f"{link_css}@href"
    titles_cut = sum(1 for a in links if _CUT.search(node_text(a)) and a.attributes.get("title"))
    if titles_cut and link_css:
        rules.title = f"{link_css}@title"
    rules.date = _date_selector(good, links, tz, now)
    item_css = _item_selector(group, good, root)
    lines = [f"# found automatically: {len(good)} items; paste under [sources.list] to pin them", f"item = {json.dumps(item_css, ensure_ascii=False)}"]
    if rules.title:
        lines.append(f"title = {json.dumps(rules.title, ensure_ascii=False)}")
    if rules.link != "a@href":
        lines.append(f"link = {json.dumps(rules.link, ensure_ascii=False)}")
    if rules.date:
        lines.append(f"date = {json.dumps(rules.date, ensure_ascii=False)}")
    if link_css is None:
        # No selector singles the link out; extraction still uses the nodes found.
        lines.append("# (no selector found for the link in every row: check `link`)")
    return good, rules, "\n".join(lines)


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
        nodes, rules, chosen = found
        page.items = _items_from_nodes(nodes, rules, base, tz, now, page.warnings)
        page.chosen = ("# items are read from the page's Hanweb <datastore> records\n" + chosen) if records and root is roots[0] else chosen
        break
    if not page.items:
        page.warnings.append("no news list found: give [sources.list] selectors")
    return page
