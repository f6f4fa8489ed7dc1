"""`aggregator try` (and `catalog verify`): one page through the poll's own stages, without the store.

The same transport, reader, enrichment (for `--article`), normalise and classify as a poll;
what it adds is reporting: the selectors the list was detected with, what each selector
the user typed matched, and why every item lands in its categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser

from .classify import classify
from .config import Config, Source
from .enrich import DocumentLimits, mark_documents, read_one
from .extract.article import ArticlePage
from .extract.decode import decode_page
from .extract.list_rows import node_text
from .extract.probe import SelectorMatch, probe_selectors
from .fetch import Fetcher, Transport
from .models import FetchResult, Item
from .normalise import normalise_all
from .read import ReadContext, reader_for
from .read.feed import FeedReader
from .read.html import HtmlListReader

LIST_KIND_NAMES = {"html": "list"}  # what `try` calls a reader's kind, where it differs


@dataclass(slots=True)
class Preview:
    """What `aggregator try` shows: items as they would be stored, and why they land where they do."""

    url: str
    kind: str  # "feed", "list", "json" (a reader's kind) or "article"
    items: list[Item] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # item key -> classification reasons
    chosen: str | None = None  # auto-detected selectors, as TOML
    feed_url: str | None = None
    frame_url: str | None = None  # the list was read from this iframe of the page
    article: dict[str, str | None] | None = None
    selectors: list[SelectorMatch] = field(default_factory=list)  # what each given selector matched
    rendered: str | None = None  # the page was read in the browser, and why
    hints: list[str] = field(default_factory=list)  # why a list page gave no items, as far as the page tells


async def preview(
    source: Source,
    config: Config,
    fetcher: Fetcher,
    *,
    article: bool,
    given: set[str] = frozenset(),
) -> Preview:
    """Fetch one page and extract it exactly as a poll would, without touching the store.

    `given`: the selector keys the user typed; each is also run on its own against the page.
    Older pages are read as on a first poll (`backfill_pages`; `catalog verify` sets it to 0).
    """
    moment = datetime.now(timezone.utc)
    zone = config.zone_of(source)
    transport = Transport(fetcher, source, config.settings)
    if article:  # as a poll reads a row's page
        page, reader = await transport.article(source.url), None
    else:
        page = await transport.source_page(reader_for(source).request(source))
        reader = reader_for(source, page)
    matches: list[SelectorMatch] = []
    if given and (article or isinstance(reader, HtmlListReader)):  # selectors are read on HTML pages only
        html = decode_page(page.body, page.charset, source.encoding, page.url)
        matches = probe_selectors(
            html, None if article else source.list_selectors, source.article if article else None, given=given
        )
    if reader is None:
        shown = await _article(page, transport, source, config, zone, moment)
        shown.rendered, shown.selectors = transport.rendered, matches
        return shown
    context = ReadContext(source, zone, moment, transport.page, older_pages=source.backfill_pages, trial=True)
    rows = await reader.read(page, context)
    out = Preview(
        url=page.url, kind=LIST_KIND_NAMES.get(reader.kind, reader.kind), rendered=transport.rendered, selectors=matches,
        chosen=rows.chosen, feed_url=rows.feed_url, frame_url=rows.frame_url,
    )
    if not rows.items and isinstance(reader, HtmlListReader):
        out.hints = empty_list_hints(
            page, source, rendered=transport.rendered is not None, framed=rows.frame_url is not None, known=rows.empty_error
        )
    elif not rows.items and isinstance(reader, FeedReader):
        # A poll fails as feed-empty here; `try` shows the feed as it is and says why there is nothing.
        out.hints = ["the feed lists no entries (a poll reports feed-empty): open the URL to check that it is the feed you mean"]
    mark_documents(rows.items)
    for item in normalise_all(rows.items, source.name, zone, moment):
        verdict = classify(item, source, config)
        item.categories = verdict.categories
        out.reasons[item.key] = verdict.reasons + ([] if verdict.keep else ["dropped by the source's filters"])
        out.items.append(item)
    return out


async def _article(
    result: FetchResult, transport: Transport, source: Source, config: Config, zone: ZoneInfo, moment: datetime
) -> Preview:
    """One page (or document) as a poll would read it for a row, its attachments included."""
    limits = DocumentLimits(config.settings.attachment_max_bytes, config.settings.attachment_timeout)
    raw, read = await read_one(result, transport, source, zone, moment, limits)
    page = read.page or ArticlePage()
    attachments = [
        f"{e.url} ({e.type}{f', {e.length:,} bytes' if e.length is not None else ''})" for e in raw.enclosures
    ]
    unread = [f"{d.enclosure.url}: {d.reason}" for d in read.documents if d.reason]
    content_text = page.content_text if read.has_body or not raw.attachment_text else raw.attachment_text
    # The decisions as a poll stores them: the page's, else its documents' (read in the worker).
    cases = read.cases
    return Preview(
        url=result.url,
        kind="article",
        article={
            "title": page.title,
            "published": page.published.isoformat() if page.published else None,
            "source": page.origin,
            "author": page.author,
            "original_url": page.original_url,
            "attachments": "; ".join(attachments) or None,
            "content_from": "attachment" if raw.attachment_text and not read.has_body else ("page" if page.content_html else None),
            "unreadable": "; ".join(unread) or None,
            "content_html": raw.content_html,
            "content_text": content_text,
            "cases": [case.as_dict() for case in cases],
        },
    )


# Markers of a page whose content a script writes in after loading (Vue, React, Angular, jQuery templates).
_SCRIPT_BUILT = re.compile(
    r"""id=["'](?:app|root)["']|v-for=|v-if=|ng-app|ng-repeat|__NUXT__|__NEXT_DATA__|data-reactroot|\{\{\s*\w|\$\.ajax|axios\.|fetch\(""",
    re.IGNORECASE,
)
_ARTICLE_TEXT = 1500  # characters of text on a page with no list: one article, not a column


