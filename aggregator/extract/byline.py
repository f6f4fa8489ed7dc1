"""An article's headline, publish time and 来源, read the way a person reads the page.

Hand-written: the libraries that read dates (htmldate) and titles (trafilatura, newspaper) rank
meta tags first and know nothing of Chinese bylines, so they pick a sidebar's date or keep a
site name. Here the evidence is ranked by where it sits:

* **Title**: a heading (`h1`–`h3`, `[class*=title]`) that `<title>` or a meta title confirms
  beats the meta title, which beats `<title>`; site names and column prefixes are cut from
  either side (`…_新浪网`, `…-新华网`, `保定市人民政府网——…`). A column name stays when the
  headline above the byline shows it and <title> is that very text (`书记市长这一周 | 标题`); a short
  name after a tight hyphen (`标题-纪检`) goes when the page shows the headline without it.
* **Date**: the byline between the headline and the body beats meta tags, which beat a date in
  the URL (`/t20230423_`, `/art/2023/4/23/`), which beats a labelled date anywhere after the
  headline. Dates in teaser lists and sidebars never sit in the byline, so they never win.
* **来源**: a labelled value (`来源：`, `稿件来源`, `文章来源` …) in the byline, then anywhere
  after the headline, then an outlet name beside the byline date (`2022-02-13 09:57 光明网`),
  then an element the CMS marks as the source (`.source`, `#media_name`, `.where`; it may sit
  anywhere, in a teaser list too, so it ranks below the byline's evidence), then meta tags, then a dateline opening the body (`新华社北京2月29日电`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..normalise.dates import find_date_span
from ..normalise.text import without_whitespace
from .html_list import node_text

__all__ = ["RELATED_HEADING", "author_from_credit", "byline_lines", "is_related_heading", "clean_title", "date_from_url", "outlet_beside_date", "pick_title", "source_from_dateline", "source_from_markup", "until_related"]

META_TITLE = ("articletitle", "og:title", "twitter:title")  # meta tags that hold the headline
# Between a headline and site or column names. "——" is not among them: Chinese headlines join a
# main title and its subtitle with it ("主标题——副标题"), so it is split apart only around site names.
_SEPARATORS = re.compile(r"\s*(?:__?|\|{1,2}|｜|--|(?<!—)—(?!—)|\s-\s|\s–\s|»)\s*")
_DOUBLE_DASH = re.compile(r"\s*——\s*")
_SUBTITLE_CHARS = 6  # a part after "——" this long or longer is a subtitle unless it names a site
_SITE_WORDS = re.compile(r"(?:网|网站|频道|门户|政府|人民政府|新闻|新闻网|在线|日报|晚报|早报|客户端|资讯|首页|官网|\.com|\.cn|\.net)$", re.I)
_TIGHT_DASH = re.compile(r"^(.{6,}?)\s*[-－]\s*([^-－]{2,15})$")
_TITLE_HEADINGS = "h1, h2, h3, h4, h5, h6, [class*=title], [id*=title], [class*=Title], [class*=tit], [class*=bt]"


def _site_like(part: str) -> bool:
    return len(part) <= 16 and bool(_SITE_WORDS.search(part))


def clean_title(title: str, site_name: str | None = None) -> str:
    """`title` without site names and column names on either side."""
    title = " ".join(title.split())
    parts = [part for part in _SEPARATORS.split(title) if part]
    if len(parts) > 1:
        # The headline is the longest part that is not a site name; the rest are site and
        # column names.
        longest = max([part for part in parts if not _site_like(part)] or parts, key=len)
        if len(longest) >= 4:
            title = longest
    halves = [part for part in _DOUBLE_DASH.split(title) if part]
    if len(halves) > 1:
        # "保定市人民政府网——标题", "标题——快科技": a site or short column name goes; a subtitle stays.
        kept = [part for part in halves if not (_site_like(part) or part == site_name or len(part) < _SUBTITLE_CHARS)]
        if kept:
            title = "——".join(kept)
    match = _TIGHT_DASH.match(title)  # "标题-新华网": a hyphen without spaces, then a site name
    if match and (_site_like(match.group(2)) or (site_name and match.group(2) == site_name)):
        title = match.group(1)
    if site_name and title.endswith(site_name) and len(title) > len(site_name) + 4:
        title = title[: -len(site_name)].rstrip(" -_|｜—")
    return title.strip()


_COLUMN_NAME_CHARS = 6  # a "title" this short names a column or a site, not an article
_BREADCRUMB_TEXT = re.compile(r"首页|当前位置|您的位置|[>›»]|\s-\s")


def _similar(a: str, b: str) -> float:
    """Share of `a`'s characters that occur in `b`, a cheap stand-in for an edit distance."""
    if not a:
        return 0.0
    pool = set(b)
    return sum(1 for char in a if char in pool) / len(a)


