"""Fields of one article page: title, publish time, 来源, 作者, body, 原文链接.

Order of evidence: the page's own metadata (`ArticleTitle`, `PubDate`,
`ContentSource`, `author`, Open Graph), then labelled text (`发布时间：`,
`来源：`, `作者:` …), then per-source selectors, which override whatever they
match. The body comes from selectors, else from the content containers gov CMSs
use, and only when those fail from trafilatura (slow, so it is the last resort).
Boilerplate inside the body (share bars, 打印/关闭, 字号, 责编, pagers, related
lists, disclaimers, the 原文链接 line) is removed before sanitising with nh3.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..config import ArticleSelectors
from ..models import Case, ErrorKind, SourceError
from ..normalise.dates import find_date_span, parse_date
from ..normalise.text import html_to_lines, sanitize_html, without_whitespace
from ..normalise.urls import absolute_url, site_of
from .body import BodyChoice, choice_of, drop_forms, find_body, is_hidden, trim_edges
from .cases import cases_in_html, may_hold_cases
from .byline import author_from_credit, byline_lines, date_from_url, outlet_beside_date, pick_title, source_from_dateline, source_from_markup, until_related
from .html_list import _css, node_text, select_value, split_selector

__all__ = ["ArticlePage", "extract_article"]

log = logging.getLogger(__name__)

_META_DATE = ("pubdate", "article:published_time", "datepublished", "publishdate", "publish_date", "pubtime", "og:release_date", "dc.date.issued", "dc.date", "firstpublishedtime", "releasedate")
_META_MODIFIED = ("datemodified", "dateupdate", "article:modified_time", "og:updated_time", "lastmodified")
_META_ORIGIN = ("contentsource", "source", "article:source", "og:site_name_source")
_META_AUTHOR = ("author", "article:author", "dc.creator")
# Labels a value must not start with: "来源:  作者:" means 来源 is empty.
_LABEL_WORDS = r"(?:发布时间|发布日期|发稿时间|更新时间|时间|日期|信息来源|文章来源|来源|作者|记者|编辑|责任编辑|责编|点击|点击数|浏览|浏览次数|阅读|字号|打印|关闭|分享)"
_DATE_LABEL = re.compile(r"(?:发布时间|发布日期|发稿时间|成文日期|更新时间|时间|日期)\s*[:：]")
_ORIGIN_LABEL = re.compile(r"(?:信息来源|文章来源|稿件来源|新闻来源|稿源|来源于|来源|出处)\s*[:：|｜]")
_AUTHOR_LABEL = re.compile(r"(?:作者|撰稿人|撰稿)\s*[:：]")
_VALUE = re.compile(
    r"[\s\[【]*(?!" + _LABEL_WORDS + r"\s*[:：]?)"
    r"([^\s:：|｜,，;；]{1,40}(?:[ \t](?!" + _LABEL_WORDS + r")[^\s:：|｜,，;；]{1,20}(?![:：]))?)"
)
_ORIGINAL_LINK = re.compile(r"(?:原文链接|原文地址|原文网址|原文)\s*[:：]\s*(https?://[^\s<>\"'，。]+)")
# Whole-element boilerplate, recognised by the element's text (anchored, short).
_BOILERPLATE_TEXT = [
    (re.compile(r"^[【\[]?\s*(?:打印|打印本页|打印此页|关闭|关闭窗口|关闭本页)\s*[】\]]?(?:\s*[【\[]?\s*(?:打印|关闭|关闭窗口|返回顶部|收藏)\s*[】\]]?)*$"), 40),
    (re.compile(r"^[【\[]?\s*字号\s*[:：]?\s*[【\[]?\s*大\s*[】\]]?\s*[【\[]?\s*中\s*[】\]]?\s*[【\[]?\s*小"), 80),
    (re.compile(r"^[(（【\[]?\s*(?:责任编辑|责编|编辑|审核|校对)\s*[:：]"), 80),
    (re.compile(r"^[【\[]?\s*免责声明"), 400),
    (re.compile(r"^(?:原文链接|原文地址|原文网址)\s*[:：]"), 300),
    (re.compile(r"^(?:分享到|分享至|扫一扫|微信扫一扫)"), 120),
    (re.compile(r"^(?:上一篇|下一篇)\s*[:：]"), 200),
    (re.compile(r"^返回.{0,10}(?:首页|顶部|列表)\s*(?:>>|»)?$"), 24),
    (re.compile(r"^(?:首页\s*[|｜]?\s*上一页|[【\[]\d+[】\]]\s*(?:[【\[]\d+[】\]]\s*)*$)"), 120),
]
_LONGEST_BOILERPLATE = max(limit for _pattern, limit in _BOILERPLATE_TEXT)
_ANY_BOILERPLATE_TEXT = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _limit in _BOILERPLATE_TEXT))
# Headings of side lists that sometimes sit inside the content block.
_SIDE_HEADING = re.compile(r"^(?:最新信息|最新文章|最新资讯|相关新闻|相关阅读|相关文章|相关链接|推荐阅读|热点推荐|热门文章|延伸阅读)\s*$")
_LONGEST_SIDE_HEADING = 6  # the headings above are four characters
_BOILERPLATE_CLASS = re.compile(
    r"(?:bd)?share.*|.*fenxiang.*|bdsharebuttonbox|print.*|dayin|close|guanbi|zihao|fontsize|font-size|"
    r"pager?|paging|pagination|fanye|zdfy|fy|related.*|xgxw|xgyd|latest|zxxx|sidebar|edit|editor|bianji|"
    r"disclaimer|mzsm|qrcode|ewm|main-word.*|article-tools?|tools?",
    re.I,
)
_DROP_TAGS = ["script", "style", "noscript", "iframe", "input", "button", "select", "textarea", "object", "embed"]
_MIN_BODY_CHARS = 40
_YEAR = re.compile(r"(?:19|20)\d{2}")
_OWN_SITE_LINKS = 3  # this many absolute links to one site, and more than to any other: the page's own
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>")


@dataclass(slots=True)
class ArticlePage:
    title: str | None = None
    published: datetime | None = None
    published_text: str | None = None
    origin: str | None = None  # 来源
    author: str | None = None  # 作者
    original_url: str | None = None  # 原文链接 of a repost, absolute
    content_html: str | None = None  # sanitised; links and images absolute
    # Penalty decisions the page states: one for a decision, one per row for a table of many.
    cases: list[Case] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def content_text(self) -> str | None:
        """The body as plain lines; worked out on demand, since polls never use it."""
        return html_to_lines(self.content_html) or None if self.content_html else None


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    return text or None


def _metas(tree: LexborHTMLParser) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in tree.css("meta[content]"):
        key = (meta.attributes.get("name") or meta.attributes.get("property") or meta.attributes.get("itemprop") or "").strip().lower()
        value = meta.attributes.get("content")
        if value and "<" in value:
            # CMSs paste the headline's HTML into ArticleTitle ("标题<div>——副标题</div>"): the
            # reader sees the text, never the tags.
            value = _MARKUP.sub("", value)
        value = _clean(value)
        if key and value and key not in found:
            found[key] = value
    return found


def _labelled(label: re.Pattern[str], text: str) -> str | None:
    """The value after the first `label` in `text`, or None when the label is empty."""
    for match in label.finditer(text):
        value = _VALUE.match(text, match.end())
        if value:
            found = value.group(1).strip()
            if "\n" in text[match.end() : value.start(1)]:
                # The value is on the next line: only when it is that whole (short) line,
                # not the first words of the text under an empty label.
                line_end = text.find("\n", value.start(1))
                rest = text[value.end(1) : line_end if line_end >= 0 else len(text)]
                if len(found) > 25 or rest.strip(" ]】\t\u3000\xa0"):
                    return None
            return found
        return None  # an empty label (e.g. "来源:  作者:") says nothing; later ones are content
    return None


def _labelled_date(text: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, str] | None:
    for match in _DATE_LABEL.finditer(text):
        found = find_date_span(text[match.end() : match.end() + 40], tz, now)
        if found:
            return found
    return None


def _origin_value(value: str | None) -> str | None:
    if not value:
        return None
    value = re.sub(r"^(?:信息来源|文章来源|来源)\s*[:：]\s*", "", value)
    value = re.sub(r"\s*(?:原创稿|原创|转载)$", "", value).strip()
    if not value or re.fullmatch(r"[\d\W_]+", value) or value.startswith(("http://", "https://")):
        return None
    return value


# A CMS's user id ("104363", "L_104485") or a web address: what some CMSs put in <meta name=author>.
_NOT_A_NAME = re.compile(r"[\d\W_]+|[A-Za-z]{0,3}[_\-]?\d{3,}|.*(?:www\.|https?://|\.(?:com|cn|net|org)\b).*", re.I)


def _author_value(value: str | None) -> str | None:
    if not value or _NOT_A_NAME.fullmatch(value):
        return None
    return value


def _is_boilerplate(node: LexborNode, text: str) -> bool:
    """`text` is the node's node_text, which the caller already has."""
    attributes = node.attributes
    marks = (attributes.get("class") or "").split()
    if ident := attributes.get("id"):
        marks.append(ident)
    if any(_BOILERPLATE_CLASS.fullmatch(mark) for mark in marks):
        return True
    # One alternation first: this runs for every element of every body, and nearly all fail.
    if not text or len(text) > _LONGEST_BOILERPLATE or not _ANY_BOILERPLATE_TEXT.match(text):
        return False
    return any(len(text) <= limit and pattern.search(text) for pattern, limit in _BOILERPLATE_TEXT)


