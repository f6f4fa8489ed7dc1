"""Publish stage: stored items -> Atom feeds (feedgen) and an OPML list, written atomically.

Output is deterministic: the same items give byte-identical files (no "now",
stable ordering, fixed ids), so readers and HTTP caches see no false changes,
and a file whose bytes would not change is not rewritten at all.

Every entry of a feed built from the config's sources names the authority it
came from (the `label` of the source credited with the item, resolved from the
current config at each publish): as its one `<author>`, the field readers show
(feedparser's `entry.author` is the last of several, Miniflux sorts them), and
as the `<title>` of its `<source>`, which marks the name as the authority. The
page's own byline (作者, else 来源) becomes a `<contributor>` when it differs.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator.config import SLUG, Source
from aggregator.infra.atomicfile import replace_if_changed as write_atomic
from aggregator.models import Case, StoredItem
from aggregator.normalise.text import sanitize_html, xml_safe

from .cases import add_case_elements, case_table_html, clean_case, declare_namespace

log = logging.getLogger("aggregator.publish")  # the name its log lines carried as publish.py

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
OPML_NAME = "feeds.opml"
GENERATOR = "feed-aggregator"
# An empty feed has no entry to take `updated` from; a fixed value keeps it deterministic.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Parser for re-reading feedgen's own output: no entities, no network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class FeedSpec:
    """One feed to publish. `items` are already filtered to this feed; publish sorts and limits."""

    slug: str  # file name stem: {slug}.atom
    title: str
    subtitle: str
    items: Sequence[StoredItem]
    author: str = "Feed aggregator"  # feed-level atom:author (entries carry their own too)
    limit: int | None = None  # entries in this feed; None: publish's limit
    empty_updated: datetime | None = None  # the feed's `updated` while it has no entries (the store's birth)
    # The config's sources by name: entries then name their authority (atom:source). None for
    # feeds of the program's own making (health), whose entries keep their one author.
    sources: Mapping[str, Source] | None = None


@dataclass(frozen=True, slots=True)
class _Link:
    href: str
    rel: str
    type: str = "text/html"
    length: int | None = None  # enclosures: bytes, when known


@dataclass(frozen=True, slots=True)
class _Origin:
    """The source an entry is credited to, as its atom:source element shows it."""

    source_id: str  # permanent, from the source's name
    title: str  # the authority
    link: str | None  # the source's own page, while the config still has the source


@dataclass(slots=True)
class _Entry:
    """An item checked and cleaned, ready to hand to feedgen."""

    atom_id: str
    title: str
    updated: datetime
    published: datetime | None
    authors: list[str]
    contributors: list[str]
    links: list[_Link]
    summary: str
    content: str
    categories: list[str] = field(default_factory=list)
    case: Case | None = None  # cleaned: what the extension elements and the content's table show
    origin: _Origin | None = None


class _SkipItem(ValueError):
    """An item that cannot be rendered validly; it is logged and left out of the feed."""


def feed_id(slug: str) -> str:
    """Permanent feed id; independent of base_url so moving the server keeps subscriptions."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "feed-aggregator:feed:" + slug))


def source_id(name: str) -> str:
    """Permanent id of a source (atom:source/id): from its name, as feed ids are from slugs."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "feed-aggregator:source:" + name))


def feed_url(base_url: str, slug: str) -> str:
    return f"{_base(base_url)}/{slug}.atom"


def _base(base_url: str) -> str:
    return xml_safe(base_url).rstrip("/")


def _is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _atom_time(value: datetime, what: str, key: str) -> datetime:
    """UTC, whole seconds: one canonical spelling whatever tzinfo object the store used."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise _SkipItem(f"item {key!r}: {what} is a naive datetime")
    return value.astimezone(timezone.utc).replace(microsecond=0)


def _order(items: Sequence[StoredItem], limit: int) -> list[StoredItem]:
    """Newest first by sort_time; equal times keep a stable order by key."""
    by_key = sorted(items, key=lambda item: item.key)
    by_key.sort(key=lambda item: item.sort_time.astimezone(timezone.utc), reverse=True)
    return by_key[:limit]


