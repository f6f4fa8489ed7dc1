"""Items of a JSON list API (`kind = "json"`), read with JMESPath expressions.

Government CMS platforms (Guangdong's gkmlpt, the UCAP `/common/search/` API,
Liaoning's portlets) render their column pages in the browser from a JSON API;
reading that API is more robust than the page. The expressions are JMESPath
(the `jmespath` library), so nothing here walks paths by hand. The only
hand-written part is the date rule (Unix seconds or milliseconds, else text
for the date parser). The requests of the API's pages are built in
aggregator.read.paging, shared with HTML lists asked for with a form POST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import jmespath
import orjson
from jmespath.exceptions import JMESPathError

from ..config import JsonQuery
from ..models import ErrorKind, RawItem, SourceError
from ..normalise.urls import absolute_url

__all__ = ["JsonPage", "extract_json"]

# Unix times above this are milliseconds (10^11 s is the year 5138).
_MILLISECONDS = 10**11


@dataclass(slots=True)
class JsonPage:
    items: list[RawItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _decode(body: bytes, url: str) -> Any:
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        start = body[:80].decode("utf-8", "replace")
        raise SourceError(ErrorKind.PARSE, f"{url}: the answer is not JSON ({exc}); it starts {start!r}") from None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _when(value: Any) -> tuple[datetime | None, str | None]:
    """(a Unix time, or date text for the source's date parser)."""
    if isinstance(value, bool) or value is None:
        return None, None
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) >= 9:
        number = float(value.strip())  # "1714521600"; short digit strings ("20240501") are date text
    if number is not None:
        if number > _MILLISECONDS:
            number /= 1000
        try:
            return datetime.fromtimestamp(number, timezone.utc), None
        except (OverflowError, OSError, ValueError):
            return None, None
    return None, _text(value)


def _search(expression: str, data: Any) -> Any:
    try:
        return jmespath.search(expression, data)
    except JMESPathError:  # e.g. a function applied to the wrong type in one item
        return None


def extract_json(body: bytes, url: str, query: JsonQuery) -> JsonPage:
    """Items of one answer; an answer that is not JSON, or where `items` finds no list, is an error naming it."""
    data = _decode(body, url)
    found = _search(query.items, data)
    if not isinstance(found, list):
        keys = ", ".join(sorted(map(str, data))[:12]) if isinstance(data, dict) else type(data).__name__
        what = "nothing" if found is None else f"a {type(found).__name__}, not a list"
        raise SourceError(
            ErrorKind.EMPTY, f"{url}: `items = {query.items!r}` found {what} in the answer (its top-level keys: {keys})"
        )
    page = JsonPage()
    for index, entry in enumerate(found):
        title = _text(_search(query.title, entry))
        href = _text(_search(query.link, entry))
        link = absolute_url(url, href) if href else None
        if not title or not link:
            missing = " and ".join(name for name, value in (("title", title), ("link", link)) if not value)
            page.warnings.append(f"item {index}: no {missing} ({query.title!r} / {query.link!r}); skipped")
            continue
        published, published_text = _when(_search(query.date, entry)) if query.date else (None, None)
        summary = _text(_search(query.summary, entry)) if query.summary else None
        page.items.append(
            RawItem(url=link, title=title, published=published, published_text=published_text, summary_html=summary)
        )
    if found and not page.items:
        raise SourceError(
            ErrorKind.EMPTY,
            f"{url}: `items = {query.items!r}` found {len(found)} entries, but none had both"
            f" `title = {query.title!r}` and `link = {query.link!r}`",
        )
    return page
