"""Enrich stage: the rows' own pages and documents, for every kind of source alike.

A reader's rows carry what the list shows; the article page adds the full text, the date
with its time, 来源, 作者 and 原文链接, and links to documents. Rows that are documents,
and pages whose text is only in an attachment, get the document's text. A page stating a
penalty decision gives its row the case; a page tabling several becomes one entry per case.

- `pages`: what runs in the worker processes (article pages, documents).
- `documents`: enclosures and document text.
- `cases`: penalty decisions: the row's case, or an entry per case.
- here: which rows get their page fetched this poll, and what a failed page means.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ..config import Source
from ..extract.article import ArticlePage
from ..extract.attachments import document_type
from ..fetch import Transport
from ..infra.workers import parse
from ..models import Enclosure, ErrorKind, FetchResult, RawItem, SourceError, parse_iso
from ..normalise.urls import item_key
from .cases import with_cases
from .documents import MAX_DOCUMENTS_PER_POLL, Budget, DocumentLimits, TimeUp, fill_from_documents, mark_documents, read_linked_documents
from .pages import ArticleRead, read_article_and_attachments, read_articles

__all__ = [
    "MAX_ARTICLES_PER_POLL", "MAX_DOCUMENTS_PER_POLL", "ArticleRead", "Budget", "DocumentLimits", "Enriched", "TimeUp", "enrich", "fill_from_article",
    "fill_from_documents", "mark_documents", "read_linked_documents",
]

log = logging.getLogger(__name__)

MAX_ARTICLES_PER_POLL = 60
# A row's page that fails for now (5xx, a timeout) waits; after this many polls in a row and
# this long since its first failure it is kept with the list's data, so the source converges.
PAGE_TRIES = 3
PAGE_GIVE_UP_AFTER = timedelta(hours=6)

PARSE_BATCH_BYTES = 2 * 1024 * 1024
"""Article pages go to a worker in batches of about this many bytes.