def _clean_name(value: str | None) -> str:
    return " ".join(xml_safe(value or "").split())


def _credit(
    item: StoredItem, sources: Mapping[str, Source] | None
) -> tuple[list[str], list[str], _Origin | None]:
    """The entry's authors, its contributors and the source it is credited to.

    The item's `source` is the one whose page the entry links to (the original of a repost,
    else the source that found it first); other sources listing it are not named. A source
    since removed from the config is named by its name, without a link.
    """
    byline = _clean_name(item.author) or _clean_name(item.origin)
    if sources is None:
        return [byline or _clean_name(item.source) or "unknown"], [], None
    configured = sources.get(item.source)
    authority = _clean_name(configured.label if configured else item.source) or "unknown"
    link = xml_safe(configured.url).strip() if configured else ""
    # A URL with a user name or password in it is the source's secret, not a page to show.
    shown = _is_absolute(link) and "@" not in urlsplit(link).netloc
    origin = _Origin(source_id(item.source), authority, link if shown else None)
    return [authority], [byline] if byline and byline != authority else [], origin


def _prepare(item: StoredItem, slug: str, sources: Mapping[str, Source] | None = None) -> _Entry:
    """Clean every string of one item and decide its links; raises _SkipItem if it cannot be valid."""
    key = item.key
    atom_id = xml_safe(item.atom_id).strip()
    if not atom_id:
        raise _SkipItem(f"item {key!r} has no atom id")
    updated = _atom_time(item.updated, "updated", key)
    published = _atom_time(item.published, "published", key) if item.published else None

    links: list[_Link] = []
    url = xml_safe(item.url).strip()
    if _is_absolute(url):
        links.append(_Link(url, "alternate"))
    else:
        # Relative links are an upstream bug (extract must resolve them); emitting one
        # would point at our own server.
        log.warning("feed %s: item %r has a non-absolute url %r; link left out", slug, key, url)
    original = xml_safe(item.original_url or "").strip()
    if original and original != url:
        if _is_absolute(original):
            links.append(_Link(original, "via"))
        else:
            log.warning("feed %s: item %r has a non-absolute original_url %r; link left out", slug, key, original)
    for enclosure in item.enclosures:
        href = xml_safe(enclosure.url).strip()
        if _is_absolute(href) and href not in {link.href for link in links if link.rel == "enclosure"}:
            links.append(_Link(href, "enclosure", xml_safe(enclosure.type).strip() or "application/octet-stream", enclosure.length))

    base = url if _is_absolute(url) else None
    summary = sanitize_html(item.summary_html, base) if item.summary_html else ""
    content = sanitize_html(item.content_html, base) if item.content_html else ""
    title = " ".join(xml_safe(item.title).split())
    if not title:
        title = url or atom_id  # atom:title is required; an empty one is invalid
    if not content and not any(link.rel == "alternate" for link in links):
        # RFC 4287 4.1.2: an entry without an alternate link must have content.
        content = summary or html.escape(title)
    case = clean_case(item.case)
    if case:
        # Readers show content, not extension elements: the case leads it as a table,
        # followed by the page's text (its summary when the page gave no content).
        content = case_table_html(case) + (content or summary)
    if not content and not summary:
        # Upstream gave a title only: readers and validators still get a text.
        summary = html.escape(title)

    authors, contributors, origin = _credit(item, sources)
    categories: list[str] = []
    for term in item.categories:
        term = xml_safe(term).strip()
        if term and term not in categories:
            categories.append(term)
    return _Entry(
        atom_id, title, updated, published, authors, contributors, links, summary, content, categories, case, origin
    )


