"""The requests of a list's pages, as `[sources.request]` (HTML lists) or `[sources.json]` (JSON
APIs) describe them: the method, a form or a JSON body, extra headers, and older pages by
`next_page` or by `{page}` in a form or body value.

One builder for both kinds, so a POST list pages the same way whatever its answer is.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import orjson

from ..config import ListRequest
from ..models import Request

__all__ = ["first_page_number", "list_request", "older_requests"]


def list_request(url: str, shape: ListRequest, page: int | None = None, *, accept: str | None = None, html: bool = True) -> Request:
    """The request for the source's own URL (page None) or for older page `page`.

    `html`: the answer is an HTML page (a browser could render it); False for an API answer."""
    number = page if page is not None else first_page_number(url, shape)
    if page is not None and shape.next_page:
        url = _page_url(url, shape.next_page, page)
    form = {k: v.replace("{page}", str(number)) for k, v in shape.form.items()} if shape.form is not None else None
    body = orjson.dumps(_fill(shape.body, number)) if shape.body is not None else None
    headers = dict(shape.headers)
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    return Request(url, method=shape.method, form=form, body=body, accept=accept, headers=headers, page=html)


def older_requests(url: str, shape: ListRequest, count: int, *, accept: str | None = None, html: bool = True) -> list[Request]:
    """Requests for the `count` pages after the source's own, nearest first (none if the shape cannot page)."""
    if not shape.pages() or count <= 0:
        return []
    first = first_page_number(url, shape)
    return [list_request(url, shape, first + n, accept=accept, html=html) for n in range(1, count + 1)]


def first_page_number(url: str, shape: ListRequest) -> int:
    """The page number the source URL itself is on (1 unless its query says otherwise)."""
    template = shape.next_page or ""
    if "=" in template and "://" not in template and not template.startswith(("/", "?", ".")):
        for key, value in parse_qsl(template, keep_blank_values=True):
            if value == "{page}":
                current = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(key, "")
                if current.isdigit():
                    return int(current)
    return 1


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
