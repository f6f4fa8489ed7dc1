"""Finding a column again after its site was redesigned.

A source may name its column (`column = "行政处罚"`; catalog entries fill it in). When the
source's URL answers 404/410, now leads to the site's home page, or a page that listed items
lists none, the poll looks once per failure streak for a link by that name on the same site:
the home page's links (its navigation first), the old page's (when it still answered), and
the site map. What it finds is only reported, with the line to paste (`poll`, `status`, the
health feed): a user's config is never changed.

`candidates` is pure (pages in, ranked links out); `search` fetches those few pages through
the poll's `Transport`, so host spacing, robots.txt and the source's network options apply,
and never raises for a site's failure; `after_poll` is what the poll calls.
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from lxml import etree
from selectolax.lexbor import LexborHTMLParser as HTMLParser, LexborNode as Node

from .config import Config, Source, find_line
from .extract.decode import decode_html
from .fetch import Fetcher, Transport
from .models import ErrorKind, Request, SourceError
from .store.records import SourceState

log = logging.getLogger(__name__)

# Pages larger than this are read only this far: menus and site maps sit near the top.
MAX_PAGE_CHARS = 2_000_000
# A link whose text holds the name but runs this many characters longer is an article
# headline (关于某公司行政处罚决定书的公告), not the column.
CONTAINS_SLACK = 6
# Paths that are a site's home page.
HOME_PATHS = frozenset({
    "", "/", "/index.html", "/index.htm", "/index.shtml", "/index.jsp", "/index.php", "/index.aspx",
    "/default.html", "/default.htm", "/default.aspx", "/default.shtml", "/main.html", "/main.htm", "/home.html",
})
SITEMAP_TEXTS = ("网站地图", "站点地图", "sitemap", "site map")
# Class or id words that mark a menu; dh/daohang are pinyin for 导航.
_NAV_WORD = re.compile(r"nav|menu|daohang|(?<![a-z])dh|lanmu|channel|column", re.I)
_NAV_TAGS = frozenset({"nav", "header", "menu"})
_BREADCRUMB = re.compile(r"\s*[·>»/|｜]\s*")
# Path parts that say nothing about which column a URL is.
_GENERIC_PARTS = frozenset({"col", "index", "list", "html", "channel", "art", "www", "main", "default", "page", "node"})


@dataclass(frozen=True, slots=True)
class Page:
    """A page the search read: `role` is "home", "old" or "sitemap"."""

    url: str  # final URL
    body: bytes
    role: str
    charset: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    url: str
    text: str  # the link's text (or title) as the site shows it; for a site-map <loc>, its path
    found_on: str  # where: "the home page's navigation", "the old page", "the site map" …
    exact: bool  # the text is the name, not only holds it

    @property
    def how(self) -> str:
        return f"“{self.text}” in {self.found_on}"


@dataclass(frozen=True, slots=True)
class Search:
    """What one search found, and where it looked."""

    column: str
    found: Candidate | None
    looked_at: tuple[str, ...]


# -- pure: which links name the column ----------------------------------------------------


def fold(text: str) -> str:
    """Text as compared: width-folded, case-folded, without spaces, punctuation or symbols."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if unicodedata.category(ch)[0] in "LN")


def _names(column: str) -> list[str]:
    """The folded names to match: the whole name, and the last part of a breadcrumb (执法 · 行政处罚)."""
    parts = [p for p in _BREADCRUMB.split(column) if fold(p)]
    names = [fold(column)] + ([fold(parts[-1])] if len(parts) > 1 else [])
    return [n for n in dict.fromkeys(names) if n]


def _match(names: Sequence[str], texts: Iterable[str]) -> int:
    """2: a text is the name; 1: a short text holds it; 0: neither."""
    best = 0
    for text in texts:
        folded = fold(text)
        for name in names:
            if folded == name:
                return 2
            if name in folded and len(folded) <= len(name) + CONTAINS_SLACK:
                best = 1
    return best


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def same_site(url: str, site_url: str) -> bool:
    """The same host, or one a subdomain of the other (www. aside)."""
    a, b = _host(url), _host(site_url)
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


