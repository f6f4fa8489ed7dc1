"""URL normalisation and item identity.

Two different jobs live here:

* `absolute_url` turns an href found on a page into the link readers open. It
  keeps everything that may matter to the server (scheme, `www.`, fragment).
* `canonical_url` / `item_key` give the *identity* of an item. Variants of one
  article's URL (http/https, `www.`, default port, fragment, tracking
  parameters, parameter order, escaping) collapse to one string. The canonical
  form is never shown to readers, so it may fold things a server would not.

None of these functions raise on garbage input: pages and feeds are full of it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from functools import lru_cache
import uuid
from urllib.parse import SplitResult, urljoin, urlsplit

__all__ = ["absolute_url", "atom_id", "canonical_url", "item_key", "site_of", "MAX_KEY_LENGTH"]

MAX_KEY_LENGTH = 300

# Parameters that only say where a click came from; they never select content.
_TRACKING_PARAMS = frozenset(
    {
        "spm",
        "spm_id_from",
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "isappinstalled",
        "share_token",
        "sharer_shareid",
        "sharer_sharetime",
        "wxshare_count",
    }
)
# Hosts whose article identity is a known set of parameters; the rest of their
# query is per-reader session noise (WeChat appends scene, chksm, key, pass_ticket...).
_HOST_IDENTITY_PARAMS = {"mp.weixin.qq.com": frozenset({"__biz", "mid", "idx", "sn"})}
# `from` is used for paging/date ranges on some sites, so it is dropped only when
# its value is one of the share-origin markers WeChat/QQ/Weibo append.
_FROM_SHARE_VALUES = frozenset(
    {"timeline", "singlemessage", "groupmessage", "message", "share", "weixin", "wechat",
     "qq", "androidqq", "iosqq", "weibo", "app", "appshare"}
)
# Cache-busters: dropped only when the value is a plausible Unix time (s or ms),
# because `t=` and friends can be real selectors on some sites.
_TIMESTAMP_PARAMS = frozenset({"_", "_t", "t", "ts", "timestamp", "_ts", "time_stamp"})
_EPOCH = re.compile(r"^(?:1\d{9}|1\d{12})$")  # 2001..2286 in seconds or ms

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left literal in each component (RFC 3986 pchar / query); everything
# else, including a '%' that does not start a valid escape, is percent-encoded.
_PATH_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]")
_QUERY_KEY_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$'()*+,;:@/?]")
_QUERY_VALUE_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$'()*+,;=:@/?]")
_LOOSE_TOKEN = re.compile(r"%(?![0-9A-Fa-f]{2})|[^\x21-\x7e]|[\"<>\\^`{|}]")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TAB_OR_NEWLINE = re.compile(r"[\t\r\n]")
_HTTP_ABSOLUTE = re.compile(r"https?://[^/?#]", re.IGNORECASE)
_IGNORED_SCHEMES = ("javascript:", "mailto:", "data:", "tel:", "sms:", "vbscript:", "about:", "file:")

# Hanweb (大汉) jcms article pages: /art/YYYY/M/D/art_COL_ID.html. The ID is the
# article's database id on that site; COL is just the column it was listed in.
_HANWEB_ARTICLE = re.compile(r"/art_(\d+)_(\d+)\.s?html?$", re.IGNORECASE)
_UUID = re.compile(r"^\{?([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})\}?$")
_URN = re.compile(r"^urn:[a-z0-9][a-z0-9-]{0,31}:\S+$", re.IGNORECASE)
_TAG = re.compile(r"^tag:[^,\s]+,\d{4}(?:-\d{2}){0,2}:\S.*$", re.IGNORECASE)


def _encode_char(char: str) -> str:
    # surrogatepass: arbitrary text may hold lone surrogates; they must not raise.
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _normalise_escapes(text: str, token: re.Pattern[str]) -> str:
    """Decode escapes of unreserved characters, upper-case the others, encode the rest."""

    def fix(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) == 3 and found[0] == "%":
            char = chr(int(found[1:], 16))
            return char if char in _UNRESERVED else found.upper()
        return _encode_char(found)

    return token.sub(fix, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 on a path that has no empty segments."""
    segments = path.split("/")
    out: list[str] = []
    for segment in segments[1:]:
        if segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    # A trailing dot segment refers to a directory: keep the trailing slash.
    if segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


def _canonical_path(path: str) -> str:
    path = _normalise_escapes(path, _PATH_TOKEN)
    # Runs of slashes are an artefact of sloppy link building on these sites.
    path = re.sub(r"/{2,}", "/", path)
    if not path.startswith("/"):
        path = "/" + path
    path = _remove_dot_segments(path)
    # index.html/index.htm are what every common server serves for a directory;
    # other names (index.shtml, index.jsp, default.aspx) vary by server, so stay.
    lowered = path.lower()
    if lowered.endswith("/index.html") or lowered.endswith("/index.htm"):
        path = path[: path.rfind("/") + 1]
    return path


