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

import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..config import ListSelectors
from ..models import ErrorKind, RawItem, SourceError
from ..normalise.urls import absolute_url
from .auto_list import _auto, _penalty
from .hanweb import Paging, detect_paging, find_records
from .list_rows import _css, _items_from_nodes, _Rules, node_text, select_value, split_selector

__all__ = ["ListPage", "extract_list", "split_selector", "select_value", "node_text"]

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")


@dataclass(slots=True)
class ListPage:
    items: list[RawItem] = field(default_factory=list)
    feed_url: str | None = None  # a <link rel=alternate> feed the site offers
    paging: Paging | None = None  # Hanweb dataproxy or TRS index_N pages, when detected
    chosen: str | None = None  # auto mode: the selectors chosen, as TOML for [sources.list]
    warnings: list[str] = field(default_factory=list)
    script_built: str | None = None  # auto mode: why the list seems to be written by a script (render = true)


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


# ---------------------------------------------------------------- entry point


# Script templates of rows, and containers a script fills: the list is not in the HTML.
_TEMPLATE_TYPES = frozenset({"text/html", "text/template", "text/x-template", "text/x-handlebars-template", "text/x-jquery-tmpl"})
_CONTAINERS = frozenset({"div", "ul", "ol", "tbody", "table", "section", "dl", "main", "article"})
_PLACEHOLDER = re.compile(r"\{\{|<%|\$\{")
_LISTISH = re.compile(r"list|news|data|content|article|info|item|result|notice|xw", re.I)
# Ad slots are empty containers scripts fill too, and say nothing about the list.
_AD_SLOT = re.compile(r"(?:^|[-_])ads?(?:[-_]|$)|ads[-_]|advert|banner|guanggao", re.I)
# A pager's box (`<div id="pageList">` that laypage fills) is empty until a script runs on any page.
_PAGER = re.compile(r"(?:page|pager|paging|pagination|pages|fenye)(?:[-_]?(?:list|box|bar|div|nav|wrap|con|container|num|info))?$", re.I)


def script_built(tree: LexborHTMLParser) -> str | None:
    """What shows that a script writes the page's list in after loading, if anything.

    Either a row template (`<script type="text/html">` or `<template>` holding a link and
    `{{…}}`-style placeholders), or an empty list container (`<ul id="newsList"></ul>`)
    that an inline script names.
    """
    for node in tree.css("script[type], template"):
        kind = (node.attributes.get("type") or "").lower().strip()
        if node.tag == "script" and kind not in _TEMPLATE_TYPES:
            continue
        content = node.html if node.tag == "template" else node.text(deep=True)
        if content and "<a" in content and _PLACEHOLDER.search(content):
            return f"a row template <{node.tag}{f' type={kind!r}' if kind else ''}>"
    code = " ".join(n.text(deep=True) for n in tree.css("script:not([src])"))
    if not code:
        return None
    for node in tree.css("[id], ul[class], ol[class], tbody[class]"):
        if node.tag not in _CONTAINERS:
            continue
        marks = [node.attributes.get("id") or ""] + (node.attributes.get("class") or "").split()
        names = [m for m in marks if m and _LISTISH.search(m) and not _AD_SLOT.search(m) and not _PAGER.search(m)]
        if not names or node.child is not None and (node.text(deep=True).strip() or node.css_first("*") is not None):
            continue
        if _penalty(node) < 1:
            continue  # an empty box in a sidebar or a menu is not where the page's list goes
        named = next((m for m in names if re.search(rf"[#.'\"]{re.escape(m)}(?![\w-])", code)), None)
        if named:
            return f"the empty <{node.tag}> {named!r} that a script fills"
    return None


def _records_document(records: list[str]) -> LexborHTMLParser:
    body = "".join(records)
    # Table rows outside a table are dropped by HTML parsers; give them one.
    if re.match(r"\s*<tr[\s>]", body, re.I):
        body = f"<table><tbody>{body}</tbody></table>"
    elif re.match(r"\s*<li[\s>]", body, re.I):
        body = f"<ul>{body}</ul>"
    return LexborHTMLParser(f"<html><body>{body}</body></html>")


def extract_list(
    html: str, base_url: str, selectors: ListSelectors | None, *, tz: ZoneInfo, now: datetime, rendered: bool = False
) -> ListPage:
    """Items of a list page (or a Hanweb dataproxy response); never raises but SourceError.

    `rendered`: the HTML is what a browser built (render = true), so a list written by a
    script is in it already and the page is not judged as script-built."""
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
        if found.weak and root is whole and not rendered:
            built = script_built(tree)
            if built:
                # The rows found are a sidebar or a menu standing in for a list the page's
                # scripts write in later: publishing them would be wrong items, not a few.
                page.script_built = built
                page.warnings.append(
                    f"the page's list seems to be built by a script ({built}); the only lists in its HTML"
                    f" look like navigation or a sidebar (`{found.item}`): set `render = true` on the source"
                    " (or give [sources.list] selectors)"
                )
                return page
        page.items = _items_from_nodes(found.nodes, found.rules, base, tz, now, page.warnings, found.hidden)
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