_DATE_LIKE = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_TEXT_AFTER_CHARS = 160


def _text_after(node: LexborNode, limit: int = _TEXT_AFTER_CHARS) -> str:
    """About `limit` characters of the text that follows `node` in document order."""
    parts: list[str] = []
    total = 0
    current: LexborNode | None = node
    while current is not None and total < limit:
        sibling = current.next
        while sibling is not None and total < limit:
            text = sibling.text(deep=True, separator=" ", strip=True)[:limit] if sibling.tag not in ("-comment", "script", "style") else ""
            if text:
                parts.append(text)
                total += len(text)
            sibling = sibling.next
        current = current.parent
    return " ".join(parts)[:limit]


def _headline_above_byline(tree: LexborHTMLParser, head: str, site_name: str | None) -> str | None:
    """The page's only `h1`, when a date follows it closely (the byline) and it names no site."""
    h1s = tree.css("h1")
    if len(h1s) != 1:
        return None
    node = h1s[0]
    text = node_text(node)
    if not _COLUMN_NAME_CHARS + 2 <= len(text) <= 120 or _BREADCRUMB_TEXT.search(text) or _site_like(text) or text == site_name:
        return None
    if any(parent.tag in ("header", "nav", "a") for parent in _ancestors(node)) or node.css_first("img") is not None:
        return None  # a logo
    compact = without_whitespace(text)
    # A part of <title> that is not its headline names the site: "标题 - 山西省人民政府网站".
    head_parts = [without_whitespace(part) for part in _SEPARATORS.split(head) if part]
    if len(head_parts) > 1 and any(_similar(compact, part) >= 0.8 and _similar(part, compact) >= 0.8 for part in head_parts[1:]):
        return None
    return text if _DATE_LIKE.search(_text_after(node)) else None


def _ancestors(node: LexborNode):  # noqa: ANN202 - a generator of nodes
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _shown_whole(raw: str, confirms: list[str], site_name: str | None, node: LexborNode) -> bool:
    """`raw`, a heading's text with a separator in it ("书记市长这一周 | 标题"), is the headline as
    shown: <title> or the meta title is exactly it (so names no site), no part names a site, and
    the byline date follows it. Then the part before the separator is a column the reader sees."""
    parts = [part for part in _SEPARATORS.split(raw) if part]
    if len(parts) < 2 or len(raw) > 120 or without_whitespace(raw) not in confirms:
        return False
    if any(_site_like(part) or part == site_name for part in parts):
        return False
    return bool(_DATE_LIKE.search(_text_after(node)))


def _column_cut(cleaned: str, tree: LexborHTMLParser) -> str:
    """"标题-纪检": a hyphen without spaces, then a short name that is not a site's. The page tells
    whether it is a column: it shows the part before the hyphen alone as a text of its own, and
    nowhere the whole (a headline with a hyphen in it, "疫苗接种-问答", is shown whole)."""
    match = _TIGHT_DASH.match(cleaned)
    root = tree.body
    if match is None or root is None or len(match.group(2)) > _COLUMN_NAME_CHARS:
        return cleaned
    shown = {line.strip() for line in root.text(deep=True, separator="\n").split("\n")}
    compact = without_whitespace(cleaned)
    if match.group(1) in shown and not any(compact in without_whitespace(line) for line in shown):
        return match.group(1)
    return cleaned


