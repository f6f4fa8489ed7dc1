"""Normalise stage: RawItem (as found) -> Item (clean, keyed, hashed).

Links are resolved, text is made XML-safe, HTML is sanitised, dates are
parsed in the source's timezone, and the item gets its permanent key and a
content hash that tells an edit from an unchanged item.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..models import Item, RawItem
from .dates import parse_date
from .text import html_to_text, sanitize_html, xml_safe
from .urls import absolute_url, item_key

__all__ = ["normalise_item", "clean_text"]

FUTURE_TOLERANCE = timedelta(days=1)
_SPACE = re.compile(r"\s+")


def clean_text(text: str | None) -> str | None:
    if not text:
        return None
    cleaned = _SPACE.sub(" ", xml_safe(text)).strip()
    return cleaned or None


def _content_hash(*parts: str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _plausible(moment: datetime | None, now: datetime) -> datetime | None:
    # A date in the future is a parse error or a typo upstream, not a publication time.
    if moment is None or moment > now + FUTURE_TOLERANCE:
        return None
    return moment


def normalise_item(raw: RawItem, source: str, zone: ZoneInfo, now: datetime) -> Item | None:
    """None when the item has no usable link."""
    url = absolute_url(raw.url, raw.url)
    if not url:
        return None
    published = _plausible(raw.published, now)
    if published is None and raw.published_text:
        published = _plausible(parse_date(raw.published_text, zone, now), now)
    updated = _plausible(raw.updated, now)
    if updated and published and updated < published:
        updated = published
    summary_html = sanitize_html(raw.summary_html, base_url=url) if raw.summary_html else None
    content_html = sanitize_html(raw.content_html, base_url=url) if raw.content_html else None
    title = clean_text(raw.title)
    if not title:
        # Some feeds have untitled entries; a reader still needs something to show.
        title = clean_text(html_to_text(summary_html or content_html or ""))
        title = (title[:60] + "…") if title and len(title) > 60 else (title or url)
    original_url = absolute_url(url, raw.original_url) if raw.original_url else None
    if original_url == url:
        original_url = None
    author = clean_text(raw.author)
    origin = clean_text(raw.origin)
    tags = tuple(sorted({t for t in (clean_text(tag) for tag in raw.tags) if t}))
    return Item(
        key=item_key(url, raw.upstream_id),
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
        content_hash=_content_hash(
            title,
            summary_html,
            content_html,
            published.isoformat() if published else None,
            author,
            origin,
            original_url,
            url,
        ),
    )