def _strip_boilerplate(body: LexborNode) -> None:
    # Deepest elements first, so the smallest element holding boilerplate goes,
    # and no node is visited after an ancestor of it has been removed.
    nodes = list(body.css("*"))
    for node in reversed(nodes):
        if node.tag in ("img", "br"):
            continue
        text = node_text(node)
        if len(text) <= _LONGEST_SIDE_HEADING and _SIDE_HEADING.match(text):
            following = node.next
            while following is not None and following.tag == "-text" and not (following.text() or "").strip():
                following = following.next
            if following is not None and following.tag in ("ul", "ol", "div", "dl", "table"):
                following.decompose()
            node.decompose()
            continue
        if _is_boilerplate(node, text):
            node.decompose()


def _original_url(body: LexborNode | None, page_text: str, base: str) -> str | None:
    if body is not None:
        for link in body.css("a[href]"):
            label = node_text(link)
            parent_text = node_text(link.parent) if link.parent is not None else ""
            if re.search(r"原文链接|阅读原文|查看原文|原文地址", label) or re.match(r"\s*(?:原文链接|原文地址)", parent_text):
                url = absolute_url(base, link.attributes.get("href"))
                if url:
                    return url
    match = _ORIGINAL_LINK.search(page_text)
    return absolute_url(base, match.group(1)) if match else None