def pick_title(tree: LexborHTMLParser, metas: dict[str, str]) -> str | None:
    head_node = tree.css_first("title")
    head = node_text(head_node) if head_node is not None else ""
    site_name = metas.get("og:site_name")
    meta_title = next((metas[key] for key in META_TITLE if metas.get(key)), None)
    confirms = [without_whitespace(text) for text in (head, meta_title or "") if text]
    best: str | None = None
    for node in tree.css(_TITLE_HEADINGS):
        if node.tag in ("title", "meta"):
            continue
        raw = " ".join(node_text(node).split())
        if _shown_whole(raw, confirms, site_name, node):
            return raw
        text = clean_title(raw, site_name)  # share boxes repeat the title with the site name
        if len(text) < 4 or len(text) > 120:
            continue
        compact = without_whitespace(text)
        if any(compact in confirm for confirm in confirms) and (best is None or len(compact) > len(without_whitespace(best))):
            best = text
    if best and len(without_whitespace(best)) > _COLUMN_NAME_CHARS:
        return best
    cleaned = _column_cut(clean_title(meta_title or head, site_name), tree) if (meta_title or head) else ""
    if (above := _headline_above_byline(tree, head, site_name)) is not None:
        # The visible headline: <title> and the meta title may carry an SEO or social text instead.
        return above
    if len(without_whitespace(cleaned)) <= _COLUMN_NAME_CHARS:
        # <title> names only the site or column ("新闻动态--中国地理学会官网"): the first
        # longer heading that is not a breadcrumb is the headline.
        for node in tree.css("h1, h2, h3, h4, h5, h6"):
            text = node_text(node)
            if _COLUMN_NAME_CHARS + 4 < len(text) <= 120 and not _BREADCRUMB_TEXT.search(text):
                return text
    if best:
        return best
    if meta_title:
        return cleaned
    if head:
        # A heading close to the cleaned <title> (different quotes, a cut tail) is the headline.
        for node in tree.css("h1, h2"):
            text = node_text(node)
            if 4 <= len(text) <= 120 and _similar(without_whitespace(text), without_whitespace(cleaned)) >= 0.8 and _similar(without_whitespace(cleaned), without_whitespace(text)) >= 0.8:
                return text
        return cleaned
    h1 = tree.css_first("h1")
    return (node_text(h1) or None) if h1 is not None else None


# Headings of blocks that list other articles: what follows them (dates, 来源) is theirs.
RELATED_HEADING = re.compile(
    r"^(?:相关(?:新闻|阅读|文章|链接|报道|推荐|资讯|稿件|内容)|推荐阅读|延伸阅读|热点推荐|热门(?:文章|推荐|新闻)|最新(?:文章|资讯|信息)"
    r"|更多(?:新闻|阅读|文章)|其他同一栏目内容|同栏目(?:文章|新闻)?|猜你喜欢|往期回顾|上一篇|下一篇)\s*[:：]?"
)
_RELATED_HEADING_CHARS = 10
_EARLIER_BYLINE_LINES = 3  # a byline sits right under its headline


def is_related_heading(line: str) -> bool:
    return len(line) <= _RELATED_HEADING_CHARS and bool(RELATED_HEADING.match(line))


def until_related(lines: list[str]) -> list[str]:
    """`lines` up to the first heading of a related-articles block."""
    for at, line in enumerate(lines):
        if is_related_heading(line):
            return lines[:at]
    return lines


