"""URL canonicalisation, link resolution and item identity."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.normalise.urls import MAX_KEY_LENGTH, absolute_url, atom_id, canonical_url, item_key

ARTICLE = "https://sthjt.zj.gov.cn/art/2023/4/19/art_1229263469_58938545.html"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM:80/a", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8080/a", "https://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/app#/detail/7", "https://example.com/app#/detail/7"),
        ("https://example.com/a?utm_source=x&utm_medium=y&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?spm=1.2&fbclid=z&gclid=q&isappinstalled=0", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1&c=3", "https://example.com/a?a=1&b=2&c=3"),
        ("https://example.com/a?x=2&a=1&x=1", "https://example.com/a?a=1&x=2&x=1"),  # repeats keep order
        ("https://example.com/a?&&id=1&", "https://example.com/a?id=1"),
        ("https://example.com/%7euser/%e4%b8%ad", "https://example.com/~user/%E4%B8%AD"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),  # reserved escapes stay
        ("https://example.com/环境 新闻", "https://example.com/%E7%8E%AF%E5%A2%83%20%E6%96%B0%E9%97%BB"),
        ("https://example.com/./a//b/../c", "https://example.com/a/c"),
        ("https://example.com/../../a", "https://example.com/a"),
        ("https://example.com/col/col1/index.html", "https://example.com/col/col1/"),
        ("https://example.com/col/col1/INDEX.HTM", "https://example.com/col/col1/"),
        ("https://example.com/col/index.jsp", "https://example.com/col/index.jsp"),
        ("https://例子.中国/a", "https://xn--fsqu00a.xn--fiqs8s/a"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("//example.com/a", "https://example.com/a"),
        ("https://www.www.example.com/a", "https://example.com/a"),
        ("https://www.com/a", "https://www.com/a"),
        (
            "https://mp.weixin.qq.com/s?__biz=MzA&mid=26&idx=1&sn=ab&chksm=x&scene=21&key=k#wechat_redirect",
            "https://mp.weixin.qq.com/s?__biz=MzA&idx=1&mid=26&sn=ab",
        ),
        # Content selectors stay; only share-origin `from` and epoch cache-busters go.
        ("https://e.com/a?from=2023-01-01&p=2&page=3", "https://e.com/a?from=2023-01-01&p=2&page=3"),
        ("https://e.com/a?from=timeline&id=1", "https://e.com/a?id=1"),
        ("https://e.com/a?t=1698765432&_=1698765432123&id=1", "https://e.com/a?id=1"),
        ("https://e.com/a?t=news&id=1", "https://e.com/a?id=1&t=news"),
    ],
)
def test_canonical_url_examples(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "not a url", "http://[::1", "http://a.com:99999/", "http:///path", "mailto:x@y.z", "/relative/path",
     "ftp://example.com/file", "http://" + "a" * 70 + ".例子/"],
)
def test_canonical_url_returns_unparseable_input_stripped(garbage: str) -> None:
    assert canonical_url(f"  {garbage} ") == garbage.strip()


def test_url_variants_of_one_article_are_one_key() -> None:
    variants = [
        "http://www.mee.gov.cn/ywdt/hjywnews/202304/t20230423_1027697.shtml",
        "https://mee.gov.cn/ywdt/hjywnews/202304/t20230423_1027697.shtml",
        "https://www.mee.gov.cn:443/ywdt/hjywnews/202304/t20230423_1027697.shtml#top",
        "https://MEE.gov.cn/ywdt/hjywnews/202304/t20230423_1027697.shtml?utm_source=rss&utm_campaign=a",
        "http://mee.gov.cn:80/ywdt/./hjywnews//202304/t20230423_1027697.shtml",
    ]
    assert len({item_key(url) for url in variants}) == 1


def test_hanweb_article_id_is_the_key_under_any_column_or_path() -> None:
    key = item_key(ARTICLE)
    assert key == "hanweb:sthjt.zj.gov.cn:58938545"
    assert item_key("http://www.sthjt.zj.gov.cn/art/2023/4/19/art_1229116580_58938545.html") == key
    assert item_key("https://sthjt.zj.gov.cn/col/col1229263469/art/2023/4/19/art_1_58938545.html?x=1") == key
    # The id is per site; another site's article with the same number is another item.
    assert item_key("https://www.zj.gov.cn/art/2023/4/19/art_1229263469_58938545.html") != key
    assert item_key("https://sthjt.zj.gov.cn/art/2023/4/19/art_1229263469_58938546.html") != key


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        ("tag:example.com,2023:post-1", "tag:example.com,2023:post-1"),
        ("URN:ISBN:978-3-16", "urn:isbn:978-3-16"),
        ("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        ("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        ("urn:uuid:6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        ("http://www.example.com/p?id=9&utm_source=feed", "url:https://example.com/p?id=9"),
        (ARTICLE, "hanweb:sthjt.zj.gov.cn:58938545"),
    ],
)
def test_permanent_upstream_ids_are_used(upstream: str, expected: str) -> None:
    assert item_key("https://example.com/other", upstream) == expected


@pytest.mark.parametrize(
    "upstream",
    ["", "   ", "17", "1698765432", "2023-04-19T10:00:00+08:00", "abc123", "00000000-0000-0000-0000-000000000000",
     "urn:uuid:not-a-uuid", "/relative/guid", "http:///nohost"],
)
def test_ephemeral_upstream_ids_fall_back_to_the_url(upstream: str) -> None:
    assert item_key("http://www.example.com/a#x", upstream) == "url:https://example.com/a"


def test_long_keys_are_clipped_with_a_hash() -> None:
    first = item_key("https://example.com/" + "a" * 500)
    second = item_key("https://example.com/" + "a" * 499 + "b")
    assert len(first) == MAX_KEY_LENGTH and len(second) == MAX_KEY_LENGTH
    assert first != second
    assert first == item_key("https://example.com/" + "a" * 500)


def test_atom_id_is_a_stable_urn_uuid() -> None:
    key = item_key(ARTICLE)
    assert atom_id(key) == atom_id(key)
    assert atom_id(key) == "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, key))
    assert atom_id(key) != atom_id(key + "x")


@pytest.mark.parametrize(
    ("base", "href", "expected"),
    [
        ("https://e.com/news/list.html", "detail.html", "https://e.com/news/detail.html"),
        ("https://e.com/news/list.html", "  ../a.html\n ", "https://e.com/a.html"),
        ("https://e.com/news/", "/a b.html", "https://e.com/a%20b.html"),
        ("https://e.com/news/", "环境.html", "https://e.com/news/%E7%8E%AF%E5%A2%83.html"),
        ("https://e.com/news/", "a.html?k=环境#p2", "https://e.com/news/a.html?k=%E7%8E%AF%E5%A2%83#p2"),
        ("https://e.com/news/", "a.html?k=%E7%8E", "https://e.com/news/a.html?k=%E7%8E"),  # escapes kept
        ("https://e.com/news/", "100%.html", "https://e.com/news/100%25.html"),
        ("http://e.com/col/col1/index.html", "..\\art\\a.html", "http://e.com/col/art/a.html"),
        ("https://e.com/", "//cdn.e.com/x", "https://cdn.e.com/x"),
        ("https://e.com/", "http://例子.中国/x", "http://xn--fsqu00a.xn--fiqs8s/x"),
        ("https://e.com/", "https://www.e.com/x#frag", "https://www.e.com/x#frag"),  # readers' link: untouched
    ],
)
def test_absolute_url(base: str, href: str, expected: str) -> None:
    assert absolute_url(base, href) == expected


def test_absolute_url_encodes_the_query_in_the_page_encoding() -> None:
    assert absolute_url("http://e.cn/a/", "s?q=中文", encoding="gbk") == "http://e.cn/a/s?q=%D6%D0%CE%C4"
    assert absolute_url("http://e.cn/a/", "中文?q=中文", encoding="gb18030") == "http://e.cn/a/%E4%B8%AD%E6%96%87?q=%D6%D0%CE%C4"


@pytest.mark.parametrize(
    "href",
    [None, "", "   ", "#", "#top", "javascript:void(0)", " JavaScript:go()", "mailto:a@b.c", "data:text/html,x",
     "tel:123", "ftp://e.com/f", "http://[::1", "http://e.com:notaport/"],
)
def test_absolute_url_ignores_non_links(href: str | None) -> None:
    assert absolute_url("https://e.com/news/", href) is None


# --- properties --------------------------------------------------------------------------------

_segment = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
_ascii_segment = st.text(alphabet="abcXYZ019-._~%/ ?=&#+:@!", max_size=8)
_host = st.sampled_from(
    ["example.com", "WWW.www.Example.com.", "www.com", "sthjt.zj.gov.cn:8080", "mee.gov.cn:80", "例子.中国",
     "ｗｗｗ.例子.中国", "127.0.0.1", "[::1]:443", "mp.weixin.qq.com", "u:p@e.com"]
)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    host = draw(_host)
    path = "/".join(draw(st.lists(st.one_of(_segment, _ascii_segment, st.sampled_from([".", "..", ""])), max_size=5)))
    query = "&".join(draw(st.lists(st.one_of(_ascii_segment, _segment), max_size=4)))
    fragment = draw(st.one_of(st.just(""), _ascii_segment))
    url = f"{scheme}://{host}/{path}"
    if query:
        url += "?" + query
    if fragment:
        url += "#" + fragment
    return url


@st.composite
def _variants(draw: st.DrawFn) -> tuple[str, str]:
    """Two spellings of one URL that identity must not tell apart."""
    host = draw(st.sampled_from(["example.com", "sthjt.zj.gov.cn", "mee.gov.cn"]))
    path = draw(st.lists(st.from_regex(r"[a-z0-9_]{1,6}", fullmatch=True), min_size=1, max_size=4))
    params = draw(
        st.lists(
            st.tuples(st.from_regex(r"[a-z]{1,4}", fullmatch=True), st.from_regex(r"[a-z0-9]{0,4}", fullmatch=True)),
            unique_by=lambda pair: pair[0],
            max_size=4,
        )
    )
    params = [(k, v) for k, v in params if not k.startswith("utm") and k not in ("spm", "t", "ts", "from")]

    def spell(scheme: str, www: str, port: str, order: list[tuple[str, str]], extra: list[str], fragment: str) -> str:
        query = "&".join([f"{k}={v}" for k, v in order] + extra)
        return f"{scheme}://{www}{host}{port}/{'/'.join(path)}" + (f"?{query}" if query else "") + fragment

    scheme = draw(st.sampled_from(["http", "https"]))
    one = spell(scheme, "", "", params, [], "")
    shuffled = draw(st.permutations(params))
    extra = draw(st.lists(st.sampled_from(["utm_source=rss", "utm_medium=feed", "spm=a.b.c", "fbclid=xyz"]), max_size=2))
    other = spell(
        draw(st.sampled_from(["http", "https", "HTTPS"])),
        draw(st.sampled_from(["", "www.", "WWW."])),
        draw(st.sampled_from(["", ":80", ":443"])),
        list(shuffled),
        extra,
        draw(st.sampled_from(["", "#", "#top", "#p2"])),
    )
    return one, other


@settings(max_examples=300)
@given(st.one_of(_urls(), st.text(max_size=60)))
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=300)
@given(_urls())
def test_canonical_url_of_http_urls_is_https_without_fragment_or_spaces(url: str) -> None:
    result = canonical_url(url)
    if result != url.strip():
        assert result.startswith("https://")
        assert not re.search(r"\s", result)
        assert result.isascii()
        assert "#" not in result or result.split("#", 1)[1][:1] in ("/", "!")


@settings(max_examples=300)
@given(_variants())
def test_variants_of_one_url_give_one_key(pair: tuple[str, str]) -> None:
    one, other = pair
    assert item_key(one) == item_key(other)
    assert atom_id(item_key(one)) == atom_id(item_key(other))


@settings(max_examples=300)
@given(st.one_of(_urls(), st.text()), st.one_of(st.none(), st.text(), _urls()))
def test_item_key_never_raises_and_is_stable(url: str, upstream: str | None) -> None:
    key = item_key(url, upstream)
    assert isinstance(key, str)
    assert len(key) <= MAX_KEY_LENGTH
    assert key == item_key(url, upstream)
    assert atom_id(key).startswith("urn:uuid:")


@settings(max_examples=300)
@given(st.one_of(_urls(), st.text(max_size=40)), st.one_of(st.none(), st.text(max_size=40), _urls()))
def test_absolute_url_never_raises_and_gives_clean_links(base: str, href: str | None) -> None:
    result = absolute_url(base, href)
    if result is not None:
        assert result.startswith(("http://", "https://"))
        assert not re.search(r"\s", result)
        assert result.isascii()
