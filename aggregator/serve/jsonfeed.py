"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) of a published Atom feed.

Built from the `<slug>.atom` file itself (see pages.read_atom), so both formats
always carry the same entries, and the bytes depend only on that file and
base_url: regenerated with no new data, they are identical. Hand-written
because it is a dozen keys; the JSON Feed libraries on PyPI are unmaintained.
A penalty decision goes in the item's `_case` extension object, the authority an
item came from (Atom's atom:source) in `_authority`, besides heading `authors`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from lxml import html as lxml_html

from ..models import Enclosure
from .pages import Feed

VERSION = "https://jsonfeed.org/version/1.1"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _plain(markup: str) -> str:
    try:
        return " ".join(lxml_html.fragment_fromstring(markup, create_parent="div").text_content().split())
    except Exception:  # lxml raises ParserError on fragments with nothing in them
        return ""


def _attachment(enclosure: Enclosure) -> dict[str, Any]:
    found: dict[str, Any] = {"url": enclosure.url, "mime_type": enclosure.type}
    if enclosure.title:
        found["title"] = enclosure.title
    if enclosure.length is not None:
        found["size_in_bytes"] = enclosure.length
    return found


def render_json_feed(feed: Feed, slug: str, base_url: str) -> bytes:
    base = base_url.rstrip("/")
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title or slug,
        "home_page_url": f"{base}/{slug}.html",
        "feed_url": f"{base}/{slug}.json",
    }
    if feed.subtitle:
        doc["description"] = feed.subtitle
    if feed.hub:
        doc["hubs"] = [{"type": "WebSub", "url": feed.hub}]
    doc["language"] = "zh-CN"
    items = []
    for entry in feed.entries:
        item: dict[str, Any] = {"id": entry.id}
        if entry.link:
            item["url"] = entry.link
        if entry.via:
            item["external_url"] = entry.via
        item["title"] = entry.title
        # 1.1: one of content_html / content_text is required.
        item["content_html"] = entry.content_html or entry.summary_html or ""
        if not item["content_html"]:
            del item["content_html"]
            item["content_text"] = entry.title
        if entry.summary_html and entry.content_html:
            item["summary"] = _plain(entry.summary_html)  # 1.1: summary is plain text
        if entry.published:
            item["date_published"] = _rfc3339(entry.published)
        item["date_modified"] = _rfc3339(entry.updated)
        credited = list(dict.fromkeys((*entry.authors, *entry.contributors)))  # JSON Feed has no contributors
        if credited:
            item["authors"] = [{"name": name} for name in credited]
        if entry.authority:
            # An extension object (1.1: keys starting with "_"): which of the authors is the
            # publishing authority, and the source's own page.
            item["_authority"] = {"name": entry.authority}
            if entry.authority_url:
                item["_authority"]["url"] = entry.authority_url
        if entry.categories:
            item["tags"] = list(entry.categories)
        if entry.enclosures:
            item["attachments"] = [_attachment(enclosure) for enclosure in entry.enclosures]
        if entry.case:
            # An extension object (1.1: keys starting with "_"); exactly the case fields, null
            # when not stated, so `Case(**item["_case"])` reads it back.
            item["_case"] = entry.case.as_dict()
        items.append(item)
    doc["items"] = items
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