def byline_lines(
    lines: list[str], title: str | None, body_start: str | None, has_date: Callable[[str], bool] | None = None
) -> tuple[list[str], int, bool]:
    """The lines between the headline and the body (the byline), where the body starts, and
    whether the byline was found elsewhere than under the last headline (then less sure).

    Without a headline in the text, the few lines above the body; without a body, the lines
    after the headline. With `has_date`, a byline without a date is looked for elsewhere: after
    an earlier copy of the headline when the article repeats it at the top of its body (e-papers,
    gov CMSs), else on the line right above the headline (blogs print the date there).
    """
    # Matched on the text without whitespace, so a key may span lines.
    compact = [without_whitespace(line) for line in lines]
    offsets: list[int] = []
    total = 0
    for line in compact:
        offsets.append(total)
        total += len(line)
    joined = "".join(compact)

    def line_at(offset: int) -> int:
        return max(0, bisect_right(offsets, offset) - 1)

    body_at = len(lines)
    if body_start:
        # The longest prefix that occurs: a gov notice repeats its title at the top of its body,
        # and the same title heads the metadata table above; the body's next words tell them apart.
        for size in (len(body_start), 12):
            if (found := joined.find(body_start[:size])) >= 0:
                body_at = line_at(found)
                break
    title_at = -1
    starts: list[tuple[int, int]] = []  # (first line, last line) of each copy of the headline
    if title and (key := without_whitespace(title)[:12]):
        limit = offsets[body_at] if body_at < len(lines) else len(joined)
        found = joined.find(key, 0, limit)
        while found >= 0:
            starts.append((line_at(found), line_at(found + len(key) - 1)))
            found = joined.find(key, found + len(key), limit)
        if starts:
            title_at = starts[-1][1]
    if title_at >= 0:
        start = title_at + 1
        end = min(body_at, start + 12)
        if body_at == len(lines):
            end = min(len(lines), start + 8)
    else:
        end = body_at
        start = max(0, body_at - 6)
    byline = until_related(lines[start:end])
    if has_date is not None and title_at >= 0 and not has_date("\n".join(byline)):
        for (first, last), (next_first, _next_last) in zip(reversed(starts[:-1]), reversed(starts[1:])):
            earlier = until_related(lines[last + 1 : min(next_first, last + 1 + 12)])
            if earlier and has_date("\n".join(earlier[:_EARLIER_BYLINE_LINES])):
                return earlier, body_at, True
        first = starts[-1][0]
        if first > 0 and len(lines[first - 1]) <= 80 and has_date(lines[first - 1]):
            return [lines[first - 1], *byline], body_at, True
    if has_date is not None and title and body_at < len(lines) and (title_at < 0 or not has_date("\n".join(byline))):
        # The body found opens with its own headline block: "date / headline / text" or
        # "headline / date / text" within its first lines. Without a headline above the body,
        # this beats the lines above the body (a header's clock sits there).
        key = without_whitespace(title)[:12]
        top = min(len(lines), body_at + _EARLIER_BYLINE_LINES + 1)
        found = joined.find(key, offsets[body_at], offsets[top] if top < len(lines) else len(joined))
        if found >= 0:
            first, last = line_at(found), line_at(found + len(key) - 1)
            around = [line for line in (*lines[body_at:first], *lines[last + 1 : last + 1 + _EARLIER_BYLINE_LINES]) if len(line) <= 80]
            if around and has_date("\n".join(around)):
                return around, body_at, True
    return byline, body_at, False


_URL_DATES = (
    re.compile(r"/t(20\d{2})(\d{2})(\d{2})_"),
    re.compile(r"/(20\d{2})[-/]?(\d{1,2})[-/](\d{1,2})/"),  # /art/2023/4/23/, /2019-09/26/
    re.compile(r"/(20\d{2})(\d{2})(\d{2})/"),
    re.compile(r"/(20\d{2})-(\d{2})-(\d{2})/"),
    re.compile(r"/(20\d{2})/(\d{2})(\d{2})/"),  # /2019/0930/
)


def date_from_url(url: str, tz: ZoneInfo) -> datetime | None:
    """The day a URL's path names (`/t20230423_`, `/art/2023/4/23/`), at midnight in `tz`."""
    for pattern in _URL_DATES:
        match = pattern.search(url)
        if match:
            year, month, day = (int(group) for group in match.groups())
            try:
                return datetime(year, month, day, tzinfo=tz)
            except ValueError:
                continue
    return None


_OUTLET = re.compile(
    r"^[\u4e00-\u9fffA-Za-z·]{2,14}(?:网|报|社|站|台|频道|刊|杂志|新闻|在线|客户端|中文站|网站|日报|晚报|时报|周刊)$"
)
_NOT_OUTLET = re.compile(r"^(?:举报|分享|打印|关闭|收藏|评论|字号|首页)")


# "游民星空[整理]", "某某（转载）": the mark says the name before it is where the text came from.
_EDITORIAL_MARK = re.compile(r"^(.{2,14}?)\s*[\[【(（](?:整理|原创|转载|转自|编译|综合|摘编|供稿|独家)[\]】)）]$")


