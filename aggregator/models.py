"""Typed records passed between pipeline stages.

Each stage takes the record of the stage before it and returns its own:
fetch -> FetchResult, extract -> RawItem, normalise -> Item, store -> StoredItem.
A reader asks the fetch stage for further pages with a Request.
Datetimes are always timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import NamedTuple


def utc_iso(moment: datetime) -> str:
    """How the store and status write a time: ISO 8601 in UTC, which also sorts as text."""
    return moment.astimezone(timezone.utc).isoformat()


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ErrorKind(str, Enum):
    """Why a poll failed; shown in `status` and the health feed."""

    NETWORK = "network"
    TIMEOUT = "timeout"
    HTTP_STATUS = "http-status"
    ANTI_BOT = "blocked"  # a WAF or challenge page instead of content
    TOO_LARGE = "too-large"
    ROBOTS = "robots"
    DECODE = "decode"
    PARSE = "parse"
    EMPTY = "selectors-matched-nothing"
    FEED_EMPTY = "feed-empty"  # an upstream feed read fine but lists no entries: no selectors involved
    GONE = "gone"
    REDIRECTED_HOME = "redirected-home"  # the source's URL now leads to its site's home page: the column moved
    BROWSER = "browser"  # a `render` source whose browser is missing or crashed
    STORE = "store"  # the store could not be read or written (its database is down): retried


class SourceError(Exception):
    """A failure of one source, typed so it can be reported and retried."""

    def __init__(
        self, kind: ErrorKind, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status  # the HTTP status, for HTTP_STATUS and GONE

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in extraction worker processes; pickling must keep kind and retry_after.
        return (_rebuild_source_error, (self.kind, self.message, self.retry_after, self.status))


def _rebuild_source_error(kind: ErrorKind, message: str, retry_after: float | None, status: int | None = None) -> SourceError:
    return SourceError(kind, message, retry_after=retry_after, status=status)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP response, already size-capped and decompressed."""

    url: str  # final URL after redirects
    status: int
    body: bytes
    content_type: str = ""
    charset: str | None = None  # from the Content-Type header
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304, or a body identical to the last one
    body_hash: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """What to ask a site for; the source's network options are added by the transport."""

    url: str
    method: str = "GET"
    form: Mapping[str, str] | None = None  # sent form-encoded
    body: bytes | None = None  # a raw body (JSON APIs); its Content-Type goes in `headers`
    accept: str | None = None  # None: the fetcher's default (HTML first)
    headers: Mapping[str, str] = field(default_factory=dict)  # on top of the source's own
    page: bool = True  # an HTML page a browser can render; False for an API answer or a feed


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last poll saw of the source's own page, so an unchanged one is not read again."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A document an item links to (PDF, DOC(X), WPS, XLS(X), OFD): an Atom rel="enclosure" link."""

    url: str  # absolute
    type: str  # MIME type
    length: int | None = None  # bytes, when it was downloaded
    title: str | None = None  # the link's text


CASE_FIELDS = ("number", "party", "credit_code", "violation", "basis", "penalty", "fine_yuan", "date", "authority")


@dataclass(frozen=True, slots=True)
class Case:
    """A penalty decision (行政处罚) as the page or its document states it; a field not stated is None.

    `fine_yuan` is the fine in whole yuan (35.6万元 -> 356000; 0.5 yuan and up rounds up);
    `date` is the decision's date as ISO `YYYY-MM-DD`.
    """

    number: str | None = None  # 文号: 示环罚〔2026〕15号
    party: str | None = None  # 当事人 name
    credit_code: str | None = None  # 统一社会信用代码
    violation: str | None = None  # 违法事实
    basis: str | None = None  # the law and article applied
    penalty: str | None = None  # what was decided, as written
    fine_yuan: int | None = None
    date: str | None = None
    authority: str | None = None  # the body that decided

    def as_dict(self) -> dict[str, str | int | None]:
        """Exactly CASE_FIELDS, in that order (what `try --json`, JSON Feed and the store write)."""
        return {name: getattr(self, name) for name in CASE_FIELDS}

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> Case:
        """A record the store wrote (fields it left out because they were None stay None)."""
        fine = doc.get("fine_yuan")
        texts = {name: str(value) for name in CASE_FIELDS if name != "fine_yuan" and (value := doc.get(name)) is not None}
        return cls(**texts, fine_yuan=fine if isinstance(fine, int) and not isinstance(fine, bool) else None)

    def __bool__(self) -> bool:
        return any(getattr(self, name) is not None for name in CASE_FIELDS)


class StoredEntry(NamedTuple):
    """What a reader may ask of the item stored under a key (a pruned one: "" and None)."""

    title: str
    published: datetime | None


@dataclass(slots=True)
class RawItem:
    """An item as found on a page or in a feed, before normalisation.

    Links are absolute. `published` is set when the source gave a parsed,
    zone-aware time (feeds); `published_text` holds the date as printed on an
    HTML page, parsed later in the source's timezone.
    """

    url: str
    title: str
    upstream_id: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    published_text: str | None = None
    author: str | None = None
    origin: str | None = None  # 来源: the publishing body or paper
    original_url: str | None = None  # 原文链接 of a repost
    summary_html: str | None = None
    content_html: str | None = None
    content_sanitised: bool = False  # content_html already went through sanitize_html (article pages)
    tags: tuple[str, ...] = ()
    list_hash: str | None = None  # set by enrich: the row as listed, before its article page was read
    enclosures: tuple[Enclosure, ...] = ()
    attachment_text: str | None = None  # text read from the documents, for classification
    linkless: bool = False  # upstream gave no link: `url` is the feed's site, the key comes from upstream_id
    # One of several list rows linking one page under headlines of their own: the page's headline
    # and date are not this row's story (enrich keeps the row's).
    shared_link: bool = False
    case: Case | None = None  # a penalty decision read from the page or its document


@dataclass(slots=True)
class Item:
    """A normalised item, ready to diff into the store."""

    key: str  # stable identity, never changes once given
    source: str
    url: str  # absolute link readers open
    title: str
    published: datetime | None
    updated: datetime | None
    author: str | None = None
    origin: str | None = None
    original_url: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    tags: tuple[str, ...] = ()
    content_hash: str = ""
    categories: tuple[str, ...] = ()
    original_key: str | None = None  # key of the article a repost points to (原文链接)
    list_hash: str | None = None  # the row as listed, for sources whose content comes from article pages
    enclosures: tuple[Enclosure, ...] = ()
    attachment_text: str | None = None  # classified on, not stored
    case: Case | None = None


@dataclass(slots=True)
class StoredItem:
    """An item as kept in the store and handed to publish."""

    key: str
    atom_id: str  # derived from the key, so it never changes
    source: str  # the source that first found it (or the original of a repost)
    url: str
    title: str
    published: datetime | None
    updated: datetime  # last time its content changed (first_seen for new items)
    first_seen: datetime
    author: str | None = None
    origin: str | None = None
    original_url: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # every source that listed it
    content_hash: str = ""
    enclosures: tuple[Enclosure, ...] = ()
    source_categories: dict[str, list[str]] | None = None  # each source's share of `categories`
    case: Case | None = None

    @property
    def sort_time(self) -> datetime:
        """Feeds are ordered by publish time, or first-seen time when a page gave none."""
        return self.published or self.first_seen