def _body_text(node: LexborNode) -> str:
    lines = (" ".join(line.split()) for line in node.text(deep=True, separator="\n", strip=False).split("\n"))
    return "\n".join(line for line in lines if line)


def _trafilatura(tree: LexborHTMLParser, url: str, warnings: list[str]) -> str | None:
    import trafilatura  # imported late: it is slow to import and rarely needed

    for css in ("nav", "header", "footer", "aside"):
        for node in tree.css(css):
            node.decompose()
    try:
        return trafilatura.extract(
            tree.html or "", url=url, output_format="html", include_images=True, include_links=True,
            include_comments=False, include_tables=True,
        )
    except Exception as exc:  # trafilatura raises assorted errors on odd markup; the body is then unknown
        warnings.append(f"general text extractor failed: {type(exc).__name__}: {exc}")
        return None


def extract_article(
    html: str, url: str, selectors: ArticleSelectors | None, *, tz: ZoneInfo, now: datetime
) -> ArticlePage:
    """Fields of an article page. Raises only SourceError (PARSE) for a page with no document."""
    page = ArticlePage()
    if not html or not html.strip():
        page.warnings.append("the page is empty")
        return page
    tree = LexborHTMLParser(html)
    base_node = tree.css_first("base[href]")
    base = (absolute_url(url, base_node.attributes.get("href")) if base_node is not None else None) or url
    metas = _metas(tree)
    tree.strip_tags(_DROP_TAGS)
    root = tree.body or tree.root
    if root is None:
        raise SourceError(ErrorKind.PARSE, "the page has no document body")
    drop_forms(root)  # search and login boxes; a form wrapping the whole page stays

    # 1. The headline, and the page's text as a reader sees it (before any cutting).
    page.title = pick_title(tree, metas)
    text = _body_text(root)
    lines = text.split("\n")
    decisions = may_hold_cases(text)  # a cheap look that nearly every page fails: no penalty decision here

    # 2. The body: the source's selector, else the best-scoring block.
    body: LexborNode | None = None
    by_selector = False
    if selectors is not None and selectors.body:
        nodes = _css(root, split_selector(selectors.body)[0])
        if nodes:
            body, by_selector = nodes[0], True
        else:
            page.warnings.append(f"body selector {selectors.body!r} matched nothing")
    choice = choice_of(body, page.title) if by_selector and body is not None else find_body(tree, root, page.title, decisions=decisions)
    if choice is not None:
        trim_edges(choice, page.title)  # first: it holds measurements of nodes the others remove
        body = choice.nodes[0]
    body_nodes = [body] if by_selector and body is not None else (choice.nodes if choice is not None else [])
    body_start = next((start for node in body_nodes if (start := _compact_text(node))), None)

    # 3. The byline between the headline and the body: date, 来源, 作者.
    byline, body_at, elsewhere = byline_lines(
        lines, page.title, _body_first(text, choice, body_start), lambda line: find_date_span(line, tz, now) is not None
    )
    byline_text = "\n".join(byline)
    after_title = "\n".join(_until_related_block(lines, max(0, body_at - len(byline)), body_at))
    meta_date = next(
        ((moment, metas[key]) for key in _META_DATE if metas.get(key) and (moment := parse_date(metas[key], tz, now))), None
    )
    dated = _labelled_date(byline_text, tz, now) or find_date_span(byline_text, tz, now)
    if elsewhere and meta_date is not None:
        dated = None  # a date near another copy of the headline is a guess; the page's metadata is not
    if dated is not None and meta_date is not None and _date_only(dated) and not _date_only(meta_date) and dated[0].date() == meta_date[0].astimezone(tz).date():
        dated = meta_date  # same day, and the meta tag knows the time
    if dated is not None and not _YEAR.search(dated[1]):
        # "09-30 22:46" has no year; a full meta date of that day (even a modified one) has.
        for key in (*_META_DATE, *_META_MODIFIED):
            moment = parse_date(metas[key], tz, now) if metas.get(key) else None
            if moment is not None and (moment.astimezone(tz).month, moment.astimezone(tz).day) == (dated[0].month, dated[0].day):
                dated = (dated[0].replace(year=moment.astimezone(tz).year), dated[1])
                break
    if dated is None:
        dated = meta_date
    if dated is None and (from_url := date_from_url(url, tz)) is not None:
        dated = (from_url, from_url.date().isoformat())
    if dated is None:
        dated = _labelled_date(after_title, tz, now)
    if dated is not None:
        page.published, page.published_text = dated

    page.origin = (
        _origin_value(_labelled(_ORIGIN_LABEL, byline_text))
        or _origin_value(_labelled(_ORIGIN_LABEL, after_title))
        # An outlet beside the byline date is local evidence; a marked element may sit anywhere
        # (a recommendation widget marks its teasers "origin-default").
        or outlet_beside_date(byline, tz, now, lambda: _offsite_link_texts(root, base, metas, _site_names(tree, page.title)))
        or _origin_value(source_from_markup(root, tz, now))
        or next((v for k in _META_ORIGIN if (v := _origin_value(metas.get(k)))), None)
    )
    page.author = (
        _author_value(_labelled(_AUTHOR_LABEL, byline_text))
        or next((v for k in _META_AUTHOR if (v := _author_value(metas.get(k)))), None)
        or _author_value(_labelled(_AUTHOR_LABEL, after_title))
    )

    # 4. Per-source selectors override what they match.
    if selectors is not None:
        if selectors.title and (value := _clean(select_value(root, selectors.title)[1])):
            page.title = value
        if selectors.date:
            raw = select_value(tree.root or root, selectors.date)[1] if split_selector(selectors.date)[0].startswith("meta") else select_value(root, selectors.date)[1]
            if raw:
                found = parse_date(raw, tz, now)
                span = (found, raw) if found else find_date_span(raw, tz, now)
                if span:
                    page.published, page.published_text = span[0], span[1] if found is None else raw
        for attr, css in (("origin", selectors.source), ("author", selectors.author)):
            if css:
                scope = tree.root or root if split_selector(css)[0].startswith("meta") else root
                value = _clean(select_value(scope, css)[1])
                cleaned = _origin_value(value) if attr == "origin" else _author_value(value)
                if cleaned:
                    setattr(page, attr, cleaned)

    # 5. The body's HTML, cleaned; trafilatura only when nothing read as text.
    page.original_url = _original_url(body, text, base)
    content_html: str | None = None
    removals = selectors.remove if selectors is not None else []
    parts = []
    for node in body_nodes:
        for css in removals:
            for removed in _css(node, split_selector(css)[0]):
                removed.decompose()
        for hidden in node.css("[hidden], [style*=none], [style*=hidden]"):
            if is_hidden(hidden):
                hidden.decompose()
        _strip_boilerplate(node)
        parts.append(node.html or "")
    body_text = " ".join(node_text(node) for node in body_nodes)  # the cleaned nodes: no re-parse
    if by_selector or len(body_text) >= _MIN_BODY_CHARS:
        content_html = "".join(parts) or None
    if content_html and (page.origin is None or page.author is None):
        page.origin = page.origin or source_from_dateline(body_text)
        page.author = page.author or author_from_credit(body_text)
    if content_html is None:
        content_html = _trafilatura(tree, url, page.warnings)
        if content_html:
            fallback = LexborHTMLParser(content_html)
            fallback_root = fallback.body or fallback.root
            if fallback_root is not None:
                _strip_boilerplate(fallback_root)
                content_html = fallback_root.html
    if content_html:
        page.content_html = sanitize_html(content_html, base_url=base) or None
    if not page.content_html:
        page.warnings.append("no article body found")
    if page.original_url == url:
        page.original_url = None
    # 6. Penalty decisions. A page with their words is read whole (its chrome dropped): the 文号 and
    # the deciding body often stand in the headline block above the body, and a decision table
    # beside the menu is found either way.
    if decisions:
        page.cases = cases_in_html(html)
    return page


