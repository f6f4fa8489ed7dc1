"""Documents (PDF, DOC(X), WPS, XLS(X), OFD) that list rows and article pages link to.

Enforcement decisions (行政处罚决定书) and notices are often only a document: the
list links the PDF, or the article page is empty but for an attachment link.
Each document is kept as an Atom `enclosure` (type, and length when it was
downloaded); PDF text (pypdf) and DOCX text (python-docx) become the entry's
content when the page has no body of its own, and feed classification.

Reading runs in the worker processes, under a size limit and a time limit: a
hostile or broken document is a reason logged, never a crash or a stall. The
time limit is a SIGALRM timer where one can be set (the main thread of a
worker, or of the process when there are no workers); pages are also counted.
"""

from __future__ import annotations

import html
import io
import signal
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser

from ..models import Enclosure
from ..normalise.urls import absolute_url

__all__ = ["DocumentText", "document_type", "find_attachments", "page_has_body", "read_document", "text_to_html"]

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TYPES_BY_EXTENSION = {
    ".pdf": PDF,
    ".doc": "application/msword",
    ".docx": DOCX,
    ".wps": "application/vnd.ms-works",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ofd": "application/ofd",
}
_DOCUMENT_TYPES = frozenset(TYPES_BY_EXTENSION.values()) | {"application/kswps", "application/wps-office.wps"}
READABLE = frozenset({PDF, DOCX})
MAX_ATTACHMENTS = 10  # enclosures kept per item
MAX_PAGES = 200
MAX_TEXT = 200_000  # characters of text kept from one document
# A page whose body (attachment link texts left out) is shorter than this has "no body".
MIN_BODY_CHARS = 40


@dataclass(frozen=True, slots=True)
class DocumentText:
    """One document read (or not): its enclosure, and its text or why there is none."""

    enclosure: Enclosure
    text: str | None = None
    reason: str | None = None  # why text is None


def _extension(url: str) -> str:
    path = unquote(urlsplit(url).path).lower()
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""


def document_type(url: str, content_type: str | None = None) -> str | None:
    """The MIME type of a document by Content-Type, else by extension; None for pages and other files."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared in _DOCUMENT_TYPES:
        return declared
    if declared and declared not in ("application/octet-stream", "application/x-download", "application/force-download"):
        if declared.startswith(("text/", "application/xhtml", "image/", "video/", "audio/")):
            return None
    return TYPES_BY_EXTENSION.get(_extension(url))


def find_attachments(page_html: str, base_url: str) -> list[Enclosure]:
    """Links to documents on a page, in page order, each once."""
    tree = LexborHTMLParser(page_html)
    found: dict[str, Enclosure] = {}
    for node in tree.css("a[href]"):
        href = absolute_url(base_url, node.attributes.get("href"))
        if not href or href in found:
            continue
        kind = document_type(href)
        if kind:
            title = " ".join((node.text() or "").split()) or None
            found[href] = Enclosure(url=href, type=kind, title=title)
            if len(found) >= MAX_ATTACHMENTS:
                break
    return list(found.values())


def page_has_body(content_html: str | None, attachments: list[Enclosure]) -> bool:
    """Whether an article's body says more than its attachment links do."""
    if not content_html:
        return False
    tree = LexborHTMLParser(content_html)
    root = tree.body or tree.root
    text = " ".join((root.text() if root is not None else "").split())
    for enclosure in attachments:
        if enclosure.title:
            text = text.replace(enclosure.title, "")
    for word in ("附件", "下载", "：", ":"):
        text = text.replace(word, "")
    return len(text.strip()) >= MIN_BODY_CHARS


class _OutOfTime(BaseException):
    """Raised by the timer; a BaseException so that parsers' `except Exception` cannot swallow it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield  # no timer off the main thread; the page count still bounds the work
        return

    def expire(_signum: int, _frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _pdf_text(body: bytes, deadline: float) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("the PDF is encrypted")
    parts: list[str] = []
    size = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PAGES or size >= MAX_TEXT or time.monotonic() > deadline:
            break
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


def _docx_text(body: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(body))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells = dict.fromkeys(cell.text.strip() for cell in row.cells)  # merged cells repeat
            lines.append(" ".join(cell for cell in cells if cell))
    return "\n".join(lines)


def read_document(body: bytes, enclosure: Enclosure, *, max_bytes: int, seconds: float) -> DocumentText:
    """The text of a PDF or DOCX; other types, big files and unreadable ones give a reason instead."""
    enclosure = Enclosure(enclosure.url, enclosure.type, len(body), enclosure.title)
    if enclosure.type not in READABLE:
        return DocumentText(enclosure, reason=f"{enclosure.type} is kept as a link; only PDF and DOCX are read")
    if len(body) > max_bytes:
        return DocumentText(enclosure, reason=f"{len(body):,} bytes is over the {max_bytes:,}-byte limit for reading documents")
    deadline = time.monotonic() + seconds
    try:
        with _time_limit(seconds):
            text = _pdf_text(body, deadline) if enclosure.type == PDF else _docx_text(body)
    except _OutOfTime:
        return DocumentText(enclosure, reason=f"reading took longer than {seconds:g}s")
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - parsers raise anything on broken files
        if isinstance(exc, zipfile.BadZipFile) or type(exc).__name__ == "PackageNotFoundError":
            return DocumentText(enclosure, reason="not a DOCX file (a renamed .doc?)")
        return DocumentText(enclosure, reason=f"unreadable: {type(exc).__name__}: {exc}"[:300])
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())[:MAX_TEXT]
    if not text:
        return DocumentText(enclosure, reason="the document has no text layer (a scan?)")
    return DocumentText(enclosure, text=text)


def text_to_html(text: str) -> str:
    """A document's lines as paragraphs."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
