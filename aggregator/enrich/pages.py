"""What the worker processes do for enrichment: read article pages and documents.

Module-level functions only: they are pickled by name to the workers
(`infra.workers.parse`), with the page as a `FetchResult`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from ..config import Source
from ..extract.article import ArticlePage, extract_article
from ..extract.attachments import DocumentText, find_attachments, page_has_body, read_document
from ..extract.cases import case_in_text
from ..extract.decode import decode_page
from ..extract.wechat import extract_wechat, is_wechat
from ..models import Case, Enclosure, FetchResult
from .cases import case_rows_html

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ArticleRead:
    """What one row's page gave: the article (None when the row links a document itself) and its documents."""

    page: ArticlePage | None
    attachments: list[Enclosure] = field(default_factory=list)  # documents the page links to
    has_body: bool = True  # the page says more than its attachment links
    documents: list[DocumentText] = field(default_factory=list)  # those downloaded and read
    # The penalty decisions the page states; failing those, the ones its documents state
    # (filled once they are read). Each case's own content beside it when there are several:
    # its row of the page's table, its document's text (None: none found).
    cases: list[Case] = field(default_factory=list)
    case_contents: list[str | None] = field(default_factory=list)


def extract_page(html: str, url: str, source: Source, zone: ZoneInfo, now: datetime) -> ArticlePage:
    """WeChat articles have their own reader; every other page the generic one."""
    if is_wechat(url, html):
        return extract_wechat(html, url, tz=zone, now=now)
    return extract_article(html, url, source.article, tz=zone, now=now)


def read_article(result: FetchResult, source: Source, zone: ZoneInfo, now: datetime) -> ArticlePage:
    """One article page's fields."""
    html = decode_page(result.body, result.charset, source.encoding, result.url)
    return extract_page(html, result.url, source, zone, now)


def read_article_and_attachments(result: FetchResult, source: Source, zone: ZoneInfo, now: datetime) -> ArticleRead:
    html = decode_page(result.body, result.charset, source.encoding, result.url)
    page = extract_page(html, result.url, source, zone, now)
    # Documents linked in the body; failing that, anywhere on the page (a "附件" block below it).
    # Most pages link none: a substring test spares them another parse.
    attachments: list[Enclosure] = []
    if page.content_html and _may_link_documents(page.content_html):
        attachments = find_attachments(page.content_html, result.url)
    if not attachments and _may_link_documents(html):
        attachments = find_attachments(html, result.url)
    has_body = page_has_body(page.content_html, attachments) if attachments else bool(page.content_html)
    cases = [case for case in page.cases if case]
    return ArticleRead(page, attachments, has_body, cases=cases, case_contents=case_rows_html(page.content_html, cases))


_DOCUMENT_HINTS = re.compile(r"\.(?:pdf|docx?|wps|xlsx?|ofd)\b", re.I)


def _may_link_documents(html: str) -> bool:
    return _DOCUMENT_HINTS.search(html) is not None


def read_articles(
    results: list[FetchResult], source: Source, zone: ZoneInfo, now: datetime
) -> list[ArticleRead | BaseException]:
    """read_article_and_attachments over a batch of pages, in one round trip; each page fails alone."""
    pages: list[ArticleRead | BaseException] = []
    for result in results:
        try:
            pages.append(read_article_and_attachments(result, source, zone, now))
        except Exception as exc:  # noqa: BLE001 - returned to the poll, which reports it per row
            pages.append(exc)
    return pages


def read_documents(
    documents: list[tuple[bytes, Enclosure]], max_bytes: int, seconds: float
) -> list[tuple[DocumentText, Case | None]]:
    """Text of downloaded documents, and the decision each states; each fails alone, as a reason."""
    read = []
    for body, enclosure in documents:
        document = read_document(body, enclosure, max_bytes=max_bytes, seconds=seconds)
        read.append((document, _case_in(document)))
    return read


def _case_in(document: DocumentText) -> Case | None:
    if not document.text:
        return None
    try:
        return case_in_text(document.text) or None
    except Exception:  # noqa: BLE001 - a bug in reading the decision must not cost the document its text
        log.exception("%s: reading the decision in it failed", document.enclosure.url)
        return None
