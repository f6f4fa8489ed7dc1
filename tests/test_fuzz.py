"""Fuzzing the extractors and the date parser: malformed input may fail, but only as a SourceError.

Examples are generated from grammars of the things upstream sends (list pages, Hanweb datastores,
feeds, dates) with random damage applied, plus raw random bytes. max_examples is modest and there
is no deadline so CI stays stable; hypothesis keeps failing examples in its database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aggregator.config import ArticleSelectors, ListSelectors
from aggregator.extract.article import extract_article
from aggregator.extract.decode import decode_html
from aggregator.extract.feed import extract_feed, looks_like_feed
from aggregator.extract.hanweb import dataproxy_requests, detect_paging, find_records, trs_page_urls
from aggregator.extract.html_list import extract_list
from aggregator.fetch import block_reason
from aggregator.models import FetchResult, RawItem, SourceError
from aggregator.normalise import normalise_item
from aggregator.normalise.dates import parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- building blocks ------------------------------------------------------------------------------

_cjk = st.text(alphabet=st.sampled_from("生态环境部执法检查通报关于开展的通知年月日时间来源作者原文链接　【】[]（）：:-/"), max_size=20)
_words = st.one_of(_cjk, st.text(max_size=15))
_dates = st.one_of(
    st.builds(
        lambda y, m, d, sep, wrap: wrap.format(f"{y}{sep}{m}{sep}{d}"),
        st.integers(1, 3000),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["-", "/", ".", "年", ""]),
        st.sampled_from(["{}", "[{}]", "({})", "发布时间：{}", "时间:{} 09:42:56", "{}日", "【{}】"]),
    ),
    st.builds(lambda y, m, d: f"{y}年{m}月{d}日", st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)),
    st.sampled_from(["今天", "昨天", "3小时前", "刚刚", "2023-02-30", "2023-13-01", "9999-12-31 23:59:59", "0000-00-00", "Mon, 32 Foo 2023"]),
    _words,
)
_hrefs = st.one_of(
    st.sampled_from(["/art/2023/4/19/art_1229_5901.html", "./202305/t20230512_1.shtml", "javascript:void(0)", "#", "", "http://", "//x", "mailto:a@b", "http://[::1", "/a b/c?d=1&e=%zz"]),
    st.text(max_size=30),
)
_tags = st.sampled_from(["div", "ul", "li", "a", "span", "table", "tr", "td", "p", "script", "style", "font", "b", "em", "iframe", "form"])


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(_tags)
    attrs = ""
    if tag == "a" or draw(st.booleans()):
        attrs = f' href="{draw(_hrefs)}" title="{draw(_words)}"'
    if depth > 3:
        inner = draw(st.one_of(_words, _dates))
    else:
        inner = "".join(draw(st.lists(st.one_of(_words, _dates, _element(depth + 1)), max_size=4)))
    close = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", "", "</div>", "<"]))
    return f"<{tag}{attrs}>{inner}{close}"


@st.composite
def list_pages(draw: st.DrawFn) -> str:
    rows = "".join(
        f'<li><a href="{draw(_hrefs)}">{draw(_words)}</a><span>{draw(_dates)}</span></li>'
        for _ in range(draw(st.integers(0, 25)))
    )
    noise = "".join(draw(st.lists(_element(), max_size=4)))
    page = draw(
        st.sampled_from(
            [
                "<html><body>{noise}<ul>{rows}</ul>{noise}</body></html>",
                '<html><body><script type="text/xml"><datastore><recordset><record><![CDATA[{rows}]]></record>'
                "</recordset></datastore></script>{noise}</body></html>",
                "<datastore><recordset>{rows}</recordset></datastore>",
                '<html><body>{rows}<script>createPageHTML({noise}, 0, "index", "shtml");</script></body></html>',
                "{noise}{rows}",
            ]
        )
    )
    html = page.format(noise=noise, rows=rows)
    # Random damage: truncate and splice in junk.
    cut = draw(st.integers(0, len(html)))
    if draw(st.booleans()):
        html = html[:cut] + draw(st.text(max_size=20)) + html[cut:]
    return html


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    entries = "".join(
        draw(
            st.sampled_from(
                [
                    "<item><title>{t}</title><link>{h}</link><guid>{h}</guid><pubDate>{d}</pubDate><description>{t}</description></item>",
                    '<entry><title type="html">{t}</title><link href="{h}"/><id>{h}</id><updated>{d}</updated><content type="html">{t}</content></entry>',
                    "<item><title>{t}</title></item>",
                    "<entry><link rel='alternate'/><id></id></entry>",
                ]
            )
        ).format(t=draw(_words).replace("<", "&lt;"), h=draw(_hrefs).replace("&", "&amp;").replace("<", ""), d=draw(_dates))
        for _ in range(draw(st.integers(0, 6)))
    )
    doc = draw(
        st.sampled_from(
            [
                '<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>t</title>{e}</channel></rss>',
                '<?xml version="1.0" encoding="{enc}"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}">{e}</feed>',
                "<rss><channel>{e}",
                "<rdf:RDF>{e}</rdf:RDF>",
                '<!DOCTYPE rss [<!ENTITY a "{e}">]><rss><channel><item><title>&a;&a;</title></item></channel></rss>',
            ]
        )
    ).format(e=entries, enc=draw(st.sampled_from(["utf-8", "gb2312", "gbk", "bogus", "utf-16"])), base=draw(_hrefs).replace('"', ""))
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "latin-1"]))
    data = doc.encode(encoding, "replace")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=30)) + data[cut:]
    return data


_content_types = st.sampled_from(["", "text/html", "application/rss+xml", "application/atom+xml", "text/xml", "application/octet-stream"])
_charsets = st.one_of(st.none(), st.sampled_from(["utf-8", "gbk", "gb2312", "iso-8859-1", "bogus", "utf-16", "big5", ""]))


def _fetched(body: bytes, content_type: str, charset: str | None) -> FetchResult:
    return FetchResult(url="http://127.0.0.1/feed.xml", status=200, body=body, content_type=content_type, charset=charset)


# -- properties ----------------------------------------------------------------------------------


@FUZZ
@given(body=st.one_of(feeds(), st.binary(max_size=4000)), content_type=_content_types, charset=_charsets)
@example(body=b"", content_type="", charset=None)
@example(body=b"\xff\xfe<\x00r\x00s\x00s\x00>", content_type="text/xml", charset="utf-16")
def test_extract_feed_raises_only_source_error(body: bytes, content_type: str, charset: str | None) -> None:
    result = _fetched(body, content_type, charset)
    looks_like_feed(result)
    try:
        _title, items = extract_feed(result)
    except SourceError:
        return
    for raw in items:
        assert isinstance(raw, RawItem)
        # Whatever extract_feed lets through must normalise without crashing, to an http(s) link or nothing.
        item = normalise_item(raw, "fuzz", SHANGHAI, NOW)
        assert item is None or item.url.startswith(("http://", "https://"))


# Found by this fuzzer: feedparser's convert_to_utf8 raised UnicodeDecodeError/ValueError here.
@pytest.mark.parametrize("junk", [b"\x80", b"\x00"])
def test_junk_in_the_encoding_declaration_is_a_parse_error(junk: bytes) -> None:
    body = b'<?xml version="1.0" encoding="' + junk + b'utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    with pytest.raises(SourceError):
        extract_feed(_fetched(body, "", None))


@FUZZ
@given(body=st.one_of(st.binary(max_size=3000), list_pages().map(lambda s: s.encode("gb18030", "replace"))), header=_charsets, override=st.one_of(st.none(), st.sampled_from(["gbk", "utf-8", "nope"])))
def test_decode_html_raises_only_source_error(body: bytes, header: str | None, override: str | None) -> None:
    try:
        page = decode_html(body, header, override)
    except SourceError:
        return
    assert isinstance(page.text, str) and page.bad_chars >= 0


_selectors = st.one_of(
    st.none(),
    st.builds(
        ListSelectors,
        item=st.sampled_from(["li", "ul > li", "tr", "div.list a", "record"]),
        date=st.sampled_from([None, "span", "td:last-child", "span@title"]),
        link=st.sampled_from(["a@href", "a@title", "a"]),
    ),
)


@FUZZ
@given(html=list_pages(), selectors=_selectors, base=st.sampled_from(["http://127.0.0.1/col/col1229/index.html", "https://x.gov.cn/a b/", "http://[::1]/"]))
def test_extract_list_raises_only_source_error(html: str, selectors: ListSelectors | None, base: str) -> None:
    try:
        page = extract_list(html, base, selectors, tz=SHANGHAI, now=NOW)
    except SourceError:
        return
    for raw in page.items:
        assert raw.url  # links come out absolute (or the item is dropped)
        item = normalise_item(raw, "fuzz", SHANGHAI, NOW)
        if item is not None and item.published is not None:
            assert item.published.tzinfo is not None and item.published <= NOW + timedelta(days=1)


@FUZZ
@given(html=list_pages())
def test_hanweb_helpers_raise_only_source_error(html: str) -> None:
    url = "http://127.0.0.1/col/col1229/index.html"
    try:
        find_records(html)
        dataproxy_requests(html, url, 3)
        trs_page_urls(html, url, 3)
        detect_paging(html, url)
    except SourceError:
        pass


@st.composite
def article_pages(draw: st.DrawFn) -> str:
    header = f"<div>时间：{draw(_dates)} 来源：{draw(_words)} 作者：{draw(_words)}</div>"
    body = "".join(f"<p>{draw(_words)}</p>" for _ in range(draw(st.integers(0, 8))))
    extra = "".join(draw(st.lists(_element(), max_size=3)))
    repost = draw(st.sampled_from(["", f'<a href="{draw(_hrefs)}">原文链接</a>', f"原文链接：{draw(_hrefs)}"]))
    meta = draw(st.sampled_from(["", f'<meta name="PubDate" content="{draw(_dates)}">', f'<base href="{draw(_hrefs)}">']))
    return f"<html><head>{meta}<title>{draw(_words)}</title></head><body><h1>{draw(_words)}</h1>{header}<div id='zoom'>{body}{extra}</div>{repost}</body></html>"


_article_selectors = st.one_of(st.none(), st.builds(ArticleSelectors, body=st.sampled_from([None, "#zoom", "div.TRS_Editor"]), date=st.sampled_from([None, "h1", "div"])))


@FUZZ
@given(html=st.one_of(article_pages(), st.text(max_size=500)), selectors=_article_selectors)
@example(
    html='<html><body><h1>标题</h1><div>时间：2023-04-19 来源：</div><div id="zoom">正文。</div><a href="http://[::1">原文链接</a></body></html>',
    selectors=None,
)
def test_extract_article_raises_only_source_error(html: str, selectors: ArticleSelectors | None) -> None:
    try:
        page = extract_article(html, "http://127.0.0.1/art/2023/4/19/art_1229_5901.html", selectors, tz=SHANGHAI, now=NOW)
    except SourceError:
        return
    if page.published is not None:
        assert page.published.tzinfo is not None


@FUZZ
@given(text=st.one_of(_dates, st.text(max_size=300)), zone=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Pacific/Kiritimati"]))
@example(text="2023-02-29", zone="Asia/Shanghai")
@example(text="2023年4月31日", zone="Asia/Shanghai")
@example(text="9999-12-31 23:59:59", zone="Pacific/Kiritimati")
@example(text="0001-01-01", zone="America/New_York")
def test_parse_date_never_raises_and_is_aware(text: str, zone: str) -> None:
    moment = parse_date(text, ZoneInfo(zone), NOW)
    if moment is not None:
        assert moment.tzinfo is not None and moment.utcoffset() is not None
        assert moment <= NOW + timedelta(days=1)  # a future date is a misparse


@FUZZ
@given(status=st.sampled_from([200, 403, 412, 521, 503]), body=st.one_of(st.binary(max_size=3000), list_pages().map(str.encode)))
def test_challenge_detection_never_raises(status: int, body: bytes) -> None:
    reason = block_reason(status, body)
    assert reason is None or (isinstance(reason, str) and reason)
