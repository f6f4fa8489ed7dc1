"""Extract items from an upstream RSS/Atom feed with feedparser.

Entries without a link (only an id, a title or content: most of feedparser's own
test corpus) are kept: they link to the feed's site, and their key comes from the
upstream id (scoped to this feed unless it is a permanent id), else from a hash
of their title, date and content.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from datetime import datetime, timezone
from urllib.parse import urljoin

import feedparser

from ..models import ErrorKind, FetchResult, RawItem, SourceError
from ..normalise.dates import has_zone
from ..normalise.urls import _permanent_upstream_key as permanent_key

_FEED_SNIFF = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.I)


def looks_like_feed(result: FetchResult) -> bool:
    """By Content-Type first, then by the root element (many servers send feeds as text/html)."""
    if any(kind in result.content_type for kind in ("rss", "atom", "rdf")):
        return True
    head = result.body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:5].lower() == b"<html" or head[:9].lower() == b"<!doctype":
        return False
    return bool(_FEED_SNIFF.search(head))


def _aware(struct: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def _linkless_id(feed_url: str, upstream_id: str | None, title: str, printed: str, body: str) -> str:
    """A permanent id for an entry without a link: its own if it is one, else one derived here."""
    if upstream_id and permanent_key(upstream_id):
        return upstream_id  # urn:uuid:, tag:, an https URL...: permanent as given
    # Counters and opaque tokens are unique within their feed only; else what the entry says.
    basis = ("id", upstream_id) if upstream_id else ("entry", title, printed, body)
    digest = hashlib.sha256("\x00".join((feed_url, *basis)).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"urn:x-feed-entry:{digest}"


def extract_feed(result: FetchResult) -> tuple[str, list[RawItem]]:
    """The feed's title and its entries, links made absolute against the feed URL."""
    headers = {"content-location": result.url}
    if result.content_type:
        charset = f"; charset={result.charset}" if result.charset else ""
        headers["content-type"] = result.content_type + charset
    try:
        parsed = feedparser.parse(result.body, response_headers=headers, sanitize_html=False)
    except (UnicodeError, ValueError, LookupError) as exc:
        # feedparser's encoding sniffing raises on junk in the XML declaration.
        raise SourceError(ErrorKind.PARSE, f"{result.url}: unreadable feed encoding ({exc})") from None
    if parsed.bozo and not parsed.entries:
        raise SourceError(ErrorKind.PARSE, f"{result.url}: not a readable feed ({parsed.get('bozo_exception')})")
    items = []
    site = urljoin(result.url, (parsed.feed.get("link") or "").strip()) or result.url
    if not site.startswith(("http://", "https://")):
        site = result.url
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        upstream_id = (entry.get("id") or "").strip() or None
        if not link and upstream_id and upstream_id.startswith(("http://", "https://")):
            link = upstream_id
        contents = entry.get("content") or []
        content_html = "".join(part.get("value", "") for part in contents if part.get("value")) or None
        summary = entry.get("summary") or None
        if content_html and summary and summary.strip() == content_html.strip():
            summary = None
        printed = (dict.get(entry, "published") or dict.get(entry, "created") or "").strip()
        title = (entry.get("title") or "").strip()
        linkless = not link
        if linkless:
            if not (upstream_id or title or content_html or summary):
                continue  # nothing to show and nothing to know it by
            upstream_id = _linkless_id(result.url, upstream_id, title, printed, content_html or summary or "")
        items.append(
            RawItem(
                url=site if linkless else urljoin(result.url, link),
                linkless=linkless,
                title=title,
                upstream_id=upstream_id,
                # dict.get: FeedParserDict.get would silently answer "published" with "updated".
                published=_aware(dict.get(entry, "published_parsed")) or _aware(dict.get(entry, "created_parsed")),
                updated=_aware(dict.get(entry, "updated_parsed")),
                # A date printed without a zone means the source's zone, not UTC as feedparser assumes.
                published_text=printed if printed and not has_zone(printed) else None,
                author=(entry.get("author") or "").strip() or None,
                summary_html=summary,
                content_html=content_html,
                tags=tuple(tag.get("term", "").strip() for tag in entry.get("tags") or () if tag.get("term")),
            )
        )
    return (parsed.feed.get("title") or "").strip(), items