def _feed_entry(entry: _Entry) -> FeedEntry:
    fe = FeedEntry()
    fe.id(entry.atom_id)
    fe.title(entry.title)
    fe.updated(entry.updated)
    if entry.published:
        fe.published(entry.published)
    fe.author([{"name": name} for name in entry.authors])
    if entry.contributors:
        fe.contributor([{"name": name} for name in entry.contributors])
    for link in entry.links:
        if link.length is not None:
            fe.link(href=link.href, rel=link.rel, type=link.type, length=str(link.length))
        else:
            fe.link(href=link.href, rel=link.rel, type=link.type)
    if entry.summary:
        fe.summary(entry.summary, type="html")
    if entry.content:
        # type="html": feedgen puts the markup in as text, so lxml escapes it.
        fe.content(entry.content, type="html")
    for term in entry.categories:
        fe.category(term=term)
    return fe


def _fix_entry_links(root: etree._Element, entries: Sequence[_Entry]) -> None:
    """Put back the rel/type attributes feedgen 1.0.0 loses on entry links.

    feedgen's FeedEntry.atom_entry rebinds its loop variable `link` to the new
    element before reading rel/type from it, so every entry link comes out with
    only href (lkiesow/python-feedgen#135). With a `via` link next to the
    alternate one, readers would see two alternate links and open the wrong page.
    We set the attributes ourselves; on a fixed feedgen this changes nothing.
    """
    elements = root.findall(f"{{{ATOM_NS}}}entry")
    if len(elements) != len(entries):
        raise RuntimeError(f"feedgen wrote {len(elements)} entries, expected {len(entries)}")
    for element, entry in zip(elements, entries):
        found = element.findall(f"{{{ATOM_NS}}}link")
        if [e.get("href") for e in found] != [link.href for link in entry.links]:
            raise RuntimeError(f"entry {entry.atom_id!r}: feedgen links do not match those given")
        for link_element, link in zip(found, entry.links):
            link_element.set("rel", link.rel)
            link_element.set("type", link.type)
            if link.length is not None:
                link_element.set("length", str(link.length))


def _add_sources(root: etree._Element, entries: Sequence[_Entry]) -> None:
    """atom:source per credited entry (RFC 4287 4.2.11), with the id, title and updated the W3C
    validator expects of one; feedgen writes only a title and a link."""
    for element, entry in zip(root.findall(f"{{{ATOM_NS}}}entry"), entries):
        if entry.origin is None:
            continue
        source = etree.SubElement(element, f"{{{ATOM_NS}}}source")
        etree.SubElement(source, f"{{{ATOM_NS}}}id").text = entry.origin.source_id
        etree.SubElement(source, f"{{{ATOM_NS}}}title").text = entry.origin.title
        if entry.origin.link:
            etree.SubElement(source, f"{{{ATOM_NS}}}link", rel="alternate", href=entry.origin.link)
        # The source's own last change is not known; the entry's is the honest lower bound.
        etree.SubElement(source, f"{{{ATOM_NS}}}updated").text = entry.updated.isoformat()


def _add_cases(root: etree._Element, entries: Sequence[_Entry]) -> None:
    """The case extension elements (see cases.py); a feed without cases is left as it was."""
    if not any(entry.case for entry in entries):
        return
    for element, entry in zip(root.findall(f"{{{ATOM_NS}}}entry"), entries):
        if entry.case:
            add_case_elements(element, entry.case)
    declare_namespace(root)


