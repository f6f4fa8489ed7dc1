"""Readable pages: the published Atom feeds, the feed list and source health as HTML.

A browser that opens a feed link should see a page, not raw XML. The pages are
rendered on request from the very `<slug>.atom` file the server would send
(parsed with lxml), so a feed page always shows the same entries as the feed
and needs no store access. Jinja2 templates (package data in
`aggregator/serve/templates/`) with autoescaping: entry text containing `<script>`
is shown as text; the summary HTML, already sanitised by nh3 at publish time,
is sanitised once more before it is marked safe. No scripts, one small inline
stylesheet, a viewport meta for phones. A penalty decision is read back from
its Atom extension elements (publish/cases.py) and shown as a table.

Links are absolute paths under the path of `settings.base_url`, so a daemon
behind a reverse proxy at `https://example.org/feeds/` (base_url set to that)
links to `/feeds/all.html` while still serving `/all.html` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree
from markupsafe import Markup

from ..models import Case, Enclosure
from ..normalise.text import sanitize_html
from ..publish.cases import case_rows, read_case, strip_case_table

ATOM_NS = "{http://www.w3.org/2005/Atom}"
# Our own output, but read as untrusted all the same: no entities, no network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    link: str | None  # rel=alternate
    via: str | None  # rel=via: 原文链接 of a repost
    authors: tuple[str, ...]  # atom:author names: the authority, when the entry names one
    published: datetime | None
    updated: datetime
    summary_html: str
    content_html: str
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...] = ()  # rel=enclosure: documents, audio, video
    case: Case | None = None  # a penalty decision, from the `case:` extension elements
    authority: str = ""  # atom:source/title: who published the item (publish/atom.py)
    authority_url: str | None = None  # atom:source/link: the source's own page
    contributors: tuple[str, ...] = ()  # atom:contributor names: the page's 作者 or 来源

    @property
    def byline(self) -> str:
        """Who else the entry credits: the page's 作者 or 来源, and authors that are not the authority."""
        return "、".join(dict.fromkeys(n for n in (*self.authors, *self.contributors) if n != self.authority))

    @property
    def body_html(self) -> str:
        """The content without the case table that leads it (the page shows the case on its own)."""
        return strip_case_table(self.content_html, self.case)


@dataclass(frozen=True, slots=True)
class Feed:
    id: str
    title: str
    subtitle: str
    updated: datetime | None  # None for an empty feed (publish writes the epoch)
    hub: str | None
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def newest(self) -> datetime | None:
        """The newest date the entries show (published, else updated), None without entries.

        Not the feed's `updated`: a row dated by day only is `updated` when first seen, so that
        would name a moment no entry shows (today, for a column whose newest notice is weeks old)."""
        return max((entry.published or entry.updated for entry in self.entries), default=None)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _enclosure(link: etree._Element) -> Enclosure:
    length = (link.get("length") or "").strip()
    return Enclosure(link.get("href", ""), link.get("type") or "application/octet-stream", int(length) if length.isdigit() else None, link.get("title"))


