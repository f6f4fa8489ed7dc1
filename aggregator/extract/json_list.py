"""Items of a JSON list API (`kind = "json"`), read with JMESPath expressions.

Government CMS platforms (Guangdong's gkmlpt, the UCAP `/common/search/` API,
Liaoning's portlets) render their column pages in the browser from a JSON API;
reading that API is more robust than the page. The expressions are JMESPath
(the `jmespath` library), so nothing here walks paths by hand. The only
hand-written parts are the date rule (Unix seconds or milliseconds, else text
for the date parser) and the paging template, which are specific to this tool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import jmespath
import orjson
from jmespath.exceptions import JMESPathError

from ..config import JsonQuery
from ..models import ErrorKind, RawItem, SourceError
from ..normalise.urls import absolute_url

__all__ = ["JsonPage", "PageRequest", "extract_json", "first_page_number", "page_requests", "request_of"]

# Unix times above this are milliseconds (10^11 s is the year 5138).
_MILLISECONDS = 10**11


@dataclass(slots=True)
class JsonPage:
    items: list[RawItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One request of a JSON source: the first page or an older one."""

    url: str
    method: str = "GET"
    form: dict[str, str] | None = None
    body: bytes | None = None  # a JSON body, already encoded


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


def request_of(url: str, query: JsonQuery, page: int | None = None) -> PageRequest:
    """The request for the source's own URL (page None) or for older page `page`."""
    number = page if page is not None else first_page_number(url, query)
    if page is not None and query.next_page:
        url = _page_url(url, query.next_page, page)
    form = {k: v.replace("{page}", str(number)) for k, v in query.form.items()} if query.form is not None else None
    body = orjson.dumps(_fill(query.body, number)) if query.body is not None else None
    return PageRequest(url=url, method=query.method, form=form, body=body)


def _fill(value: Any, page: int) -> Any:
    """{page} in the strings of a JSON body; a string that is only "{page}" becomes the number."""
    if isinstance(value, str):
        return page if value == "{page}" else value.replace("{page}", str(page))
    if isinstance(value, list):
        return [_fill(v, page) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, page) for k, v in value.items()}
    return value


def _page_url(url: str, template: str, page: int) -> str:
    """`page={page}` sets those query parameters on the source URL; anything else is a URL template."""
    filled = template.replace("{page}", str(page))
    if "://" in template or template.startswith(("/", "?", ".")):
        return urljoin(url, filled)
    parts = urlsplit(url)
    params = dict(parse_qsl(filled, keep_blank_values=True))
    query = [(k, params.pop(k) if k in params else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query, safe="{}/,:")))


def first_page_number(url: str, query: JsonQuery) -> int:
    """The page number the source URL itself is on (1 unless its query says otherwise)."""
    template = query.next_page or ""
    if "=" in template and "://" not in template and not template.startswith(("/", "?", ".")):
        for key, value in parse_qsl(template, keep_blank_values=True):
            if value == "{page}":
                current = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(key, "")
                if current.isdigit():
                    return int(current)
    return 1


def page_requests(url: str, query: JsonQuery, count: int) -> list[PageRequest]:
    """Requests for the `count` pages after the source's own, nearest first."""
    if not query.pages() or count <= 0:
        return []
    first = first_page_number(url, query)
    return [request_of(url, query, first + n) for n in range(1, count + 1)]
