"""How many nodes each selector given to `aggregator try` matches on the page.

The extractors fall back quietly when a selector finds nothing (the link text for
a title, meta tags and 来源: labels for an article), which is right for a poll but
hides a typo while a source is being built. This runs each given selector against
the page with the extractors' own helpers, so `try` can say what matched and mark
the fields that came from a fallback. It does not change what is extracted.
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from ..config import ArticleSelectors, ListSelectors
from .html_list import _css, select_value, split_selector

__all__ = ["SelectorMatch", "probe_selectors"]


@dataclass(frozen=True, slots=True)
class SelectorMatch:
    option: str  # the `try` option: item, title, link, date, summary, body, origin, author
    field: str  # the extracted field it feeds
    selector: str
    matched: int  # nodes on the page; for list fields, items with a match
    of: int | None = None  # list fields: how many items there were

    @property
    def fallback(self) -> bool:
        """True when every value of this field came from the extractor's fallback."""
        return self.matched == 0

    def line(self) -> str:
        where = f"in {self.matched} of {self.of} items" if self.of is not None else f"{self.matched} node(s)"
        # Rows and links have no fallback: without them there is no item at all.
        nothing = "  <- matched nothing" + ("" if self.option in ("item", "link") else ": the value shown comes from the fallback")
        note = nothing if self.fallback else ""
        return f"--{self.option} {self.selector!r}: {where}{note}"


_LIST_OPTIONS = (("title", "title"), ("link", "url"), ("date", "published"), ("summary", "summary"))
_ARTICLE_OPTIONS = (("title", "title"), ("date", "published"), ("body", "content"), ("source", "source"), ("author", "author"))
_OPTION_NAMES = {"source": "origin"}  # [sources.article] source = --origin


def probe_selectors(
    html: str, list_selectors: ListSelectors | None, article: ArticleSelectors | None, *, given: set[str]
) -> list[SelectorMatch]:
    """Matches of the selectors the user gave (`given`: config keys), in option order."""
    tree = LexborHTMLParser(html)
    out: list[SelectorMatch] = []
    if list_selectors is not None:
        items = _css(tree, split_selector(list_selectors.item)[0])
        out.append(SelectorMatch("item", "items", list_selectors.item, len(items)))
        for key, field in _LIST_OPTIONS:
            selector = getattr(list_selectors, key)
            if key in given and selector:
                hits = sum(1 for node in items if select_value(node, selector)[1] is not None)
                out.append(SelectorMatch(key, field, selector, hits, len(items)))
    if article is not None:
        root = tree.root
        for key, field in _ARTICLE_OPTIONS:
            selector = getattr(article, key)
            if key in given and selector and root is not None:
                css, attr = split_selector(selector)
                nodes = _css(root, css)
                if attr:
                    nodes = [node for node in nodes if node.attributes.get(attr)]
                out.append(SelectorMatch(_OPTION_NAMES.get(key, key), field, selector, len(nodes)))
    return out
