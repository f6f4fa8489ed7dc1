"""Extract items from an upstream RSS/Atom feed with feedparser.

Entries without a link (only an id, a title, content, a `<content src>` or an
enclosure: most of feedparser's own test corpus) are kept: they link to their
content's `src` or their first enclosure, else to the feed's site, and their key
comes from the upstream id (scoped to this feed unless it is a permanent id), else
from a hash of their title, date and content.

Entries of one feed that share a link but have distinct ids are distinct items
(a live blog, a page of notices under one URL): all but one are keyed by their id.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import feedparser

from ..models import Enclosure, ErrorKind, FetchResult, RawItem, SourceError, StoredEntry
from ..normalise.dates import has_zone
from ..normalise import shown_title
from ..normalise.text import html_to_text, sanitize_html
from ..normalise.urls import _permanent_upstream_key as permanent_key
from ..normalise.urls import item_key

StoredLookup = Callable[[str], StoredEntry | None]  # the item stored under a key (title "" when pruned)

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
    return _scoped(feed_url, *(("id", upstream_id) if upstream_id else ("entry", title, printed, body)))


def _scoped(feed_url: str, *basis: str) -> str:
    """An id made of what an entry says, unique to its feed."""
    digest = hashlib.sha256("\x00".join((feed_url, *basis)).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"urn:x-feed-entry:{digest}"


def _web(base: str, href: str | None) -> str:
    """`href` made absolute, if it is a web link (feedparser copies an Atom id such as tag: into `link`)."""
    href = (href or "").strip()
    if not href:
        return ""
    try:
        absolute = urljoin(base, href)
        return absolute if urlsplit(absolute).scheme in ("http", "https") else ""
    except ValueError:  # "http://[::1": no address a reader could open
        return ""


def _title(entry: feedparser.FeedParserDict) -> str:
    """Plain text: our titles are type text, so an html or xhtml title loses its markup and entities."""
    title = (entry.get("title") or "").strip()
    kind = (entry.get("title_detail") or {}).get("type") or ""
    return html_to_text(title) if "html" in kind else title


def _enclosures(base: str, entry: feedparser.FeedParserDict) -> tuple[Enclosure, ...]:
    found = []
    for enclosure in entry.get("enclosures") or ():
        href = _web(base, enclosure.get("href"))
        length = str(enclosure.get("length") or "").strip()
        if href:
            kind = (enclosure.get("type") or "").strip() or "application/octet-stream"
            found.append(Enclosure(href, kind, int(length) if length.isdigit() else None))
    return tuple(found)


def separate_shared_links(feed_url: str, items: list[RawItem], stored: StoredLookup | None = None) -> None:
    """Entries that share a link but not an id stay apart: all but one get a key from their id.

    One entry may keep the link's key, the one already stored under it; with nothing stored
    there, the earliest published (undated: the last listed, as feeds list newest first), so
    a newer entry joining the link never re-keys a stored one. `stored(key)`: the item stored
    under `key` (its title and published; title "" for a pruned one), None for none. With it,
    an entry once keyed by its id keeps that key, and when the link's holder leaves the feed
    nobody takes its key.
    """
    groups: dict[str, list[int]] = {}
    for at, item in enumerate(items):
        if not item.linkless and item.upstream_id:
            groups.setdefault(item_key(item.url, item.upstream_id), []).append(at)
    far = datetime.max.replace(tzinfo=timezone.utc)
    for link_key, members in groups.items():
        if len({items[at].upstream_id for at in members}) < 2:
            # One entry, or the same entry pushed twice: one item; by its id if it was stored so
            # (the others that shared its link have left the feed).
            scoped_key = _scoped(feed_url, "id", items[members[0]].upstream_id or "")
            if stored is not None and stored(item_key(link_key, scoped_key)) is not None:
                for at in members:
                    items[at].upstream_id = scoped_key
            continue
        # Scoped even when the id looks permanent: as given, it meets the others' key.
        scoped = {at: _scoped(feed_url, "id", items[at].upstream_id or "") for at in members}
        free = [at for at in members if stored is None or stored(item_key(link_key, scoped[at])) is None]
        holder = stored(link_key) if stored else None
        if holder is not None:
            free = _holder(items, free, holder)
        keeper = min(free, key=lambda at: (items[at].published or far, -at)) if free else None
        keeper_id = items[keeper].upstream_id if keeper is not None else None
        for at in members:
            if items[at].upstream_id != keeper_id:
                items[at].upstream_id = scoped[at]


def _holder(items: list[RawItem], free: list[int], holder: StoredEntry) -> list[int]:
    """Which of the entries not stored under their own id is the one stored under the link.

    Its title as stored (an untitled entry's is made from its text); failing that, its own
    date, when only one entry has it (the holder's title was edited upstream). A pruned
    holder ("") is none of them: nobody takes its key."""
    if not holder.title:
        return []
    titled = [at for at in free if _stored_title(items[at]) == " ".join(holder.title.split())]
    if titled or holder.published is None:
        return titled
    dated = [at for at in free if items[at].published is not None and items[at].published == holder.published]
    return dated if len(dated) == 1 else []


def _stored_title(item: RawItem) -> str:
    """The title normalise will store this entry under."""
    html = item.summary_html or item.content_html
    return shown_title(item.title, sanitize_html(html, base_url=item.url) if html else None, item.url)


def extract_feed(result: FetchResult) -> tuple[str, list[RawItem]]:
    """The feed's title and its entries, those sharing a link kept apart by their ids."""
    title, items = read_feed_entries(result)
    separate_shared_links(result.url, items)
    return title, items


def read_feed_entries(result: FetchResult) -> tuple[str, list[RawItem]]:
    """The feed's title and its entries, links made absolute against the feed URL (ids as given)."""
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
        upstream_id = (entry.get("id") or "").strip() or None
        link = _web(result.url, entry.get("link"))
        if not link and upstream_id and upstream_id.startswith(("http://", "https://")):
            link = upstream_id  # a guid isPermaLink="false" that is a web address is still the entry's page
        contents = entry.get("content") or []
        content_html = "".join(part.get("value", "") for part in contents if part.get("value")) or None
        summary = entry.get("summary") or None
        if content_html and summary and summary.strip() == content_html.strip():
            summary = None
        printed = (dict.get(entry, "published") or dict.get(entry, "created") or "").strip()
        as_given = (entry.get("title") or "").strip()  # what keys were made of before titles became text
        title = _title(entry)
        enclosures = _enclosures(result.url, entry)
        linkless = not link
        url = link
        if linkless:
            # Out-of-line content (`<content src>`) or a podcast's file is what the entry is.
            sources = [_web(result.url, part.get("src")) for part in contents] + [e.url for e in enclosures]
            url = next((href for href in sources if href), site)
            said = bool(upstream_id or as_given or content_html or summary)
            if not said and url == site:
                continue  # nothing to show and nothing to know it by
            # The file's URL names an entry that says nothing else (keys of the others stay as they were).
            basis = as_given if said else url
            upstream_id = _linkless_id(result.url, upstream_id, basis, printed, content_html or summary or "")
        items.append(
            RawItem(
                url=url,
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
                enclosures=enclosures,
            )
        )
    return (parsed.feed.get("title") or "").strip(), items