def render_atom(
    spec: FeedSpec, base_url: str, limit: int, generator_version: str | None = None, hub: str | None = None
) -> bytes:
    """The Atom document of one feed: newest `limit` items, byte-identical for identical input."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    entries: list[_Entry] = []
    seen_ids: set[str] = set()
    # Walk the whole ordered list so that skipped items do not shorten the feed.
    for item in _order(spec.items, len(spec.items)):
        if len(entries) >= limit:
            break
        try:
            entry = _prepare(item, spec.slug, spec.sources)
        except _SkipItem as exc:
            log.error("feed %s: %s; item left out", spec.slug, exc)
            continue
        if entry.atom_id in seen_ids:
            # Two entries with one id make readers merge or flip between them.
            log.warning(
                "feed %s: duplicate atom id %r (item %r); keeping the newer", spec.slug, entry.atom_id, item.key
            )
            continue
        seen_ids.add(entry.atom_id)
        entries.append(entry)

    base = _base(base_url)
    fg = FeedGenerator()
    fg.id(feed_id(spec.slug))
    fg.title(xml_safe(spec.title).strip() or spec.slug)
    subtitle = xml_safe(spec.subtitle).strip()
    if subtitle:
        fg.subtitle(subtitle)
    # feedgen defaults `updated` to now(); the newest entry's time is the honest value.
    fg.updated(max((entry.updated for entry in entries), default=spec.empty_updated or EPOCH))
    fg.link(href=feed_url(base, spec.slug), rel="self", type=ATOM_TYPE)
    fg.link(href=f"{base}/", rel="alternate", type="text/html")
    if hub:
        fg.link(href=xml_safe(hub), rel="hub")  # WebSub discovery (section 4)
    fg.author({"name": xml_safe(spec.author).strip() or GENERATOR})
    version = generator_version if generator_version is not None else package_version()
    fg.generator(GENERATOR, version=xml_safe(version))
    for entry in entries:
        # feedgen prepends by default, which would reverse our order.
        fg.add_entry(_feed_entry(entry), order="append")

    root = etree.fromstring(fg.atom_str(pretty=False), _PARSER)
    _fix_entry_links(root, entries)
    _add_sources(root, entries)
    _add_cases(root, entries)
    # Serialised from the unindented tree, so pretty_print indents cleanly.
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def render_opml(feeds: Sequence[tuple[str, str, str]], title: str) -> bytes:
    """OPML 2.0 listing (slug, title, url) feeds in the given order; no dates, so deterministic."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = xml_safe(title)
    body = etree.SubElement(opml, "body")
    for slug, feed_title, url in feeds:
        text = xml_safe(feed_title).strip() or xml_safe(slug)
        etree.SubElement(body, "outline", type="rss", text=text, title=text, xmlUrl=xml_safe(url))
    return etree.tostring(opml, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def package_version() -> str:
    try:
        return metadata.version("feed-aggregator")
    except metadata.PackageNotFoundError:
        return "0"


def publish(
    specs: Sequence[FeedSpec],
    out_dir: Path,
    base_url: str,
    limit: int,
    opml_title: str = "Feed aggregator",
    generator_version: str | None = None,
    hub: str | None = None,
) -> list[Path]:
    """Write `{slug}.atom` for every spec plus feeds.opml; return the paths that changed.

    Everything is rendered before anything is written, so an error leaves the
    previous feeds in place rather than a half-updated set.
    """
    slugs = [spec.slug for spec in specs]
    for slug in slugs:
        if not SLUG.match(slug):
            raise ValueError(f"feed slug {slug!r} is not a safe file name")
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise ValueError(f"duplicate feed slugs: {', '.join(duplicates)}")
    version = generator_version if generator_version is not None else package_version()

    outputs: list[tuple[Path, bytes]] = [
        (out_dir / f"{spec.slug}.atom", render_atom(spec, base_url, spec.limit or limit, version, hub)) for spec in specs
    ]
    opml = render_opml([(spec.slug, spec.title, feed_url(base_url, spec.slug)) for spec in specs], opml_title)
    outputs.append((out_dir / OPML_NAME, opml))

    out_dir.mkdir(parents=True, exist_ok=True)
    changed = [path for path, data in outputs if write_atomic(path, data)]
    for path in changed:
        log.info("wrote %s", path)
    # A category removed from the config: its file would otherwise be served, frozen, forever.
    current = {path.name for path, _data in outputs}
    for stale in sorted(out_dir.glob("*.atom")):
        if stale.name not in current and _written_by_us(stale):
            stale.unlink(missing_ok=True)
            changed.append(stale)
            log.info("removed %s: its feed is no longer in the config", stale)
    return changed


def _written_by_us(path: Path) -> bool:
    """Only feeds this program generated are removed, never a file someone put beside them."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return b"<generator" in head and f">{GENERATOR}</generator>".encode() in head
