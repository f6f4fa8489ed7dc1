"""The same-site iframe a column page keeps its list in (云南's ASP.NET pages, 陕西).

Such a page holds no rows of its own, only `<iframe src="list.aspx?…">`; the
pipeline reads the framed document instead, one level deep. Only frames of
the same site count: a page also embeds maps, video players and share
buttons from elsewhere, and following those would read someone else's page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from ..normalise.urls import absolute_url

__all__ = ["list_frame", "same_site"]


def _site(host: str) -> str:
    """The part of a host name two pages of one site share: `sthjt.yn.gov.cn` -> `yn.gov.cn`."""
    labels = host.lower().removeprefix("www.").split(".")
    # gov.cn, com.cn, org.cn …: the site is one label more than the suffix.
    keep = 3 if len(labels) >= 3 and labels[-1] == "cn" and labels[-2] in {"gov", "com", "org", "net", "edu"} else 2
    return ".".join(labels[-keep:]) if not host.replace(".", "").isdigit() else host


def same_site(a: str, b: str) -> bool:
    host_a, host_b = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    return bool(host_a) and _site(host_a) == _site(host_b)


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