_INDEX_FILES = tuple(sorted({p.lstrip("/") for p in HOME_PATHS if p.strip("/")}))


def _comparable(url: str) -> str:
    """One form for the addresses of one page: /xzcf/, /xzcf and /xzcf/index.html alike."""
    parts = urlsplit(url)
    path = parts.path
    if path.lower().endswith(tuple("/" + name for name in _INDEX_FILES)):
        path = path.rsplit("/", 1)[0]
    path = path.rstrip("/") or "/"
    return urlunsplit(("", _host(url) + (f":{parts.port}" if parts.port else ""), path, parts.query, ""))


def is_home(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path.lower() in HOME_PATHS and not parts.query


def redirected_home(asked: str, final: str) -> bool:
    """`asked` (a column, not the home page) ended at its site's home page."""
    return not is_home(asked) and is_home(final) and same_site(final, asked) and _comparable(asked) != _comparable(final)


def _in_nav(node: Node) -> bool:
    current, depth = node.parent, 0
    while current is not None and depth < 10:
        if current.tag in _NAV_TAGS or (current.attributes.get("role") or "") == "navigation":
            return True
        marks = f"{current.attributes.get('class') or ''} {current.attributes.get('id') or ''}"
        if _NAV_WORD.search(marks):
            return True
        current, depth = current.parent, depth + 1
    return False


_ROLE_WORDS = {"home": "the home page", "old": "the old page", "sitemap": "the site map"}
_ROLE_ORDER = {"home": 0, "old": 1, "sitemap": 2}


def _html_links(names: Sequence[str], page: Page, text: str) -> Iterable[tuple[tuple[int, ...], Candidate]]:
    tree = HTMLParser(text)
    for order, node in enumerate(tree.css("a[href]")):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        shown = node.text(separator=" ", strip=True)
        title = node.attributes.get("title") or ""
        matched = _match(names, [shown, title] if shown else [title])
        if not matched:
            continue
        nav = page.role != "sitemap" and _in_nav(node)
        where = _ROLE_WORDS[page.role] + ("'s navigation" if nav else "")
        url = urljoin(page.url, href).split("#")[0]
        candidate = Candidate(url, shown or title, where, matched == 2)
        yield (matched, int(nav), -_ROLE_ORDER[page.role], -order), candidate


def _sitemap_locs(body: bytes) -> list[str]:
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body[:MAX_PAGE_CHARS], parser=parser)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    return [loc.text.strip() for loc in root.iter("{*}loc") if loc.text and loc.text.strip()]


def _distinct_part(old_url: str) -> str | None:
    """The old URL's last path part that names its column ("xzcf" of /col/xzcf/index.html)."""
    for part in reversed([p for p in urlsplit(old_url).path.split("/") if p]):
        stem = part.rsplit(".", 1)[0].lower()
        if len(stem) >= 3 and stem not in _GENERIC_PARTS and not stem.isdigit():
            return stem
    return None


def _loc_links(names: Sequence[str], page: Page, old_url: str) -> Iterable[tuple[tuple[int, ...], Candidate]]:
    """Site-map URLs: a path that spells the name, or repeats the old URL's column part elsewhere."""
    part = _distinct_part(old_url)
    for order, loc in enumerate(_sitemap_locs(page.body)):
        path = unquote(urlsplit(loc).path)
        segments = [s.rsplit(".", 1)[0].lower() for s in path.split("/") if s]
        if any(name in fold(path) for name in names) or (part is not None and part in segments):
            yield (0, 0, -_ROLE_ORDER["sitemap"], -order), Candidate(loc, path, "the site map", False)


def _is_xml(page: Page) -> bool:
    return page.body.lstrip()[:200].lower().startswith((b"<?xml", b"<urlset", b"<sitemapindex"))


