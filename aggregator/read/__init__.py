"""Read stage: a source's fetched page in, rows (`RawItem`s) out, one reader per source kind.

| kind   | reader                     | reads                                                   |
|--------|----------------------------|---------------------------------------------------------|
| `feed` | `feed.FeedReader`          | RSS/Atom with feedparser                                |
| `html` | `html.HtmlListReader`      | list pages: selectors or detection, iframes, paging     |
| `json` | `json.JsonReader`          | JSON list APIs through a JMESPath mapping, with paging  |
| `auto` | the first reader that `recognises` the page, else `html` |                           |

Adding a kind: write a class with `kind`, `request`, `recognises` and `read` (see
`base.Reader`) in a module of this package, and `register` it below. The config accepts
`kind = "<its kind>"` from then on, and the poll, `try` and `catalog verify` use it;
article pages and attachments (`aggregator.enrich`) follow for every kind.
"""

from __future__ import annotations

from ..config import Source
from ..models import FetchResult
from .base import ReadContext, Reader, Rows, read_older_pages
from .feed import FeedReader
from .html import HtmlListReader
from .json import JsonReader

__all__ = ["READERS", "ReadContext", "Reader", "Rows", "kinds", "read_older_pages", "reader_for", "register"]

READERS: dict[str, Reader] = {}
AUTO = "auto"  # zero-config: the kind is recognised from the page
AUTO_FALLBACK = "html"


def register(reader: Reader) -> Reader:
    """Make `reader` the one for `kind = reader.kind`."""
    READERS[reader.kind] = reader
    return reader


for _reader in (FeedReader(), HtmlListReader(), JsonReader()):
    register(_reader)


def kinds() -> tuple[str, ...]:
    """What `kind` may say in the config."""
    return (*READERS, AUTO)


def reader_for(source: Source, page: FetchResult | None = None) -> Reader:
    """The reader of `source`; for a zero-config source, the one that recognises its fetched `page`.

    Without `page`: the reader that asks for the source's own URL.
    """
    if source.kind != AUTO:
        return READERS[source.kind]
    if page is not None and source.list_selectors is None:
        for reader in READERS.values():
            if reader.recognises(page):
                return reader
    return READERS[AUTO_FALLBACK]