def empty_list_hints(
    page: FetchResult, source: Source, *, rendered: bool, framed: bool, known: str | None = None
) -> list[str]:
    """What may be wrong when a list page gives no items: a selector that matches nothing,
    a list a script builds, or a page that is an article rather than a list.

    `known`: what the reader itself said (a poll's error), e.g. that the list is built by a script."""
    html = decode_page(page.body, page.charset, source.encoding, page.url)
    if not html.strip():
        return ["the page is empty: check the URL in a browser"]
    # The reader's own finding first: `try` says what a poll would report.
    hints: list[str] = [known.removeprefix(f"{source.url}: ")] if known else []
    said_render = bool(known) and "render = true" in (known or "")  # the list reader saw a script-built list
    if said_render:
        hints[0] += " (here: try `--render`)"
    selectors = source.list_selectors
    if selectors is not None and not framed:
        given = {key for key in ("title", "link", "date") if getattr(selectors, key)}
        for match in probe_selectors(html, selectors, None, given=given):
            if match.option == "item" and match.matched == 0:
                hints.append(f"the item selector {match.selector!r} matches nothing on this page: check it against the page's HTML")
            elif match.fallback and match.of:
                hints.append(f"the {match.option} selector {match.selector!r} matches in none of the {match.of} items")
        if selectors.link and not any(h.startswith("the link") for h in hints) and not any(h.startswith("the item") for h in hints):
            hints.append(f"every item lacked a usable link (selector {selectors.link!r}) or title: check `link` and `title`")
    tree = LexborHTMLParser(html)
    scripts = len(tree.css("script"))
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    body = tree.body
    text = node_text(body) if body is not None else ""
    links = len(body.css("a[href]")) if body is not None else 0
    built = _SCRIPT_BUILT.search(html) is not None
    if said_render:
        pass  # already said, naming the box or template that shows it
    elif not rendered and (built or (scripts and (len(text) < 300 or links < 5))):
        hints.append(
            f"the page has {links} link(s), {len(text)} characters of text and {scripts} script(s)"
            + (" with a script framework's markers" if built else "")
            + ": a list that a script builds after the page loads is not in the HTML. If a browser shows a list here,"
            " try `--render` (source key `render = true`)"
        )
    elif len(text) >= _ARTICLE_TEXT and selectors is None:
        hints.append(
            f"the page reads as one text ({len(text):,} characters, {links} link(s)), not a list of articles:"
            " give the URL of the column page that lists them (`--article` reads a single article)"
        )
    if selectors is None and not hints:
        hints.append(
            f"no group of repeated rows holding article links was found among the page's {links} link(s):"
            " is this the column page? Name the rows yourself with --item (and --title, --link, --date)"
        )
    return hints