def candidates(column: str, pages: Sequence[Page], *, old_url: str) -> list[Candidate]:
    """Links on `pages` that the column's name points at, best first, one per URL.

    An exact name beats one inside a longer text; a menu link beats one in the page; the
    home page beats the old page beats the site map; a site map's bare URLs come last.
    Only links to the same site count, and never the old address or the home page itself.
    """
    names = _names(column)
    if not names:
        return []
    site, old = old_url, _comparable(old_url)
    found: list[tuple[tuple[int, ...], Candidate]] = []
    for page in pages:
        if page.role == "sitemap" and _is_xml(page):
            found += _loc_links(names, page, old_url)
        else:
            text = decode_html(page.body[:MAX_PAGE_CHARS], page.charset).text
            found += _html_links(names, page, text)
    found.sort(key=lambda pair: pair[0], reverse=True)
    out: dict[str, Candidate] = {}
    for _rank, candidate in found:
        url = candidate.url
        if not url.startswith(("http://", "https://")) or not same_site(url, site) or is_home(url):
            continue
        key = _comparable(url)
        if key != old and key not in out:
            out[key] = candidate
    return list(out.values())


# -- fetching the few pages it needs ------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _get(transport: Transport, url: str, role: str, accept: str | None = None) -> Page | None:
    try:
        result = await transport.page(Request(url, accept=accept, page=role != "sitemap"))
    except SourceError as exc:  # the site's failure is only a page less to look at
        log.debug("looking for a moved column: %s: %s", url, exc)
        return None
    return Page(result.url, result.body, role, result.charset)


_SITEMAP_NAMES = frozenset(fold(text) for text in SITEMAP_TEXTS)


def _sitemap_url(home: Page | None, site: str) -> str:
    """The home page's 网站地图 link when it has one, else /sitemap.xml."""
    if home is not None:
        tree = HTMLParser(decode_html(home.body[:MAX_PAGE_CHARS], home.charset).text)
        for node in tree.css("a[href]"):
            if fold(node.text(strip=True)) in _SITEMAP_NAMES:
                url = urljoin(home.url, node.attributes.get("href") or "")
                if url.startswith(("http://", "https://")) and same_site(url, site):
                    return url
    return _origin(site) + "/sitemap.xml"


async def search(source: Source, transport: Transport, column: str, *, old_page_answers: bool) -> Search:
    """Look for `column` on the source's site: its home page, its old page (if it still
    answers) and its site map, at most three requests. Never raises for the site's failure."""
    old_url = source.url
    home = await _get(transport, _origin(old_url) + "/", "home")
    pages = [home] if home is not None else []
    looked = ["the home page"] if home is not None else []
    if old_page_answers and not is_home(old_url):
        old = await _get(transport, old_url, "old")
        if old is not None and not is_home(old.url):
            pages.append(old)
            looked.append("the old page")
    sitemap = await _get(transport, _sitemap_url(home, old_url), "sitemap", accept="application/xml,text/xml,text/html;q=0.9")
    if sitemap is not None:
        pages.append(sitemap)
        looked.append("the site map")
    found = candidates(column, pages, old_url=old_url)
    return Search(column, found[0] if found else None, tuple(looked))


# -- in a poll ----------------------------------------------------------------------------


def search_reason(kind: ErrorKind | None, status: int | None, max_items_seen: int) -> str | None:
    """Why a failed poll is worth a search for the column, or None when it is not."""
    if kind is ErrorKind.GONE or (kind is ErrorKind.HTTP_STATUS and status in (404, 410)):
        return "not found"
    if kind is ErrorKind.REDIRECTED_HOME:
        return "redirected home"
    if kind is ErrorKind.EMPTY and max_items_seen > 0:
        return "emptied"
    return None


