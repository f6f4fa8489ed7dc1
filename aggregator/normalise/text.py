"""Text and HTML clean-up shared by normalise and publish.

Everything here is pure and deterministic: the same input always gives the
same output, which publish relies on for byte-identical feeds.
"""

from __future__ import annotations

import html as _html
import logging
import re
from urllib.parse import urlsplit

import nh3

log = logging.getLogger(__name__)

# XML 1.0 `Char` excludes C0 controls other than \t \n \r, lone surrogates and
# U+FFFE/U+FFFF. lxml raises on them (and nh3 raises on surrogates), so one bad
# character upstream would otherwise kill a whole feed. In a Python str every
# surrogate is a lone one: proper pairs are decoded to a single astral code point.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def without_whitespace(text: str) -> str:
    """`text` with every whitespace character removed: how headlines and bodies are compared."""
    return "".join(text.split())


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _XML_FORBIDDEN.sub("", text)


# What news articles need: text structure, links, images, tables. No forms,
# frames, media players, styles or classes (site CSS means nothing in a reader).
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
        "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody",
        "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "wbr",
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
}
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
# Dropped together with their content: their text is code or chrome, not news.
_DROP_WITH_CONTENT: frozenset[str] = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "select", "textarea"}
)


def _is_absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Safe HTML for feed readers: allowed tags only, links and images absolute.

    Relative URLs are resolved against `base_url` (the page the HTML came from);
    without a usable base they are removed, because inside a feed they would
    resolve against the feed's own URL and point nowhere.
    """
    text = xml_safe(html)  # nh3 also rejects lone surrogates
    if not text.strip():
        return ""
    url_relative: str | tuple[str, str] = "deny"
    if base_url and _is_absolute_http(base_url):
        url_relative = ("rewrite_with_base", base_url)
    try:
        cleaned = _clean(text, url_relative)
    except ValueError as exc:  # nh3 refuses a base URL it cannot parse
        log.warning("cannot resolve links against %r (%s); dropping relative links", base_url, exc)
        cleaned = _clean(text, "deny")
    return xml_safe(cleaned).strip()


_NH3_TAGS = set(ALLOWED_TAGS)
_NH3_ATTRIBUTES = {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}


def _clean(text: str, url_relative: str | tuple[str, str]) -> str:
    return nh3.clean(
        text,
        tags=_NH3_TAGS,
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_NH3_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        url_relative=url_relative,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# Tags after which text continues on a new line; replaced by a space so words
# of adjacent paragraphs do not run together.
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:p|br|div|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|pre|hr|section|article"
    r"|header|footer|dd|dt|dl|figure|figcaption|caption)\b[^>]*>",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")


def html_to_lines(html: str) -> str:
    """Plain text of an HTML fragment, a line per block (paragraph, list item, cell …); inline
    elements (<a>, <b>, <span>) stay inside their line, as a reader sees them."""
    text = _BLOCK_TAG.sub("\n", xml_safe(html))
    text = _html.unescape(nh3.clean(text, tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT), attributes={}))
    lines = (xml_safe(_WHITESPACE.sub(" ", line)).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment on one line (for rules, titles, summaries)."""
    text = xml_safe(html)
    if "<" in text:
        text = _BLOCK_TAG.sub(" ", text)
        # tags=set() keeps the text and drops every tag; script/style content goes too.
        text = nh3.clean(text, tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT), attributes={})
    # nh3 re-escapes &, < and >; decode once to get plain text back.
    text = _html.unescape(text)
    return xml_safe(_WHITESPACE.sub(" ", text)).strip()  # \s also covers NBSP and U+3000
