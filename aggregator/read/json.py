"""Reader for JSON list APIs (`kind = "json"` with a `[sources.json]` JMESPath mapping).

The first request and every older page are built from the mapping (`method`, `form` or
`body`, `headers`, `next_page`); the first poll reads `backfill_pages` older pages.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from ..config import Source
from ..extract.json_list import JsonPage, PageRequest, extract_json, page_requests, request_of
from ..infra.workers import parse
from ..models import FetchResult, RawItem, Request
from .base import ReadContext, Rows, all_summarised, read_older_pages

log = logging.getLogger(__name__)

JSON_ACCEPT = "application/json,text/javascript;q=0.9,*/*;q=0.5"


def read_json(result: FetchResult, source: Source) -> JsonPage:
    """One API answer's items (runs in the workers)."""
    assert source.json_query is not None  # kind = "json" requires it (config)
    return extract_json(result.body, result.url, source.json_query)


def api_request(source: Source, request: PageRequest) -> Request:
    """One page of the API as the mapping says to ask for it."""
    assert source.json_query is not None
    headers = dict(source.json_query.headers)
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json")
    return Request(
        request.url, method=request.method, form=request.form, body=request.body, accept=JSON_ACCEPT,
        headers=headers, page=False,
    )


class JsonReader:
    kind: ClassVar[str] = "json"
    renders: ClassVar[bool] = False

    def request(self, source: Source) -> Request:
        assert source.json_query is not None
        return api_request(source, request_of(source.url, source.json_query))

    def recognises(self, page: FetchResult) -> bool:
        return False  # an API is only read with its mapping

    async def read(self, page: FetchResult, context: ReadContext) -> Rows:
        source = context.source
        assert source.json_query is not None
        first = await parse(read_json, page, source)
        for warning in first.warnings:
            log.info("%s: %s", source.name, warning)
        items = list(first.items)
        if context.older_pages:

            async def read_older(request: Request) -> list[RawItem]:
                return (await parse(read_json, await context.more(request), source)).items

            older = page_requests(source.url, source.json_query, context.older_pages)
            items += await read_older_pages(source, [api_request(source, r) for r in older], read_older)
        return Rows(
            items,
            wants_articles=not all_summarised(items),
            empty_error=f"{source.url}: `items = {source.json_query.items!r}` is an empty list",
        )
