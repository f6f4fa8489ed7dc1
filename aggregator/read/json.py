"""Reader for JSON list APIs (`kind = "json"` with a `[sources.json]` JMESPath mapping).

The first request and every older page are built from the mapping (`method`, `form` or
`body`, `headers`, `next_page`: the keys of `[sources.request]`, built in paging.py); the
first poll reads `backfill_pages` older pages.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from ..config import Source
from ..extract.json_list import JsonPage, extract_json
from ..infra.workers import parse
from ..models import FetchResult, RawItem, Request
from .base import ReadContext, Rows, all_summarised, read_older_pages
from .paging import list_request, older_requests

log = logging.getLogger(__name__)

JSON_ACCEPT = "application/json,text/javascript;q=0.9,*/*;q=0.5"


def read_json(result: FetchResult, source: Source) -> JsonPage:
    """One API answer's items (runs in the workers)."""
    assert source.json_query is not None  # kind = "json" requires it (config)
    return extract_json(result.body, result.url, source.json_query)


class JsonReader:
    kind: ClassVar[str] = "json"
    renders: ClassVar[bool] = False

    def request(self, source: Source) -> Request:
        assert source.json_query is not None
        return list_request(source.url, source.json_query, accept=JSON_ACCEPT, html=False)

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

            older = older_requests(source.url, source.json_query, context.older_pages, accept=JSON_ACCEPT, html=False)
            items += await read_older_pages(source, older, read_older)
        return Rows(
            items,
            wants_articles=not all_summarised(items),
            empty_error=f"{source.url}: `items = {source.json_query.items!r}` is an empty list",
        )
