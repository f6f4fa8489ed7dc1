"""Bytes of an HTML page to text, more carefully than a browser.

Order: a per-source override, a byte-order mark, the HTTP charset, strict
UTF-8, GB18030 (a superset of GB2312/GBK) when the bytes are not UTF-8, and
only then the `<meta>` charset, because government pages often declare GB2312
and are UTF-8, or the reverse. Replacement characters are counted so the
caller can report a page that did not decode cleanly instead of storing mojibake. Only the
characters the decoder had to replace count: a page whose own text holds U+FFFD (copied from
some other mojibake, often by the CMS itself) decoded cleanly.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from ..models import ErrorKind, SourceError

__all__ = ["DecodedPage", "decode_html", "decode_page", "normalise_charset"]

_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
# Declared names that mean "some GB encoding": GB18030 decodes all of them.
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "x-gbk", "gb_2312-80", "gb_2312", "csgb2312", "euc-cn", "cp936", "windows-936", "hz-gb-2312"})
# Server defaults that say nothing about the page (Tomcat, old Apache): treated as hints only.
_WEAK_HEADER = frozenset({"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252", "cp1252", "iso8859-1", "l1"})
MIN_GB_FRAGMENT = 8
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True, slots=True)
class DecodedPage:
    text: str
    encoding: str  # the codec actually used, e.g. "utf-8", "gb18030"
    bad_chars: int  # U+FFFD the decoder put in for bytes it could not read (not those the page holds)


def normalise_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset, or None when unknown."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    if label in _GB_FAMILY:
        return "gb18030"
    if label in ("utf8", "utf-8", "unicode-1-1-utf-8"):
        return "utf-8"
    if label in ("big5", "big5-hkscs", "x-x-big5"):
        return "big5hkscs"  # superset of Big5, as browsers use
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return None


def _lenient(body: bytes, encoding: str) -> DecodedPage:
    text = body.decode(encoding, errors="replace")
    return DecodedPage(text, encoding, _replaced(body, text, encoding))


def _replaced(body: bytes, text: str, encoding: str) -> int:
    """How many U+FFFD in `text` stand for unreadable bytes, not for a U+FFFD the bytes encode."""
    found = text.count("\ufffd")
    if not found:
        return 0
    try:
        written = body.count("\ufffd".encode(encoding))
    except (UnicodeError, LookupError):  # the codec has no U+FFFD: every one was put in
        written = 0
    return max(0, found - written)


def _meta_charsets(body: bytes) -> list[str]:
    head = body[:8192]
    found: list[str] = []
    for match in _META_CHARSET.finditer(head):
        codec = normalise_charset(match.group(1).decode("ascii", "ignore"))
        if codec and codec not in found:
            found.append(codec)
    return found


def decode_html(body: bytes, header_charset: str | None = None, override: str | None = None) -> DecodedPage:
    """Decode a page; raises SourceError(DECODE) only for an unknown override encoding."""
    if override:
        codec = normalise_charset(override)
        if codec is None:
            raise SourceError(ErrorKind.DECODE, f"unknown encoding {override!r} in the source's config")
        return _lenient(body, codec)

    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _lenient(body[len(bom) :], codec)

    header = normalise_charset(header_charset)
    weak_header = bool(header_charset) and header_charset.strip().lower() in _WEAK_HEADER
    if header and not weak_header and (text := _strict(body, header)) is not None:
        return DecodedPage(text, header, 0)  # strict: nothing was replaced

    if (text := _strict(body, "utf-8")) is not None:
        return DecodedPage(text, "utf-8", 0)

    declared = _meta_charsets(body)
    # A page declaring Big5, Shift_JIS, EUC-KR... would decode "cleanly" as GB18030
    # garbage, so a non-GB, non-UTF-8 declaration is tried before GB18030.
    candidates: list[str] = [c for c in declared if c not in ("gb18030", "utf-8") and c not in _latin_codecs()]
    candidates.append("gb18030")
    candidates += [c for c in declared if c not in candidates and c != "utf-8"]
    if header and weak_header:
        candidates.append(header)
    for codec in candidates:
        if (text := _strict(body, codec)) is not None:
            return DecodedPage(text, codec, 0)

    # Gov CMSs splice GBK fragments (server-side includes) into UTF-8 templates:
    # each line then decodes cleanly in one of the two.
    mixed = _utf8_with_gb_fragments(body)
    if mixed is not None:
        return mixed
    # Nothing decodes cleanly: a truncated body or a few broken bytes. Take the
    # reading with the fewest unreadable characters, UTF-8 and GB18030 first.
    best: DecodedPage | None = None
    for codec in ["utf-8", "gb18030", *candidates, *([header] if header else [])]:
        page = _lenient(body, codec)
        if best is None or page.bad_chars < best.bad_chars:
            best = page
    assert best is not None
    # Even when many characters are unreadable, return this reading with its count: a
    # cp1252 reading would "succeed" on any bytes and publish mojibake silently.
    return best


_MARKUP_EDGE = re.compile(rb"([<>])")


def _utf8_with_gb_fragments(body: bytes) -> DecodedPage | None:
    """UTF-8 pieces and GB18030 pieces, split at markup; None unless that reads every byte.

    Single characters are ambiguous (GBK 态 = CC AC is also valid UTF-8), but a whole
    run of GBK text between two tags practically never is. A few GB characters prove
    nothing (a UTF-8 page cut mid-character reads as one), so at least
    MIN_GB_FRAGMENT of them must be found.
    """
    parts: list[str] = []
    gb_chars = 0
    for piece in _MARKUP_EDGE.split(body):
        if piece.isascii():
            parts.append(piece.decode("ascii"))
            continue
        text = _strict(piece, "utf-8")
        if text is None:
            text = _strict(piece, "gb18030")
            if text is None:
                return None
            gb_chars += sum(1 for char in text if ord(char) > 0x7F)
        parts.append(text)
    if gb_chars < MIN_GB_FRAGMENT:
        return None
    return DecodedPage("".join(parts), "utf-8+gb18030", 0)


def _latin_codecs() -> frozenset[str]:
    # Latin-1 and friends never fail, so they only make sense as the last resort.
    return frozenset({"latin-1", "iso8859-1", "cp1252", "ascii"})


# Parsers (lexbor included) slow down quadratically with nesting depth: 100,000 nested
# tags take ~12 s to parse. Real pages nest a few dozen levels, a few hundred with
# unclosed <p>/<li>; the scan only runs on pages with very many tags.
MAX_NESTING = 3000
_SCAN_ABOVE_TAGS = 20000
_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)[^<>]*?(/?)>")
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


# HTML lets these go unclosed: the next row's start tag closes the last row (`<li>a<li>b`),
# and a block start closes an open <p>. A count of start tags minus end tags would take a
# list of 3,000 such rows for 3,000 levels of nesting and refuse it; the parser does not nest them.
_CLOSED_BY = {
    "li": ("li",), "dt": ("dt", "dd"), "dd": ("dt", "dd"), "tr": ("tr",), "td": ("td", "th"), "th": ("td", "th"),
    "option": ("option",), "optgroup": ("optgroup",), "thead": ("thead", "tbody"), "tbody": ("thead", "tbody"),
    "tfoot": ("thead", "tbody"),
}
# Where the search for the element a start tag closes stops (HTML's "special" elements, roughly).
_BOUNDARY = {
    "li": frozenset({"ul", "ol", "menu", "table", "body", "html"}),
    "dt": frozenset({"dl", "table", "body", "html"}),
    "tr": frozenset({"table"}),
    "td": frozenset({"tr", "table"}),
    "option": frozenset({"select", "datalist", "optgroup"}),
    "optgroup": frozenset({"select"}),
    "thead": frozenset({"table"}),
    "p": frozenset({"table", "td", "th", "button", "html", "body", "li", "dd", "dt"}),
}
_BOUNDARY.update(dd=_BOUNDARY["dt"], th=_BOUNDARY["td"], tbody=_BOUNDARY["thead"], tfoot=_BOUNDARY["thead"])
_CLOSES_P = frozenset(
    "address article aside blockquote details dialog div dl fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6"
    " header hgroup hr main menu nav ol p pre section table ul li dd dt".split()
)
_SEARCH = 64  # levels looked down for the element to close: rows sit a few levels below their list


def _close(
    stack: list[str], counts: dict[str, int], names: tuple[str, ...], boundary: frozenset[str], search: int = _SEARCH
) -> None:
    """Pop the nearest open element named in `names` (and what is open inside it), unless a boundary comes first."""
    for index in range(len(stack) - 1, max(-1, len(stack) - 1 - search), -1):
        name = stack[index]
        if name in names:
            for popped in stack[index:]:
                counts[popped] -= 1
            del stack[index:]
            return
        if name in boundary:
            return


def check_nesting(text: str) -> None:
    """Raise SourceError(PARSE) for a page nested deeper than any real page is."""
    if text.count("<") < _SCAN_ABOVE_TAGS:
        return
    stack: list[str] = []
    counts: dict[str, int] = {}
    for closing, name, self_closing in _TAG.findall(text):
        name = name.lower()
        if closing:
            if counts.get(name):  # open somewhere: what it pops was pushed once, so the search costs O(1) a tag overall
                _close(stack, counts, (name,), frozenset(), search=len(stack))
            continue
        if self_closing or name in _VOID:
            continue
        if name in _CLOSES_P and counts.get("p"):
            _close(stack, counts, ("p",), _BOUNDARY["p"])
        if name in _CLOSED_BY:
            _close(stack, counts, _CLOSED_BY[name], _BOUNDARY[name])
        stack.append(name)
        counts[name] = counts.get(name, 0) + 1
        if len(stack) > MAX_NESTING:
            raise SourceError(ErrorKind.PARSE, f"page nests tags more than {MAX_NESTING} levels deep; refused")


MAX_BAD_CHARS = 20  # replacement characters a page may decode with before it is refused


def decode_page(body: bytes, charset: str | None, override: str | None, url: str) -> str:
    """A fetched page's text, or the error that says to set the source's `encoding`."""
    page = decode_html(body, charset, override)
    if page.bad_chars > MAX_BAD_CHARS:
        raise SourceError(
            ErrorKind.DECODE,
            f"{url}: page decoded as {page.encoding} with {page.bad_chars} replacement characters;"
            " set `encoding` on the source",
        )
    check_nesting(page.text)
    return page.text
