"""Attachments: documents (PDF, DOC(X), WPS, XLS(X), OFD) that rows are or that their pages link.

They become enclosures; a downloaded document's text (read in the workers) is the entry's
content when its page has none, and is classified on either way. The penalty decision a
document states is its row's case when the page states none of its own.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..config import Source
from ..extract.attachments import READABLE, DocumentText, document_type, text_to_html
from ..fetch import Transport
from ..infra.workers import parse
from ..models import Case, Enclosure, RawItem, Request, SourceError
from .cases import fold
from .pages import ArticleRead, read_documents

log = logging.getLogger(__name__)

MAX_DOCUMENTS_PER_ITEM = 2  # documents downloaded for one article page
MAX_DOCUMENTS_PER_POLL = 30


class TimeUp(Exception):
    """A row's page or document was not read before the poll stopped fetching: it waits, it did not fail."""


PAGES_SHARE = 0.75  # of a poll's time limit: article pages are fetched until then...
DOCUMENTS_SHARE = 0.9  # ...their documents until then; the rest is kept for parsing and storing,
FINISH_RESERVE = 2.0  # and never less than this many seconds (or half) of a short limit


@dataclass(frozen=True, slots=True)
class Budget:
    """When a poll stops fetching, as time.monotonic() values: what arrived by then is stored,
    the rows still waiting are left for the next poll, so a poll never loses its work to its limit."""

    pages_until: float
    documents_until: float

    @classmethod
    def of(cls, started: float, time_limit: float) -> Budget:
        reserve = max(time_limit * (1 - DOCUMENTS_SHARE), min(FINISH_RESERVE, time_limit / 2))
        documents_until = started + time_limit - reserve
        return cls(min(started + time_limit * PAGES_SHARE, documents_until), documents_until)


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_bytes: int = 5 * 1024 * 1024  # of one document
    seconds: float = 10.0  # to read one document


async def read_linked_documents(
    transport: Transport,
    source: Source,
    outcomes: list[ArticleRead | BaseException | None],
    downloaded: dict[int, bytes],
    limits: DocumentLimits,
    budget: Budget | None = None,
) -> None:
    """Read the documents of rows that are one, and of article pages with no body of their own.

    With `read_attachments`, pages with a body get theirs read too (for classification). A page
    with a body but no penalty decision of its own gets the documents read that are named as
    one (行政处罚决定书.pdf, 示环罚〔2026〕15号.docx): the decision is in them.
    A row whose documents are still to be fetched when the budget's time for them is over
    becomes TimeUp: it waits for the next poll rather than be stored without their text. The
    first such row is read all the same, so every poll gets further than the one before.
    """
    wanted: list[tuple[int, bytes, Enclosure]] = []
    for index, outcome in enumerate(outcomes):
        if not isinstance(outcome, ArticleRead):
            continue
        if outcome.page is None:
            wanted.append((index, downloaded[index], outcome.attachments[0]))
            continue
        readable = [e for e in outcome.attachments if e.type in READABLE]
        if outcome.has_body and not source.read_attachments:
            readable = [] if outcome.cases else [e for e in readable if _names_a_decision(e)]
            if not readable:
                continue
        late = budget is not None and time.monotonic() >= budget.documents_until
        if late and (wanted or downloaded) and readable:
            outcomes[index] = TimeUp()
            continue
        for enclosure in readable[:MAX_DOCUMENTS_PER_ITEM]:
            if len(wanted) >= MAX_DOCUMENTS_PER_POLL:
                break
            try:
                result = await transport.page(Request(enclosure.url))
            except SourceError as exc:
                log.info("%s: attachment %s kept as a link: %s", source.name, enclosure.url, exc)
                continue
            wanted.append((index, result.body, enclosure))
    if not wanted:
        return
    try:
        texts = await parse(read_documents, [(body, enclosure) for _index, body, enclosure in wanted], limits.max_bytes, limits.seconds)
    except Exception as exc:  # noqa: BLE001 - a document crashed the parser process: all stay links
        log.warning("%s: documents kept as links: %s", source.name, exc)
        texts = [(DocumentText(Enclosure(e.url, e.type, len(body), e.title), reason=str(exc)), None) for _i, body, e in wanted]
    for (index, _body, _enclosure), (text, case) in zip(wanted, texts, strict=True):
        outcome = outcomes[index]
        assert isinstance(outcome, ArticleRead)
        outcome.documents.append(text)
        if text.reason:
            log.info("%s: %s kept as a link: %s", source.name, text.enclosure.url, text.reason)
        _add_document_case(outcome, case, text)
    for index in {index for index, _body, _enclosure in wanted}:
        outcome = outcomes[index]
        assert isinstance(outcome, ArticleRead)
        if outcome.has_body and outcome.page is not None and not outcome.page.cases and len(outcome.cases) > 1:
            # A page of its own text linking several decisions stays one entry (its text is no
            # one decision's); only a shell page becomes one entry per document.
            outcome.cases, outcome.case_contents = [], []


# A document named as a penalty decision: 行政处罚决定书, 处罚决定, or a penalty 文号 (示环罚〔2026〕15号).
_DECISION_NAME = re.compile(r"处罚决定|罚\s*[〔［\[【（(]\s*(?:19|20)\d{2}")


def _names_a_decision(enclosure: Enclosure) -> bool:
    name = enclosure.title or unquote(urlsplit(enclosure.url).path.rsplit("/", 1)[-1])
    return _DECISION_NAME.search(name) is not None


def _add_document_case(read: ArticleRead, case: Case | None, document: DocumentText) -> None:
    """A decision a document states is the page's when the page states none of its own
    (a shell page whose decision is only in its PDF); one document per decision."""
    if not case or (read.page is not None and read.page.cases):
        return
    if any(case == known or (case.number and fold(case.number) == fold(known.number or "")) for known in read.cases):
        return  # the same decision twice (as PDF and as DOCX)
    read.cases.append(case)
    read.case_contents.append(text_to_html(document.text) if document.text else None)


def fill_from_documents(raw: RawItem, read: ArticleRead) -> None:
    """Documents become enclosures; their text is the content when the page has none, and is classified on."""
    read_ones = {document.enclosure.url: document.enclosure for document in read.documents}
    raw.enclosures = tuple(read_ones.get(e.url, e) for e in read.attachments)
    texts = [document.text for document in read.documents if document.text]
    if not texts:
        return
    raw.attachment_text = "\n".join(texts)
    if not read.has_body:
        raw.content_html, raw.content_sanitised = "".join(text_to_html(text) for text in texts), False


def mark_documents(raws: list[RawItem]) -> None:
    """A row that is a document (.pdf …) gets it as its enclosure, also when no article page is fetched."""
    for raw in raws:
        kind = None if raw.enclosures else document_type(raw.url)
        if kind:
            raw.enclosures = (Enclosure(raw.url, kind),)