def _is_tracking(key: str, value: str) -> bool:
    name = key.lower()
    if name.startswith("utm_") or name in _TRACKING_PARAMS:
        return True
    if name == "from":
        return value.lower() in _FROM_SHARE_VALUES
    if name in _TIMESTAMP_PARAMS:
        return bool(_EPOCH.match(value))
    return False


def _canonical_query(query: str, host: str) -> str:
    only = _HOST_IDENTITY_PARAMS.get(host)
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        key = _normalise_escapes(key, _QUERY_KEY_TOKEN)
        value = _normalise_escapes(value, _QUERY_VALUE_TOKEN)
        if _is_tracking(key, value) or (only is not None and key not in only):
            continue
        pairs.append((key, eq + value))
    # Sort by name only (stable): the order of repeated names can carry meaning.
    pairs.sort(key=lambda pair: pair[0])
    return "&".join(key + rest for key, rest in pairs)


def _canonical_host(parts: SplitResult) -> str | None:
    """`host[:port]` for identity, or None when the authority is unusable."""
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:  # a non-numeric or out-of-range port
        return None
    if not host:
        return None
    if ":" in host:  # IPv6 literal; hostname already stripped the brackets
        host = f"[{host}]"
    else:
        host = host.rstrip(".")
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:  # empty or over-long label: not a real host
                return None
        # Loop (keeping at least one dot) so that the result is a fixed point.
        while host.startswith("www.") and "." in host[4:]:
            host = host[4:]
        if not host:
            return None
    if port is not None and port not in _DEFAULT_PORTS.values():
        host = f"{host}:{port}"
    return host


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. an unbalanced '[' in the host
        return None


def canonical_url(url: str) -> str:
    """The identity form of an http(s) URL; anything else comes back stripped.

    Folds: scheme to https, host case, IDNA, a leading `www.`, default ports,
    userinfo, the fragment (unless it is a `#/` or `#!` client-side route),
    tracking parameters, parameter order, escaping, `.`/`..`/`//` segments and
    a trailing `index.html`/`index.htm`.
    """
    text = url.strip()
    parts = _split(text)
    if parts is None:
        return text
    if parts.scheme not in ("http", "https", ""):
        return text
    if not parts.scheme and not text.startswith("//"):
        return text  # relative reference: nothing to anchor it to
    host = _canonical_host(parts)
    if host is None:
        return text
    out = f"https://{host}{_canonical_path(parts.path)}"
    query = _canonical_query(parts.query, host)
    if query:
        out += "?" + query
    if parts.fragment.startswith(("/", "!")):  # hash routing selects the content
        out += "#" + _normalise_escapes(parts.fragment, _QUERY_VALUE_TOKEN)
    return out


def _quote_loose(text: str) -> str:
    """Percent-encode what may not appear in a URL, leaving structure and escapes alone."""
    return _LOOSE_TOKEN.sub(lambda match: _encode_char(match.group()), text)


def _encode_query(query: str, encoding: str) -> str:
    """Encode raw characters of a query in the page's encoding, as browsers do."""

    def fix(match: re.Match[str]) -> str:
        char = match.group()
        if char.isascii():
            return _encode_char(char)
        try:
            raw = char.encode(encoding)
        except (UnicodeError, LookupError):  # unmappable char or unknown codec: UTF-8 is the best guess
            return _encode_char(char)
        return "".join(f"%{byte:02X}" for byte in raw)

    return _LOOSE_TOKEN.sub(fix, query)


def absolute_url(base: str, href: str | None, *, encoding: str = "utf-8") -> str | None:
    """The absolute http(s) link an `href` on page `base` points to, or None.

    None for empty hrefs, same-page anchors and javascript:/mailto:/data: links.
    Spaces and non-ASCII are percent-encoded: UTF-8 in the path, the page's
    `encoding` in the query (what a browser sends to a GBK site).
    """
    if href is None:
        return None
    if _is_resolved(href):  # already what this returns (a list's rows come back in normalise): itself
        return href
    return _absolute_url(base, href, encoding)


# An absolute http(s) link in the form absolute_url returns: ASCII host and optional port,
# a path, nothing to escape, no empty `?` or `#`. Such a link resolves to itself on any page.
_RESOLVED_FORM = re.compile(r"https?://[A-Za-z0-9.-]+(?::(\d{1,5}))?/[\x21-\x7e]*")


def _is_resolved(href: str) -> bool:
    match = _RESOLVED_FORM.fullmatch(href)
    if match is None or _LOOSE_TOKEN.search(href) or href[-1] in "?#" or "?#" in href:
        return False
    port = match.group(1)
    return port is None or int(port) <= 65535


@lru_cache(maxsize=64)
def _origin(base: str) -> str | None:
    """`scheme://netloc` of an http(s) base, as urljoin would keep it; None for anything else."""
    try:
        parts = urlsplit(base.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=8192)  # list finding resolves each row's link once per candidate list