def read_atom(data: bytes) -> Feed:
    """The Atom document publish wrote, as plain records; raises ValueError if it is not one."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not an Atom document: {exc}") from None
    if root.tag != f"{ATOM_NS}feed":
        raise ValueError(f"not an Atom feed: root element {root.tag!r}")
    entries = []
    for el in root.iterfind(f"{ATOM_NS}entry"):
        links = {link.get("rel", "alternate"): link.get("href") for link in el.iterfind(f"{ATOM_NS}link")}
        authors = tuple(name for name in (_text(a) for a in el.iterfind(f"{ATOM_NS}author/{ATOM_NS}name")) if name)
        contributors = tuple(
            name for name in (_text(c) for c in el.iterfind(f"{ATOM_NS}contributor/{ATOM_NS}name")) if name
        )
        source = el.find(f"{ATOM_NS}source")
        source_link = source.find(f"{ATOM_NS}link") if source is not None else None
        entries.append(
            Entry(
                id=_text(el.find(f"{ATOM_NS}id")),
                title=_text(el.find(f"{ATOM_NS}title")),
                link=links.get("alternate"),
                via=links.get("via"),
                authors=authors,
                contributors=contributors,
                authority=_text(source.find(f"{ATOM_NS}title")) if source is not None else "",
                authority_url=source_link.get("href") if source_link is not None else None,
                published=_time(_text(el.find(f"{ATOM_NS}published"))),
                updated=_time(_text(el.find(f"{ATOM_NS}updated"))) or datetime(1970, 1, 1, tzinfo=timezone.utc),
                summary_html=_text(el.find(f"{ATOM_NS}summary")),
                content_html=_text(el.find(f"{ATOM_NS}content")),
                categories=tuple(c.get("term", "") for c in el.iterfind(f"{ATOM_NS}category") if c.get("term")),
                enclosures=tuple(_enclosure(link) for link in el.iterfind(f"{ATOM_NS}link") if link.get("rel") == "enclosure" and link.get("href")),
                case=read_case(el),
            )
        )
    updated = _time(_text(root.find(f"{ATOM_NS}updated")))
    if updated is not None and updated.timestamp() <= 0:
        updated = None
    hub = next((link.get("href") for link in root.iterfind(f"{ATOM_NS}link") if link.get("rel") == "hub"), None)
    return Feed(
        id=_text(root.find(f"{ATOM_NS}id")),
        title=_text(root.find(f"{ATOM_NS}title")),
        subtitle=_text(root.find(f"{ATOM_NS}subtitle")),
        updated=updated,
        hub=hub,
        entries=tuple(entries),
    )


def _moved_parts(row: dict[str, Any]) -> tuple[str, str, str] | None:
    """A redesigned site's hint (rediscover.moved_hint) split around the new address, so the page
    can link it: (text before, address, text after); None when the source has no hint."""
    hint, url = row.get("moved_hint"), row.get("moved_to")
    if not hint:
        return None
    if url and url in hint:
        before, _, after = hint.partition(url)
        return before, url, after
    return hint, "", ""


def base_path(base_url: str) -> str:
    """The path part of base_url without its trailing slash: "" or e.g. "/feeds"."""
    return urlsplit(base_url).path.rstrip("/")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("aggregator.serve", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_html"] = lambda value: Markup(sanitize_html(value, None)) if value else ""
    env.globals["case_rows"] = case_rows
    return env


class Renderer:
    """Renders the pages for one config's timezone and base path."""

    def __init__(self, *, base_url: str, timezone_name: str) -> None:
        self.root = base_path(base_url)
        self.zone = ZoneInfo(timezone_name)
        self.zone_label = "北京时间" if timezone_name in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else timezone_name

    def when(self, moment: datetime | str | None) -> str:
        if not moment:  # None, "", or a key the status document lacks (Jinja's Undefined)
            return ""
        if isinstance(moment, str):
            moment = _time(moment)
        if moment is None:
            return ""
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def _render(self, template: str, **context: Any) -> bytes:
        page = _environment().get_template(template).render(
            root=self.root, when=self.when, zone=self.zone_label, **context
        )
        return page.encode("utf-8")

    def index(self, feeds: list[dict[str, Any]], *, polled: tuple[str | None, str | None] = (None, None)) -> bytes:
        """`feeds`: slug, title, description, entries (count), updated (the newest entry's time) and
        changed (when the file was last written) of each published feed; `polled`: the last and
        next poll (ISO), when the daemon is running."""
        written = max((f["changed"] for f in feeds if f.get("changed")), default=None)
        return self._render("index.html", feeds=feeds, last_poll=polled[0], next_poll=polled[1], written=written)

    def feed(self, slug: str, feed: Feed, titles: dict[str, str] | None = None) -> bytes:
        """`titles`: category slug -> title, so that entries show "生态环境执法", not "enforcement"."""
        return self._render("feed.html", slug=slug, feed=feed, titles=titles or {})

    def status(self, document: dict[str, Any]) -> bytes:
        rows = []
        for row in document.get("sources", []):
            # It did need the browser (`rendered` says why), or plain HTTP is blocked now: what
            # `render = "auto"` would get past.
            needs_browser = bool(row.get("rendered")) or (row.get("last_error_kind") == "blocked" and row.get("status") != "ok")
            rows.append({**row, "needs_browser": needs_browser, "moved": _moved_parts(row)})
        return self._render("status.html", document=document, rows=rows)