def _site_names(tree: LexborHTMLParser, title: str | None) -> str:
    node = tree.css_first("title")
    head = node_text(node) if node is not None else ""
    return head.replace(title, " ") if title else head


def _offsite_link_texts(root: LexborNode, base: str, metas: dict[str, str], site_names: str) -> set[str]:
    """Short texts of links to other sites: an outlet's name beside the byline date is often
    linked to the outlet's home page. The page's own site is its URL's, its canonical URL's and
    the one most of its links go to (a saved copy may have no real URL); a name `site_names` holds
    (the <title> without the headline: "标题-富达传媒") is the site's own."""
    links: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    for link in root.css("a[href]"):
        href = link.attributes.get("href") or ""
        if href.startswith("//"):
            href = "http:" + href
        if href.startswith(("http://", "https://")) and (key := site_of(href)):
            counts[key] = counts.get(key, 0) + 1
            links.append((key, node_text(link)))
    own = {site_of(url) for url in (base, metas.get("og:url", "")) if url}
    if counts and counts[busiest := max(counts, key=counts.__getitem__)] >= _OWN_SITE_LINKS:
        own.add(busiest)
    return {text for key, text in links if key not in own and 2 <= len(text) <= 16 and text not in site_names}


def _until_related_block(lines: list[str], start: int, body_at: int) -> list[str]:
    """lines[start:] up to the first heading of a related-articles block after the body's start:
    the dates and 来源 under it belong to other articles."""
    head = max(start, body_at + 1)
    return lines[start:head] + until_related(lines[head:])


def _body_first(text: str, choice: BodyChoice | None, body_start: str | None) -> str | None:
    """Where the body begins in the page's text: the start of the headline block or record table
    the body's edges cut (the byline stands above them), unless the text shows that block after
    the body's first words (a block placed by layout, not by order)."""
    cut_start = choice.cut_start if choice is not None else None
    if not cut_start or not body_start:
        return cut_start or body_start
    compact = without_whitespace(text)
    at_cut, at_body = compact.find(cut_start), compact.find(body_start)
    return cut_start if at_cut >= 0 and (at_body < 0 or at_cut < at_body) else body_start


def _compact_text(node: LexborNode) -> str:
    return without_whitespace(node.text(deep=True, separator="", strip=False))[:60]


def _date_only(found: tuple[datetime, str]) -> bool:
    moment, raw = found
    return moment.hour == moment.minute == moment.second == 0 and ":" not in raw