Each round trip through ProcessPoolExecutor costs the event loop ~0.2 ms of CPU
(its feeder and manager threads, pickling, waking the loop): a first poll of
16,000 articles paid ~3 s for that alone. The byte bound keeps a source of huge
pages from holding them all in memory at once.
"""


@dataclass(slots=True)
class Enriched:
    """The rows to store, and what the poll should say and remember."""

    rows: list[RawItem]
    deferred: int = 0  # rows that wait for the next poll (over the cap, out of time, or their page failed for now)
    unread: int = 0  # of those, rows not tried at all (over the cap or out of time): the next poll can come soon
    out_of_time: int = 0  # of those, rows whose page was not read before the poll's time ran out
    notes: list[str] = field(default_factory=list)  # article pages that failed, for the poll's line
    retry_after: float | None = None  # the longest wait a failed page's site asked for
    failed: dict[str, list[Any]] = field(default_factory=dict)  # rows waiting after their page failed: URL -> [polls in a row, first failure]
    # Rows whose page became one entry per case, so no item holds the row's own key: row key -> its list_hash.
    case_pages: dict[str, str] = field(default_factory=dict)


async def enrich(
    rows: list[RawItem],
    transport: Transport,
    source: Source,
    *,
    zone: ZoneInfo,
    now: datetime,
    limits: DocumentLimits,
    known: Callable[[RawItem], bool],
    budget: Budget | None = None,
    failed_before: Mapping[str, list[Any]] | None = None,
    case_pages_before: Mapping[str, str] | None = None,
) -> Enriched:
    """Rows to store, with their article pages read.

    `known(row)` says the store already holds the row as listed (its `list_hash`), or has
    pruned it: such a row is skipped, because its stored item came from the article page,
    which the bare row must never overwrite. New or changed rows get their article fetched
    (at most MAX_ARTICLES_PER_POLL); rows whose article could not be read this time wait.
    When the `budget` runs out, the pages still being fetched are given up: the rows read
    so far are returned and the rest wait, so a slow site's poll keeps its work. A page that
    failed for now at PAGE_TRIES polls in a row over PAGE_GIVE_UP_AFTER (`failed_before`: the
    earlier failures) is given up: its row is kept with the list's data, so the source converges.
    A page tabling several penalty decisions becomes one entry per case, none under the row's
    key: `case_pages_before` (the last poll's `case_pages`) knows such rows as listed then.
    """
    out = Enriched([])
    to_fetch: list[RawItem] = []
    for raw in rows:
        if raw.linkless:
            out.rows.append(raw)  # no page of its own to read
            continue
        raw.list_hash = list_hash(raw)
        key = item_key(raw.url, raw.upstream_id)
        if (case_pages_before or {}).get(key) == raw.list_hash:
            out.case_pages[key] = raw.list_hash  # its cases are stored; the row is still listed as it was
            continue
        if known(raw):
            continue
        if len(to_fetch) < MAX_ARTICLES_PER_POLL:
            to_fetch.append(raw)
        else:
            out.deferred += 1
            out.unread += 1
    outcomes = await _read_article_pages(transport, source, to_fetch, zone, now, limits, budget)
    for raw, outcome in zip(to_fetch, outcomes, strict=True):
        if isinstance(outcome, TimeUp):
            out.deferred += 1
            out.unread += 1
            out.out_of_time += 1
            continue
        if isinstance(outcome, ArticleRead):
            if outcome.page is not None:
                for warning in outcome.page.warnings:
                    log.debug("%s: %s: %s", source.name, raw.url, warning)
                fill_from_article(raw, outcome.page)
            fill_from_documents(raw, outcome)
            if len(outcome.cases) > 1:
                out.case_pages[item_key(raw.url, raw.upstream_id)] = raw.list_hash or ""
            out.rows += with_cases(raw, outcome.cases, outcome.case_contents)
            continue
        if outcome is None:  # another file (an image...): the row as listed
            out.rows.append(raw)
            continue
        if not isinstance(outcome, (SourceError, ValueError)):
            log.error("%s: article %s: %r", source.name, raw.url, outcome)
        key = item_key(raw.url, raw.upstream_id)
        if key in (case_pages_before or {}):
            # Its cases are stored: the bare row would add the page as an entry beside them.
            out.notes.append(f"article {raw.url}: {outcome} (its cases stay as they were)")
            out.case_pages[key] = (case_pages_before or {})[key]
            continue
        tries, since = _failures(failed_before, raw.url, now)
        if _keep_list_only(outcome, raw.url, source.url):
            out.notes.append(f"article {raw.url}: {outcome}")
            out.rows.append(raw)
        elif tries >= PAGE_TRIES and now - since >= PAGE_GIVE_UP_AFTER:
            out.notes.append(f"article {raw.url}: {outcome} (failing at {tries} polls since {since:%Y-%m-%d %H:%M} UTC: kept with the list's data)")
            out.rows.append(raw)
        else:
            out.notes.append(f"article {raw.url}: {outcome}")
            out.failed[raw.url] = [tries, since.isoformat()]
            out.deferred += 1
            if isinstance(outcome, SourceError) and outcome.retry_after:
                out.retry_after = max(out.retry_after or 0.0, outcome.retry_after)
    return out


def _failures(before: Mapping[str, list[Any]] | None, url: str, now: datetime) -> tuple[int, datetime]:
    """This failure's count in a row and when the first of them was (now, for a first one)."""
    tries, first = (before or {}).get(url) or (0, None)
    since = parse_iso(first) if isinstance(first, str) else None
    return int(tries) + 1, since or now


def list_hash(raw: RawItem) -> str:
    """The row as listed, before its page is read: unchanged, it needs no new visit."""
    return hashlib.sha256(
        "\x00".join((raw.url, raw.title, raw.published_text or "", raw.summary_html or "")).encode("utf-8", "surrogatepass")
    ).hexdigest()[:32]


def fill_from_article(raw: RawItem, article: ArticlePage) -> None:
    """The article page's date and text beat the list's (but for rows that share the page)."""
    if raw.shared_link and raw.title:
        pass  # the row's own headline is its story's: the page's would make its twins one
    elif article.title and (not raw.title or raw.title.endswith(("…", "...")) or len(article.title) > len(raw.title)):
        raw.title = article.title
    if raw.shared_link and (raw.published or raw.published_text):
        pass  # likewise the row's own date
    elif article.published:
        raw.published, raw.published_text = article.published, None
    elif article.published_text and not raw.published_text:
        raw.published_text = article.published_text
    raw.origin = article.origin or raw.origin
    raw.author = article.author or raw.author
    raw.original_url = article.original_url or raw.original_url
    if article.content_html:
        # Sanitised in the worker against the article's own base URL; not again here.
        raw.content_html, raw.content_sanitised = article.content_html, True


def _keep_list_only(error: BaseException, article_url: str, list_url: str) -> bool:
    """An article that may never load is kept with its list data; a flaky one of the source's own site waits."""
    if urlsplit(article_url).hostname != urlsplit(list_url).hostname:
        return True  # another site's page: we cannot tell a bad day from a dead link
    if not isinstance(error, SourceError):
        return True  # a bug in extraction: logged; retrying would repeat it
    if error.kind in (ErrorKind.PARSE, ErrorKind.DECODE, ErrorKind.GONE, ErrorKind.TOO_LARGE, ErrorKind.ROBOTS):
        return True
    # A 404 or 403 stays; 429 (asks us to wait) and 5xx are the site's bad day.
    return error.kind is ErrorKind.HTTP_STATUS and error.status is not None and 400 <= error.status < 500 and error.status != 429


def _is_page(result: FetchResult) -> bool:
    return not result.content_type or result.content_type.startswith(("text/html", "application/xhtml"))


async def read_one(
    result: FetchResult, transport: Transport, source: Source, zone: ZoneInfo, now: datetime, limits: DocumentLimits
) -> tuple[RawItem, ArticleRead]:
    """One fetched page (or document) as a poll reads it for a row, attachments included (for `try --article`).

    The row has the case when the page (or its document) states one; `read.cases` lists them all.
    """
    kind = None if _is_page(result) else document_type(result.url, result.content_type)
    if kind:
        read = ArticleRead(None, [Enclosure(result.url, kind)], has_body=False)
        downloaded = {0: result.body}
    else:
        read = read_article_and_attachments(result, source, zone, now)
        downloaded = {}
    await read_linked_documents(transport, source, [read], downloaded, limits)
    raw = RawItem(url=result.url, title="")
    if read.page is not None:
        fill_from_article(raw, read.page)
    fill_from_documents(raw, read)
    if len(read.cases) == 1:
        with_cases(raw, read.cases)
    return raw, read


async def _read_article_pages(
    transport: Transport,
    source: Source,
    rows: list[RawItem],
    zone: ZoneInfo,
    now: datetime,
    limits: DocumentLimits,
    budget: Budget | None = None,
) -> list[ArticleRead | BaseException | None]:
    """Each row's page, read: an ArticleRead, the error that stopped it, None for another file (an
    image...), or TimeUp for a page still being fetched (or waiting for its host) when the budget ends."""
    if not rows:
        return []  # asyncio.wait() refuses an empty set
    outcomes: list[ArticleRead | BaseException | None] = [None] * len(rows)
    documents: list[tuple[int, bytes, Enclosure]] = []  # rows that link a document themselves
    batch: list[tuple[int, FetchResult]] = []
    batch_bytes = 0

    async def read_batch(pages: list[tuple[int, FetchResult]]) -> None:
        parsed = await _read_articles([result for _index, result in pages], source, zone, now)
        for (index, _result), outcome in zip(pages, parsed, strict=True):
            outcomes[index] = outcome

    async with asyncio.TaskGroup() as group:

        def send_batch() -> None:
            nonlocal batch, batch_bytes
            if batch:
                group.create_task(read_batch(batch))
                batch, batch_bytes = [], 0

        async def fetch(index: int, raw: RawItem) -> None:
            nonlocal batch_bytes
            try:
                result = await transport.article(raw.url)
            except Exception as exc:  # this row's failure, judged by the caller
                outcomes[index] = exc
                return
            if not _is_page(result):
                kind = document_type(result.url, result.content_type)
                if kind:  # the row is a document (a 处罚决定书 PDF): an enclosure, and its text
                    documents.append((index, result.body, Enclosure(raw.url, kind)))
                return  # other files stay as list items
            batch.append((index, result))
            batch_bytes += len(result.body)
            if batch_bytes >= PARSE_BATCH_BYTES:
                send_batch()

        fetches = {group.create_task(fetch(index, raw)): index for index, raw in enumerate(rows)}
        left = None if budget is None else max(0.0, budget.pages_until - time.monotonic())
        done, unfinished = await asyncio.wait(fetches, timeout=left)
        if budget is not None and unfinished and not done:
            # Not one page yet (a host busy with other sources): wait for one, so every poll gets further.
            later = max(0.0, budget.documents_until - time.monotonic())
            done, unfinished = await asyncio.wait(unfinished, timeout=later, return_when=asyncio.FIRST_COMPLETED)
        for task in unfinished:  # a cancelled child does not cancel the group (its pages parse on)
            task.cancel()
            outcomes[fetches[task]] = TimeUp()
        send_batch()
    for index, _body, enclosure in documents:
        outcomes[index] = ArticleRead(None, [enclosure], has_body=False)
    await read_linked_documents(
        transport, source, outcomes, {index: body for index, body, _enclosure in documents}, limits, budget
    )
    return outcomes


async def _read_articles(
    results: list[FetchResult], source: Source, zone: ZoneInfo, now: datetime
) -> list[ArticleRead | BaseException]:
    try:
        return await parse(read_articles, results, source, zone, now)
    except Exception:  # noqa: BLE001 - a page crashed the worker, or a result did not pickle
        if len(results) == 1:
            raise
    # Page by page, so only the page at fault fails.
    return list(
        await asyncio.gather(
            *(parse(read_article_and_attachments, result, source, zone, now) for result in results), return_exceptions=True
        )
    )