def outlet_beside_date(
    lines: list[str], tz: ZoneInfo, now: datetime, linked: Collection[str] | Callable[[], Collection[str]] = ()
) -> str | None:
    """An outlet named next to the byline date without a label: `2022-02-13 09:57 光明网`.

    Also a name without an outlet's suffix when the page marks it as one: a link to another
    site (`<a href="https://www.yicai.com/">第一财经</a>`, given in `linked`, or by it when
    called: walking a page's links is paid only for a name that needs them), or an editorial
    mark after it (`游民星空[整理]`).
    """
    known: list[Collection[str]] = []

    def is_linked(token: str) -> bool:
        if not known:
            known.append(linked() if callable(linked) else linked)
        return token in known[0]

    for at, line in enumerate(lines):
        if len(line) > 80:
            continue
        found = find_date_span(line, tz, now)
        if not found:
            continue
        before, _, after = line.partition(found[1])
        # The name may sit on its own line when the date and it are split by a line break.
        if not before.strip() and at > 0 and len(lines[at - 1]) <= 16:
            before = lines[at - 1]
        if not after.strip() and at + 1 < len(lines) and len(lines[at + 1]) <= 16:
            after = lines[at + 1]
        tokens = [*before.split()[-1:], *after.split()[:1]]
        for token in tokens:
            if marked := _EDITORIAL_MARK.match(token):
                token = marked.group(1)
            elif token.strip("()（）[]【】") != token and not is_linked(token):
                token = token.strip("()（）[]【】")
            if _NOT_OUTLET.match(token) or token.isascii() or not 2 <= len(token) <= 16:
                continue
            if marked or _OUTLET.match(token) or is_linked(token):
                return token
    return None


# A credit under a picture ("© FMM") or another label's value ("作者：安东尼" in `.m-from-author`).
_NOT_SOURCE_TEXT = re.compile(r"©|copyright|^(?:作者|编辑|责任编辑|责编|记者|摄影|摄|通讯员|图)\s*[:：/]", re.I)
_PERSON_MARK = re.compile(r"author|writer|editor|reporter|zuozhe|bianji|jizhe", re.I)
_SENTENCE_MARK = re.compile(r"[，。！？；!?]")  # an outlet's name is not a sentence
_SOURCE_MARK = re.compile(r"(?:^|[-_])(?:source|media_?name|media|laiyuan|ly|where|from|copyfrom|origin)(?:$|[-_])", re.I)


def source_from_markup(root: LexborNode, tz: ZoneInfo, now: datetime) -> str | None:
    """A short element the CMS marks as the source (`#media_name`, `span.source`, `.where`)."""
    for node in root.css("[id], [class]"):
        attributes = node.attributes
        marks = [attributes.get("id") or "", *(attributes.get("class") or "").split()]
        if not any(mark and _SOURCE_MARK.search(mark) for mark in marks) or any(_PERSON_MARK.search(mark) for mark in marks):
            continue  # `.m-from-author__name` marks who wrote it, not where it came from
        text = node_text(node)
        if (
            2 <= len(text) <= 20
            and not text.startswith(("http://", "https://", "www."))
            and not text.isascii()  # "Podcast" under `.a-media-legend`: a caption, not an outlet
            and not _NOT_SOURCE_TEXT.search(text)
            and not find_date_span(text, tz, now)
            and not _SENTENCE_MARK.search(text)  # a teaser's headline in a widget marked "origin-default"
        ):
            return text
    return None


_DATELINE = re.compile(r"^[【\[]?([\u4e00-\u9fff]{2,8}?(?:社|网|报|台|站|客户端))[\u4e00-\u9fff]{0,8}?\d{1,2}月\d{1,2}日(?:电|讯|消息)")


_CREDIT = re.compile(r"[（(]\s*((?:本报|本台|本网|新华社|中新社)?(?:首席)?(?:记者|通讯员|评论员)[^（）()]{2,24}?)\s*[)）]")


def author_from_credit(text: str) -> str | None:
    """`（记者 张三）` at the start or end of the body credits its author."""
    for chunk in (text[:120], text[-80:]):
        match = _CREDIT.search(chunk)
        if match:
            return " ".join(match.group(1).split())
    return None


def source_from_dateline(body_text: str) -> str | None:
    """`新华社北京2月29日电 …` opening the body names the source."""
    match = _DATELINE.match(without_whitespace(body_text[:60]))
    return match.group(1) if match else None