def _absolute_url(base: str, href: str, encoding: str) -> str | None:
    # Browsers drop tabs and newlines anywhere in a URL, and outer whitespace.
    text = _TAB_OR_NEWLINE.sub("", href).strip()
    if not text or text.startswith("#"):
        return None
    if text.lower().startswith(_IGNORED_SCHEMES):
        return None
    # Browsers read '\' as '/' before the query in http(s) URLs; old IIS sites rely on it.
    cut = min((i for i in (text.find("?"), text.find("#")) if i >= 0), default=len(text))
    text = text[:cut].replace("\\", "/") + text[cut:]
    try:
        # urljoin splits the base again for every link; a list of 50,000 rows spent a third of
        # its time here. An absolute http(s) link needs no base, and a root-relative one without
        # dot segments only the base's origin: what urljoin gives them, without it.
        if _HTTP_ABSOLUTE.match(text):
            joined = text
        elif text.startswith("/") and not text.startswith("//") and "/." not in text[:cut] and (origin := _origin(base)):
            joined = origin + text
        else:
            joined = urljoin(base.strip(), text)
    except ValueError:  # malformed base or href, e.g. a broken IPv6 host
        return None
    parts = _split(joined)
    if parts is None or parts.scheme not in ("http", "https"):
        return None
    try:
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        host = _canonical_host_for_link(parts)
        if host is None:
            return None
        netloc = host
    path = _quote_loose(parts.path) or "/"
    out = f"{parts.scheme}://{netloc}{path}"
    if parts.query:
        out += "?" + _encode_query(parts.query, encoding)
    if parts.fragment:
        out += "#" + _quote_loose(parts.fragment)
    return out


def _canonical_host_for_link(parts: SplitResult) -> str | None:
    """IDNA-encode a non-ASCII host for a link, keeping `www.` and the port."""
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{_quote_loose(userinfo)}@{ascii_host}" if userinfo else ascii_host
    return f"{netloc}:{parts.port}" if parts.port is not None else netloc


def _clip(key: str) -> str:
    """Keys longer than MAX_KEY_LENGTH keep a readable head and a hash of the whole."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key[: MAX_KEY_LENGTH - len(digest) - 8] + "~sha256:" + digest


def _url_key(url: str) -> str:
    canonical = canonical_url(url)
    # Split again only for what may be a Hanweb article (a list of 50,000 rows splits each twice otherwise).
    parts = _split(canonical) if "art_" in canonical.lower() else None
    if parts is not None and canonical.startswith("https://"):
        match = _HANWEB_ARTICLE.search(parts.path)
        if match:
            # The same article id under another column or path is the same article.
            return f"hanweb:{parts.netloc}:{match.group(2)}"
    return "url:" + canonical


def _permanent_upstream_key(upstream_id: str) -> str | None:
    """The key for an upstream id that is a real permanent id, else None."""
    text = upstream_id.strip()
    if not text:
        return None
    match = _UUID.match(text)
    if match:
        value = uuid.UUID(match.group(1))
        return None if value.int == 0 else f"urn:uuid:{value}"
    lowered = text.lower()
    if lowered.startswith("urn:uuid:"):
        try:
            value = uuid.UUID(text[9:])
        except ValueError:
            return None
        return None if value.int == 0 else f"urn:uuid:{value}"
    if _URN.match(text) or _TAG.match(text):
        # The scheme and namespace are case-insensitive; the rest is not.
        scheme, nid, rest = text.split(":", 2)
        return f"{scheme.lower()}:{nid.lower()}:{rest}" if scheme.lower() == "urn" else text
    if lowered.startswith(("http://", "https://")):
        canonical = canonical_url(text)
        if canonical.startswith("https://"):
            return _url_key(canonical)
    # Bare numbers (per-feed counters or timestamps), dates and opaque tokens are
    # not trusted: feeds regenerate them, and they are not unique across feeds.
    return None


_SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "ac", "co"})  # gov.cn, com.cn, co.uk …


def site_of(url: str) -> str | None:
    """The part of a URL's host that two pages of one site share: `http://sthjt.yn.gov.cn/…` ->
    `yn.gov.cn`, `news.sina.com.cn` -> `sina.com.cn`, `www.yicai.com` -> `yicai.com`; an IP
    address is its own site. None for an address with no host (or a malformed one)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # "http://[::1"
        return None
    if not host:
        return None
    if host.replace(".", "").isdigit() or ":" in host:
        return host
    labels = host.removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


@functools.lru_cache(maxsize=4096)  # a poll asks twice per row: to skip known rows, then in normalise
def item_key(url: str, upstream_id: str | None = None) -> str:
    """The stable identity of an item: a permanent upstream id, else its URL.

    Forms: `urn:uuid:...`, `urn:...`, `tag:...`, `hanweb:<host>:<article id>`,
    `url:<canonical url>`. At most MAX_KEY_LENGTH characters.
    """
    key = _permanent_upstream_key(upstream_id) if upstream_id else None
    return _clip(key or _url_key(url))


def atom_id(key: str) -> str:
    """A permanent RFC 4287 id for an item key (stable across runs and machines)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"