async def after_poll(
    source: Source,
    config: Config,
    transport: Transport,
    state: SourceState,
    *,
    ok: bool,
    kind: ErrorKind | None,
    status: int | None,
) -> str | None:
    """Record a poll's outcome for the column, searching once per failure streak; the words
    for the poll's report line (None: nothing to say)."""
    if ok:
        state.column_search = state.moved_to = state.moved_link = None
        return None
    if not source.column:
        return None
    reason = search_reason(kind, status, state.max_items_seen)
    if reason is not None and state.column_search != state.failing_since:
        try:
            found = await search(source, transport, source.column, old_page_answers=reason == "emptied")
        except Exception:  # a bug here must not turn the source's own failure into another
            log.exception("%s: looking for the column %s failed", source.name, source.column)
            return None
        state.column_search = state.failing_since
        state.moved_to = found.found.url if found.found else None
        state.moved_link = found.found.how if found.found else None
        if found.found is None:
            where = ", ".join(found.looked_at) or "nothing: the site did not answer"
            return f"looked for the column {source.column} on the site ({where}): no link by that name"
    if state.moved_to:
        return moved_hint(config, source, state.moved_to, state.moved_link)
    return None


def moved_hint(config: Config, source: Source, url: str, how: str | None) -> str:
    """The sentence that says where the column went and what to paste where."""
    found = f" ({how})" if how else ""
    return f"the column {source.column} seems to have moved to {url}{found}; to follow it, {paste_line(config, source, url)}"


def paste_line(config: Config, source: Source, url: str) -> str:
    """`set url = "…" in [[sources]] name = "…" (FILE line N)`: the line to write, and where. A source
    the file names only by `catalog = "ID"` is called that, so the user can find it in the file."""
    where = _source_line(config.path, source)
    place = f" ({config.path} line {where[0]})" if config.path and where else (f" ({config.path})" if config.path else "")
    verb = "set" if where is None or where[1] else "add"
    named = where[2] if where else f'name = "{source.name}"'
    return f'{verb} url = "{url}" in [[sources]] {named}{place}'


_SOURCES_HEADER = re.compile(r"(?m)^\s*\[\[\s*sources\s*\]\]")


def _source_line(path: Path | None, source: Source) -> tuple[int, bool, str] | None:
    """The line of the source's `url =` (True), else of its [[sources]] header (False), and the
    key that names the source in the file (`name = "…"` or `catalog = "…"`)."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
        tables = tomllib.loads(text).get("sources")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    # Lines are found by [[sources]] headers: a file writing its sources as an inline array has none.
    if not isinstance(tables, list) or len(_SOURCES_HEADER.findall(text)) != len(tables):
        return None
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            continue
        if table.get("name") == source.name:
            named = f'name = "{source.name}"'
        elif "name" not in table and source.catalog and table.get("catalog") == source.catalog:
            named = f'catalog = "{source.catalog}"'
        else:
            continue
        header = find_line(text, ("sources", index))
        if header is None:
            return None
        if "url" in table:
            return find_line(text, ("sources", index, "url")) or header, True, named
        return header, False, named
    return None


# -- in `catalog verify` ------------------------------------------------------------------


async def verify_candidate(
    source: Source, config: Config, fetcher: Fetcher, error: SourceError | None = None, *, final_url: str | None = None,
    empty: bool = False,
) -> str | None:
    """For `catalog verify`: the column's likely new address when the entry's URL is 404/410,
    leads home or lists nothing (there is no history, so any empty page counts)."""
    if not source.column:
        return None
    if error is not None:
        reason = search_reason(error.kind, error.status, 1)
    elif final_url and redirected_home(source.url, final_url):
        reason = "redirected home"
    else:
        reason = "emptied" if empty else None
    if reason is None:
        return None
    try:
        found = await search(source, Transport(fetcher, source, config.settings), source.column, old_page_answers=reason == "emptied")
    except Exception:  # one entry's surprise must not hide its own verdict
        log.exception("%s: looking for the column %s failed", source.name, source.column)
        return None
    return found.found.url if found.found else None
