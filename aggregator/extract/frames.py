"""The same-site iframe a column page keeps its list in (云南's ASP.NET pages, 陕西).

Such a page holds no rows of its own, only `<iframe src="list.aspx?…">`; the
pipeline reads the framed document instead, one level deep. Only frames of
the same site count: a page also embeds maps, video players and share
buttons from elsewhere, and following those would read someone else's page.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from ..normalise.urls import absolute_url, site_of

__all__ = ["list_frame", "same_site"]


def same_site(a: str, b: str) -> bool:
    site = site_of(a)
    return site is not None and site == site_of(b)


def list_frame(html: str, url: str) -> str | None:
    """The URL of the first same-site iframe (or frame) with a document of its own, if any."""
    tree = LexborHTMLParser(html)
    for node in tree.css("iframe[src], frame[src]"):
        src = (node.attributes.get("src") or "").strip()
        if not src or src.lower().startswith(("javascript:", "about:", "data:")):
            continue
        target = absolute_url(url, src)
        if target and target.split("#")[0] != url.split("#")[0] and same_site(url, target):
            return target
    return None
