"""Fuzzing the extractors of the other shapes: JSON APIs, iframes, WeChat pages, documents, block pages.

Malformed input may fail, but only as a SourceError (JSON) or as a reason (documents); never as
another exception. Same settings as test_fuzz.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.config import JsonQuery
from aggregator.extract.attachments import DOCX, PDF, find_attachments, page_has_body, read_document
from aggregator.extract.frames import list_frame
from aggregator.extract.json_list import extract_json
from aggregator.extract.wechat import extract_wechat
from aggregator.fetch import block_reason
from aggregator.read.paging import older_requests
from aggregator.models import Enclosure, SourceError

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=20))
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)), max_leaves=30)
_items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "title": _scalars,
            "url": st.one_of(_scalars, st.sampled_from(["/a/1.html", "http://", "//x/y", "javascript:void(0)", "http://[::1"])),
            "created_at": st.one_of(_scalars, st.sampled_from(["1714521600", "1714521600000", "2024-05-01", "99999999999999"])),
        },
    ),
    max_size=6,
)
_queries = st.sampled_from(
    [
        JsonQuery(items="articles", date="created_at"),
        JsonQuery(items="data.results[?title]", title="title", link="url", date="created_at", summary="summary"),
        JsonQuery(items="*[]", title="to_string(title)", link="url", next_page="page={page}"),
    ]
)


@FUZZ
@given(data=st.one_of(_json, st.builds(lambda items: {"articles": items, "data": {"results": items}}, _items)), query=_queries)
def test_json_extraction_fails_only_as_a_source_error(data: object, query: JsonQuery) -> None:
    try:
        body = json.dumps(data, allow_nan=True).encode()
    except (TypeError, ValueError):
        return
    try:
        page = extract_json(body, "http://sthjt.example.gov.cn/api?page=1", query)
    except SourceError:
        return
    for item in page.items:
        assert item.title and item.url.startswith("http")
        assert item.published is None or item.published.tzinfo is not None


@FUZZ
@given(body=st.binary(max_size=2000))
def test_non_json_bytes_fail_only_as_a_source_error(body: bytes) -> None:
    try:
        extract_json(body, "http://x.gov.cn/api", JsonQuery(items="articles"))
    except SourceError:
        pass


@FUZZ
@given(url=st.sampled_from(["http://x.gov.cn/api?page=1", "http://x.gov.cn/api", "http://x.gov.cn/api?page=abc&a=%zz"]), count=st.integers(0, 5))
def test_paging_never_raises(url: str, count: int) -> None:
    query = JsonQuery(items="a", next_page="page={page}")
    assert len(older_requests(url, query, count)) == count


_pages = st.one_of(
    st.text(max_size=500),
    st.builds(
        lambda src, extra: f"<html><body>{extra}<iframe src='{src}'></iframe><div id=\"js_content\" class='rich_media'>{extra}"
        f"<img data-src='{src}'><a href='{src}.pdf'>附件</a></div><script>var ct = \"{len(extra) * 99999}\";</script></body></html>",
        st.one_of(st.text(max_size=30), st.sampled_from(["list.aspx?id=1", "http://[::1", "javascript:x", "//other.org/x"])),
        st.text(max_size=100),
    ),
)


@FUZZ
@given(page=_pages)
def test_frame_wechat_and_attachment_readers_never_raise(page: str) -> None:
    url = "http://sthjt.yn.gov.cn/xxgk/index.aspx"
    list_frame(page, url)
    article = extract_wechat(page, "https://mp.weixin.qq.com/s/x", tz=SHANGHAI, now=NOW)
    assert article.published is None or article.published <= NOW
    attachments = find_attachments(page, url)
    page_has_body(article.content_html, attachments)


@FUZZ
@given(body=st.one_of(st.binary(max_size=3000), st.just(b"%PDF-1.4\n"), st.builds(lambda b: b"PK\x03\x04" + b, st.binary(max_size=500))),
       kind=st.sampled_from([PDF, DOCX]))
def test_a_broken_document_gives_a_reason_never_an_exception(body: bytes, kind: str) -> None:
    read = read_document(body, Enclosure("http://x/a", kind), max_bytes=10**6, seconds=5)
    assert (read.text is None) != (read.reason is None)


@FUZZ
@given(status=st.sampled_from([200, 202, 403, 412, 521]), body=st.one_of(st.binary(max_size=3000), st.text(max_size=800).map(lambda t: f"<html><title>{t}</title><body>{t}</body></html>".encode())))
def test_block_detection_never_raises(status: int, body: bytes) -> None:
    reason = block_reason(status, body)
    assert reason is None or isinstance(reason, str)
    if status in (412, 521):
        assert reason is not None
