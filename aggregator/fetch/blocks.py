"""Block and challenge pages: answers that are a WAF's or an anti-bot product's, not content.

Chinese government sites sit behind a few products (Ruishu, Jiasule, Aliyun WAF, 360
wangzhan weishi, gov cloud WAFs) whose pages answer 200, 403, 412 or 521. No library
knows their markers, so this is hand-written: a cheap byte search that costs content
pages next to nothing, with the expensive look only at pages that are small or say so
in their <title>. Both the HTTP client and the browser ask it.
"""

from __future__ import annotations

import re

# Script walls of the anti-bot products Chinese gov sites use (Jiasule, Aliyun WAF, 360 wangzhan weishi, Ruishu).
_CHALLENGE_MARKERS = (
    b"__jsl_clearance",
    b"acw_sc__v2",
    b"wzws_cid",
    b"_$",  # Ruishu's obfuscated bootstrap
    b"document.cookie",
    b"location.reload",
    b"challenge-platform",
    b"$_ts",  # Ruishu's challenge bootstrap object
)
# What a user is told a challenge script was, by the first marker found in it.
_CHALLENGE_NAMES = (
    (b"$_ts", "a `$_ts` challenge script (Ruishu)"),
    (b"jsl_clearance", "a `__jsl_clearance` cookie script (Jiasule)"),
    (b"acw_sc__v2", "an `acw_sc__v2` cookie script (Aliyun WAF)"),
    (b"wzws_cid", "a `wzws_cid` cookie script (360 wangzhan weishi)"),
    (b"challenge-platform", "a challenge-platform script"),
)
# Words of WAF block pages that answer 200 or 403 (gov cloud WAFs, 安全狗-style products).
# An enforcement notice may well say 拒绝执行 too, so words count only on a page with almost
# no text; the unambiguous ones also in its <title>.
_BLOCK_TITLES = ("云防护", "访问被拦截", "403 Forbidden")
_BLOCK_TEXTS = _BLOCK_TITLES + ("拒绝执行", "访问被拒绝", "非法访问")
_BLOCK_TEXT_BYTES = tuple(
    (text, encoded.lower()) for text in _BLOCK_TEXTS for encoded in {text.encode("utf-8"), text.encode("gb18030")}
)
_BLOCK_PAGE_TEXT = 600  # bytes of visible text a block page stays under
_BLOCK_PAGE_BYTES = 16 * 1024  # and bytes of page
BLOCK_HINT = "set the source's `proxy`, `warmup` or `render` option"


def _challenge_name(head: bytes) -> str:
    return next((name for marker, name in _CHALLENGE_NAMES if marker.lower() in head), "a challenge script")


def block_reason(status: int, body: bytes) -> str | None:
    """What shows that an answer is a WAF or challenge page rather than content; None if it is content."""
    head = body[:20000].lower()
    if status in (412, 521):
        # Ruishu answers 412, Jiasule 521: never content, script or not.
        return f"HTTP {status} with {_challenge_name(head)}" if b"<script" in head else f"HTTP {status}"
    if status in (200, 202) and len(body) < 20000 and b"<script" in head:
        text_outside_scripts = re.sub(rb"<script.*?</script>", b"", head, flags=re.S)
        if len(re.sub(rb"<[^>]+>|\s", b"", text_outside_scripts)) < 200:
            if any(marker.lower() in head for marker in _CHALLENGE_MARKERS):
                return f"{_challenge_name(head)} (HTTP {status})"
    if status in (200, 403) and (b"<html" in head or b"<body" in head or b"<title" in head):
        # Block pages are small. A big page is only checked by its <title>, so that the
        # search costs content pages (nearly all of them) next to nothing.
        small = len(body) < _BLOCK_PAGE_BYTES
        page = body.lower() if small else head[:4096]
        seen = [(text, needle) for text, needle in _BLOCK_TEXT_BYTES if (small or text in _BLOCK_TITLES) and needle in page]
        if seen:  # rare: the regexes below run only then
            title_match = re.search(rb"<title[^>]*>(.*?)</title>", page, flags=re.S)
            title = title_match.group(1) if title_match else b""
            # Link texts are left out: a short list may well link a notice about 拒绝执行.
            visible = re.sub(rb"<(script|style|a)\b.*?</\1>|<[^>]+>|\s", b"", page, flags=re.S) if small else b""
            # Content pages have site navigation; block pages have a link or two at most.
            short = small and len(visible) < _BLOCK_PAGE_TEXT and page.count(b"<a ") < 3
            for text, needle in seen:
                if text == "403 Forbidden" and status == 403:
                    continue  # a plain 403 is an HTTP status, slowed down for and retried
                if (text in _BLOCK_TITLES and needle in title) or (short and needle in visible):
                    return f"a block page saying \u201c{text}\u201d (HTTP {status})"
    return None
