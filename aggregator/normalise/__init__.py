"""Normalise stage: RawItem (as found) -> Item (clean, keyed, hashed).

Links are resolved, text is made XML-safe, HTML is sanitised, dates are
parsed in the source's timezone, and the item gets its permanent key and a
content hash that tells an edit from an unchanged item.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from ..models import Enclosure, Item, RawItem
from .dates import is_relative, parse_date, plausible
from .text import html_to_text, sanitize_html, xml_safe
from .urls import absolute_url, item_key

__all__ = ["clean_text", "normalise_all", "normalise_item", "shown_title"]



def clean_text(text: str | None) -> str | None:
    if not text:
        return None
    cleaned = " ".join(xml_safe(text).split())
    return cleaned or None


def shown_title(title: str | None, sanitised_html: str | None, url: str) -> str:
    """The title an item is stored and published under (also what the feed reader compares)."""
    shown = clean_text(title)
    if not shown:
        # Some feeds have untitled entries; a reader still needs something to show.
        shown = clean_text(html_to_text(sanitised_html or ""))
        shown = (shown[:60] + "…") if shown and len(shown) > 60 else (shown or url)
    return shown


def _content_hash(*parts: str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def normalise_item(raw: RawItem, source: str, zone: ZoneInfo, now: datetime) -> Item | None:
    """None when the item has no usable link."""
    url = absolute_url(raw.url, raw.url)
    if not url:
        return None
    # Printed text first: feedparser reads zone-less feed dates as UTC, pages mean their own zone.
    published = parse_date(raw.published_text, zone, now) if raw.published_text else None
    relative = published is not None and is_relative(raw.published_text or "")
    if published is None and raw.published is not None:
        published = plausible(raw.published, now)
    updated = plausible(raw.updated, now) if raw.updated else None
    if updated and published and updated < published:
        updated = published
    summary_html = sanitize_html(raw.summary_html, base_url=url) if raw.summary_html else None
    content_html = raw.content_html
    if content_html and not raw.content_sanitised:
        content_html = sanitize_html(content_html, base_url=url)
    title = shown_title(raw.title, summary_html or content_html, url)
    original_url = absolute_url(url, raw.original_url) if raw.original_url else None
    if original_url == url:
        original_url = None
    author = clean_text(raw.author)
    origin = clean_text(raw.origin)
    tags = tuple(sorted({t for t in (clean_text(tag) for tag in raw.tags) if t}))
    enclosures = _enclosures(raw, url)
    return Item(
        key=item_key(url, raw.upstream_id),
        original_key=item_key(original_url) if original_url else None,
        list_hash=raw.list_hash,
        source=source,
        url=url,
        title=title,
        published=published,
        updated=updated,
        author=author,
        origin=origin,
        original_url=original_url,
        summary_html=summary_html or None,
        content_html=content_html or None,
        tags=tags,
        enclosures=enclosures,
        attachment_text=raw.attachment_text,
        case=raw.case or None,
        content_hash=_content_hash(
            title,
            summary_html,
            content_html,
            # "3小时前" gives a new time on every read; it must not look like an edit.
            published.isoformat() if published and not relative else None,
            author,
            origin,
            original_url,
            url,
            # Only items with documents hash this part, so no other item's hash moves.
            *([repr([(e.url, e.type, e.length) for e in enclosures])] if enclosures else []),
            # Likewise only penalty decisions hash their case record.
            *([repr(sorted(raw.case.as_dict().items()))] if raw.case else []),
        ),
    )


def _enclosures(raw: RawItem, url: str) -> tuple[Enclosure, ...]:
    """Each document once, with an absolute link; a later copy with a known length wins."""
    found: dict[str, Enclosure] = {}
    for enclosure in raw.enclosures:
        href = absolute_url(url, enclosure.url)
        if href and (href not in found or (enclosure.length is not None and found[href].length is None)):
            title = clean_text(enclosure.title)
            found[href] = Enclosure(href, xml_safe(enclosure.type).strip() or "application/octet-stream", enclosure.length, title)
    return tuple(found.values())


def normalise_all(raws: list[RawItem], source: str, zone: ZoneInfo, now: datetime) -> list[Item]:
    """normalise_item over one poll's rows, dropping rows without a usable link."""
    return [item for raw in raws if (item := normalise_item(raw, source, zone, now)) is not None]
