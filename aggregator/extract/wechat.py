"""WeChat official-account articles (`mp.weixin.qq.com`), which lists often link (典型案例).

A WeChat page is not a generic article: its body is `#js_content`, hidden by a
style until scripts run, with every image in `data-src` (the `src` is a
placeholder); the date is only in a script (`var ct = "<Unix seconds>"`), the
visible `#publish_time` being filled in by JavaScript; and the publisher that
matters (来源) is the account, `#js_name` / `var nickname`. The generic extractor
gets all three wrong, so these pages are read here. The script values are
picked out with regular expressions: they are plain assignments, and running
the page's JavaScript is out of the question.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser

from ..normalise.dates import parse_date
from ..normalise.text import sanitize_html
from .article import ArticlePage

__all__ = ["extract_wechat", "is_wechat"]

WECHAT_HOSTS = ("mp.weixin.qq.com",)
# `var ct = "1714521600";`, `var create_time = "1714521600" * 1;`, `createTime = '…'`
_TIMESTAMP = re.compile(r"""\b(?:ct|create_time|createTime|publish_time_stamp)\s*[=:]\s*["']?(\d{9,11})["']?""")
_DATE_TEXT = re.compile(r"""\bpublish_time\s*=\s*["'](\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?)["']""")
_NICKNAME = re.compile(r"""\bnickname\s*=\s*(?:htmlDecode\()?\s*["']([^"']{1,64})["']""")


def is_wechat(url: str, page: str | None = None) -> bool:
    """A WeChat article: by host, or (a mirror, a saved copy) by its unmistakable markup."""
    host = (urlsplit(url).hostname or "").lower()
    if host in WECHAT_HOSTS:
        return True
    return page is not None and 'id="js_content"' in page and "rich_media" in page


def _text(tree: LexborHTMLParser, selector: str) -> str | None:
    node = tree.css_first(selector)
    text = " ".join((node.text() or "").split()) if node is not None else ""
    return text or None


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    node = tree.css_first(f'meta[property="{name}"], meta[name="{name}"]')
    value = " ".join((node.attributes.get("content") or "").split()) if node is not None else ""
    return value or None


def extract_wechat(page: str, url: str, *, tz: ZoneInfo, now: datetime) -> ArticlePage:
    tree = LexborHTMLParser(page)
    out = ArticlePage()
    out.title = _text(tree, "#activity-name") or _meta(tree, "og:title") or _text(tree, "title")

    stamp = _TIMESTAMP.search(page)
    if stamp:
        moment = datetime.fromtimestamp(int(stamp.group(1)), timezone.utc)
        out.published = moment if moment <= now.astimezone(timezone.utc) else None
    if out.published is None:
        text = _DATE_TEXT.search(page)
        if text:
            out.published_text = text.group(1)
            out.published = parse_date(text.group(1), tz, now)
    if out.published is None:
        out.warnings.append("no publish timestamp found in the WeChat page")

    nickname = _NICKNAME.search(page)
    out.origin = _text(tree, "#js_name") or (html_lib.unescape(nickname.group(1)).strip() if nickname else None)
    out.origin = out.origin or _text(tree, ".profile_nickname")
    author = _meta(tree, "author")
    out.author = author if author and author != out.origin else None

    body = tree.css_first("#js_content")
    if body is None:
        out.warnings.append("the WeChat page has no #js_content (deleted, or a verification page)")
        return out
    for image in body.css("img"):
        real = image.attributes.get("data-src")
        if real:
            image.attrs["src"] = real  # the src is a grey placeholder until scripts swap it
    for node in body.css("script, style, mpvoice, mpprofile, qqmusic"):
        node.decompose()
    inner = body.html or ""
    # The outer div carries `visibility: hidden`; only its children are the article.
    inner = re.sub(r"^<div[^>]*>|</div>\s*$", "", inner.strip())
    content = sanitize_html(inner, base_url=url)
    out.content_html = content or None
    return out
