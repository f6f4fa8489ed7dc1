"""Where the article's text starts and ends inside the body that body.py chose.

Leading blocks are cut when they repeat the title (with the headline block around the repeat:
kicker, subtitles, document number), or are a 政府信息公开 record table (索引号, 发文机关 …), the
byline (date, 来源, 作者), a breadcrumb, a share bar, 原标题 or a video player's label. Trailing
blocks are cut when they are editor, reporter or production credits, image credits, print-edition
lines, copyright, comment and app promotions, pagers, "more" links, link lists, or a 相关阅读
heading with what follows it. Chrome words inside a real sentence (及时纠错。) do not cut it.
Captions and sub-heads inside the text are kept.

Two kinds of chrome are known by their markup rather than their words, as readability and
trafilatura know them: readers' comments (class or id comment/comments/commentlist/respond/pinglun/
disqus on a section element) end the text once it has begun, whatever they hold (a pasted article
reads as text); newsletter, subscription and promotion boxes are dropped wherever they sit.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborNode

from ..normalise.text import without_whitespace
from .cases.table import is_decision_table

if TYPE_CHECKING:
    from .body import Block, BodyChoice

__all__ = ["trim_edges"]

_LABEL = r"(?:责任编辑|编辑|责编|校对|审核|审校|终审|来源于|来源|本文来源|文章来源|资料来源|稿件来源|信息来源|稿源|供稿|作者|采写|撰稿|记者|通讯员|摄影|摄|图片来源|图片|原标题|本文原标题|发布时间|发布日期|时间|日期|浏览次数|点击数|阅读|字号|分享)"
_LABEL_LINE = re.compile(r"^[\s(（【\[]*" + _LABEL + r"\s*[:：|｜/]")
# Credits that end an article; whatever follows them near the end is chrome too.
_END_CREDIT = re.compile(r"^[\s(（【\[]*(?:责任编辑|编辑|责编|校对|审核|审校|终审|供稿|本文来源|稿件来源)\s*[:：|｜/]|(?:供稿|编辑\s*/)")
_END_CREDIT_LINE = re.compile(r"^[\s(（【\[]*(?:责任编辑|编辑|责编|校对|审核|审校|终审)\s*[:：|｜/]")
_TAIL_CHARS = 400  # how far before the end an end credit may sit
_TAIL_BLOCKS = 8
_RELATED_CHARS = 1500  # how far before the end a "related" heading may sit
_REPORTER_LINE = re.compile(r"^[\u4e00-\u9fff·]{0,12}(?:记者|通讯员|评论员)\s*[\u4e00-\u9fff· ]{2,16}$")
_LABEL_ANYWHERE = re.compile(_LABEL + r"\s*[:：]")
_ORIGINAL_TITLE = re.compile(r"^[\s(（【\[]*原标题\s*[:：]")
_PRINT_EDITION = re.compile(r"^[(（]?《[^》]{2,16}》\s*[(（][^()（）]{0,30}版\s*[)）][)）]?$")
_CREDIT = re.compile(r"^[(（【\[][^()（）【】\[\]]{1,30}(?:编辑|责编|记者|摄|来源|整理|编译|供图|校对|实习生|通讯员|贡献)[^()（）【】\[\]]{0,30}[)）】\]]$")
# Words of chrome that ends a page. Licence, promotion and image-credit words end the text in any
# block; the others (纠错, 评论, 上一篇, 客户端 …) also occur inside real sentences ("及时纠错。"),
# so they count only in a block that is not a sentence.
_TRAILING_JUNK = re.compile(
    r"©|版权|copyright|未经授权|不得转载|禁止转载|转载请注明|违者必究|免责声明|如有侵权|侵权.{0,6}删除|扫一扫|二维码|公众号|关注我们|"
    r"图片.{0,4}(?:来自|来源|源自|取自)|图源\s*[:：]",
    re.I,
)
_WEAK_JUNK = re.compile(
    r"跟贴|网友评论|发表评论|我要评论|客户端|上手机|纠错|返回顶部|打印本页|关闭窗口|上一篇|下一篇|上一页|下一页|"
    r"相关新闻|相关阅读|相关链接|相关文章|相关推荐|延伸阅读|推荐阅读|更多阅读|猜你喜欢|往期回顾|往期推荐|"
    r"分享到|转播到|转发到|查看更多|阅读更多|更多内容|更多精彩|[>》]{2,}\s*更多|更多\s*[>》]{2,}|"
    r"(?:相关|更多)[^。！？，,]{0,10}请关注|已被(?:阅读|浏览)|(?:阅读|浏览|点击)\s*\d+\s*次|trackback|引用通告",
    re.I,
)
# Readers' comments (WordPress #comments/.commentlist/#respond, Disqus, 评论 boxes) come after the
# article: the first such element once the text has begun ends it. Subscription and promotion boxes
# (newsletter sign-ups, app promotions) can sit anywhere in it and are dropped alone.
_COMMENTS = re.compile(r"(?:^|[_-])(?:comments?(?:list|box|area|wrap)?|pinglun|disqus|respond)(?:$|[_-]|\d)", re.I)
_SECTIONS = frozenset({"div", "section", "ol", "ul", "dl", "table", "form", "h2", "h3", "h4"})
_COMMENTS_AFTER = 3  # sentences of the article before a comment section
_COMMENTS_CHARS = 20  # ... holding more than a counter or a button ("评论(3)", "我要评论")
_PROMO = re.compile(r"(?:^|[_-])(?:newsletter|subscribe|subscription|promo)(?:$|[_-])", re.I)
_PROMO_CHARS = 300  # a sign-up box is a line or two; a container named so that holds more is not one
_SENTENCE_MARK = re.compile(r"[。！？]|[.!?](?:\s|$)")
_INLINE_RUN = frozenset({"span", "a", "font", "small", "em", "i", "b", "strong", "u"})
_SENTENCE_END = re.compile(r"[。！？!?…][”’」』）)\]】\s]*$")
# A heading that opens a list of other articles: it and whatever follows it end the text.
_RELATED_HEADING = re.compile(
    r"^[【\[]?\s*(?:相关新闻|相关阅读|相关文章|相关链接|相关推荐|相关报道|延伸阅读|推荐阅读|更多阅读|猜你喜欢|往期回顾|往期推荐|"
    r"热门推荐|精彩推荐|related\s+(?:posts|articles|stories|news))\s*[】\]]?\s*[:：>》]*$",
    re.I,
)
# A credit line closing a report: a reporter's role and name(s) and nothing else ("□ 本报记者 葛灵丹",
# "新京报记者 彭冲 山东冠县报道", "整合 新华日报·交汇点记者 徐睿翔"); editors' roles are labels (编辑：).
_NAME = r"[\u4e00-\u9fff·]{2,5}"
_ROLE_NAME = _NAME + r"(?:\s*[/／]\s*[文图摄])?"  # "马俊峰/文"
_REPORTER_CREDIT = re.compile(
    r"(?:记者|通讯员|评论员|实习生|特约撰稿人?|撰稿人?|摄影|摄像|编译|采写|整合|整理)\s*[:：/]?\s*"
    + _ROLE_NAME + r"(?:[\s、/]+" + _ROLE_NAME + r")*\s*(?:报道|摄|整理|采写|[\u4e00-\u9fff]{0,4}供图)?$"
)
_CREDIT_PUNCTUATION = re.compile(r"[。！？；，,;!?]")
_CREDIT_LINE_CHARS = 40
# "出品︱…", "原标题丨…", "作者｜…": a label with a bar for a colon; "素材来源 江苏…" with a space.
_BAR_LABEL = re.compile(
    r"^[\s□■◇◆●○(（【\[]*(?:(?:" + _LABEL[3:-1] + r"|出品|监制|策划|统筹|制作|设计|海报|视觉)\s*[︱丨|｜]"
    r"|(?:素材|资料|图片|信息|稿件)?来源\s)\s*\S"
)
# 政府信息公开 pages: a table of the record's metadata sits before the text.
_RECORD_LABEL = re.compile(
    r"索\s*引\s*号|发文机关|发布机构|成文日期|发文日期|发文字号|文\s*号|主题分类|主\s*题\s*词|公开方式|公开范围|公开时限|生效日期|有\s*效\s*性|"
    r"信息分类|组配分类|体裁分类|服务对象|信息名称|内容概述"
)
_RECORD_LABELS = 3  # distinct labels that make a block the record table
_RECORD_CHARS = 800
_VIDEO = re.compile(r"video|player|vjs|shipin|bofang", re.I)
_VIDEO_LEVELS = 4  # a player's text sits a few levels inside it
_SUBTITLE_LINES = 3  # short lines under a headline repeated in the text (subtitle, document number)
_BREADCRUMB = re.compile(r"(?:您(?:现在)?的位置|当前位置|所在位置|首页\s*[>›»]|[>›»]\s*正文|-->)")
_TIME = re.compile(r"\d{1,2}:\d{2}")
_HAS_DATE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_DISCLAIMER = re.compile(r"^[【\[]?(?:郑重)?声明\s*[:：]|风险自担|转载请注明|不代表.{0,12}(?:立场|观点)|版权|未经授权|免责声明|授权.{0,20}发布|禁止.{0,6}转载")
_CHROME_WORDS = re.compile(r"^(?:正在加载|加载中|视频推荐|精彩推荐|精彩视频推荐|图集|更多|返回|top)", re.I)
_CJK = re.compile(r"[\u3400-\u9fff]")
_EDGE_CHARS = 80  # edge blocks longer than this are text, whatever they say


def _within(block: Block, ids: set[int]) -> bool:
    node: Block | None = block
    while node is not None:
        if node.node.mem_id in ids:
            return True
        node = node.parent
    return False


def _is_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text)) and len(_CREDIT_PUNCTUATION.findall(text)) + 1 >= 2


def _is_credit_line(text: str) -> bool:
    """A short line naming who wrote, shot or produced the piece, not a sentence about them."""
    if len(text) > _CREDIT_LINE_CHARS or _CREDIT_PUNCTUATION.search(text):
        return False
    return bool(_REPORTER_CREDIT.search(text) or _BAR_LABEL.match(text))


def _near_video(node: LexborNode) -> bool:
    """The node, a near ancestor or the element before it is a video player (its label and
    controls' text sit inside it or beside it)."""
    before = node.prev
    while before is not None and not before.is_element_node:
        before = before.prev
    candidates = [node, before]
    ancestor = node.parent
    for _ in range(_VIDEO_LEVELS):
        if ancestor is None:
            break
        candidates.append(ancestor)
        ancestor = ancestor.parent
    for candidate in candidates:
        if candidate is not None and candidate.is_element_node:
            attributes = candidate.attributes
            if _VIDEO.search(f"{attributes.get('class') or ''} {attributes.get('id') or ''}") or candidate.tag == "video":
                return True
    return False


def _lead_junk(block: Block, text: str, title: str | None) -> bool:
    compact = without_whitespace(text)
    if title and (compact == title or (len(compact) <= len(title) + 12 and title in compact)):
        return True
    if len(text) > _EDGE_CHARS:
        return False
    if block.own_link_chars * 2 >= block.own_chars:
        return True
    if _ORIGINAL_TITLE.match(text) or _LABEL_LINE.match(text) or _BREADCRUMB.search(text):
        return True
    if _CHROME_WORDS.match(text) and len(text) <= 10:
        return True  # the label of an empty widget ("图集")
    if _REPORTER_LINE.match(text) or _is_credit_line(text):
        return True  # "澎湃新闻记者 段彦超 廖艳": a byline, read as the author
    if _HAS_DATE.search(text) and len(text) <= 60 and (_LABEL_ANYWHERE.search(text) or _TIME.search(text)):
        return True  # a byline; a dateline alone ("2012年6月24日") opens the text
    if not _is_sentence(text) and (compact.startswith(("——", "──", "--")) or _near_video(block.node)):
        return True  # the headline's subtitle line, a video player's label
    return bool(_TRAILING_JUNK.search(text) or _WEAK_JUNK.search(text)) and block.own_punctuation <= 2


def _trail_junk(block: Block, text: str) -> bool:
    if len(text) > _EDGE_CHARS:
        return False
    if block.own_link_chars * 2 >= block.own_chars:
        return True
    if _LABEL_LINE.match(text) or _PRINT_EDITION.match(text) or _CREDIT.match(text) or _is_credit_line(text):
        return True
    if _LABEL_ANYWHERE.search(text) and len(text) <= 60:
        return True
    if _CHROME_WORDS.match(text) or (len(text) <= 15 and len(_CJK.findall(text)) < 2 and block.node.tag not in ("td", "th")):
        return True  # "+1", "<>", a bare timestamp, "正在加载…"
    return bool(_TRAILING_JUNK.search(text) or (_WEAK_JUNK.search(text) and not _is_sentence(text)))


def _leading(choice: BodyChoice, removed: set[int], limit: int = 8) -> list[Block]:
    """The first text blocks of the body, up to the first that reads as a paragraph."""
    found: list[Block] = []
    for block in choice.blocks:
        if len(found) == limit:
            break
        if _within(block, removed) or not block.own_text:
            continue
        found.append(block)
        if block.own_chars > _EDGE_CHARS:
            break
    return found


def _record_tables(choice: BodyChoice, tops: set[int], removed: set[int]) -> list[Block]:
    """政府信息公开 metadata tables (索引号, 发文机关, 成文日期 …) before the text: whole boxes, as
    their cells hold values (a date, a number) that no rule about labels recognises one by one."""
    found: list[Block] = []
    for block in choice.blocks:
        if block.own_chars > _EDGE_CHARS and block.own_punctuation >= 3 and not _RECORD_LABEL.search(block.own_text):
            break  # the text has begun
        if _within(block, removed) or any(_within(block, {box.node.mem_id}) for box in found) or not _RECORD_LABEL.search(block.own_text):
            continue
        box: Block | None = None
        node: Block | None = block
        while node is not None and node.node.mem_id not in tops and node.chars <= _RECORD_CHARS:
            if len({m.group(0) for m in _RECORD_LABEL.finditer(node.node.text(deep=True, separator="", strip=False))}) >= _RECORD_LABELS:
                box = node
            node = node.parent
        if box is not None and not _in_decision_table(box):
            found.append(box)  # a decision's table (文号, 当事人, 处罚 …) is the text, not its record
    return found


def _decision_tables(tops: list[LexborNode]) -> set[int]:
    """The penalty-decision tables in the body (mem_ids); none on the pages that state no penalty."""
    found: set[int] = set()
    for top in tops:
        if "处罚" not in top.text(deep=True, separator="", strip=False):
            continue
        found |= {table.mem_id for table in top.css("table") if len(table.css("table")) == 1 and is_decision_table(table)}
    return found


def _in_decision_table(box: Block) -> bool:
    """`box` is, holds or sits in a penalty-decision table (文号 beside 当事人, 处罚内容 …)."""
    if any(is_decision_table(table) for table in box.node.css("table")):
        return True
    node: Block | None = box.parent
    while node is not None:
        if node.node.tag == "table" and is_decision_table(node.node):
            return True
        node = node.parent
    return False


def _headline_block(choice: BodyChoice, title: str | None, removed: set[int]) -> list[Block]:
    """The headline repeated at the top of the body (on one line or broken over several), with
    what stands before it (a kicker: "15家企业") and the short lines under it (subtitles, the
    document number): the page's headline block."""
    if not title:
        return []
    lead = _leading(choice, removed)
    compacts = [without_whitespace(block.own_text) for block in lead]
    for start in range(len(lead)):
        joined = ""
        for end in range(start, len(lead)):
            joined += compacts[end]
            if joined == title or (title in joined and len(joined) <= len(title) + 12):
                taken = lead[: end + 1]
                for after in lead[end + 1 : end + 1 + _SUBTITLE_LINES]:
                    text = after.own_text  # subtitles, the document number; a salutation ("各区县：") opens the text
                    if len(text) > _CREDIT_LINE_CHARS or _CREDIT_PUNCTUATION.search(text) or text.rstrip().endswith(("：", ":")):
                        break
                    taken.append(after)
                return taken
            if not title.startswith(joined):
                break
    return []


def trim_edges(choice: BodyChoice, title: str | None) -> None:
    """Cut bylines, credits and chrome from the start and end of the body, in place."""
    compact_title = without_whitespace(title) if title else None
    tops = {node.mem_id for node in choice.nodes}
    # A penalty-decision table in the body is text to its last cell: its short label and value
    # cells (文号, a date, a name) look like subtitles, bylines and chrome to the rules below.
    tables = _decision_tables(choice.nodes)
    removed: set[int] = set()

    def drop(block: Block) -> None:
        if block.node.mem_id not in tops and not _within(block, removed):
            removed.add(block.node.mem_id)
            block.node.decompose()

    def cut(blocks: list[Block], junk) -> None:  # noqa: ANN001 - one of the two rules above
        for block in blocks:
            if _within(block, removed):
                continue
            if tables and _within(block, tables):
                return
            text = block.own_text
            if not text:
                continue
            if not junk(block, text):
                return
            if block.node.mem_id in tops:
                return  # the body itself: never cut whole
            drop(block)

    for top in choice.nodes:
        for node in _marked(top):
            if node.mem_id not in removed:
                removed.add(node.mem_id)
                node.decompose()
    boxes = _record_tables(choice, tops, removed)
    if boxes:
        choice.cut_start = without_whitespace(boxes[0].node.text(deep=True, separator="", strip=False))[:40]
    for box in boxes:
        drop(box)
    headline = _headline_block(choice, compact_title, removed)
    if tables:
        headline = headline[: next((at for at, block in enumerate(headline) if _within(block, tables)), len(headline))]
    kicker = without_whitespace(headline[0].own_text) if headline else ""
    if kicker and not boxes and not (compact_title or "").startswith(kicker):
        choice.cut_start = kicker[:40]  # a kicker above the repeated headline; the byline is above both
    for block in headline:
        drop(block)
    cut(choice.blocks, lambda block, text: _lead_junk(block, text, compact_title))
    # A disclaimer, licence note, editor or reporter credit or a "related" heading among the last
    # short blocks ends the text, even when an author blurb or a teaser follows it.
    _cut_related(choice, tops, drop, removed)
    tail: list[Block] = []
    chars = 0
    for block in reversed(choice.blocks):
        if _within(block, removed) or not block.own_text:
            continue
        chars += len(block.own_text)
        if chars > _TAIL_CHARS or len(tail) == _TAIL_BLOCKS:
            break
        tail.append(block)
    tail.reverse()
    for at, block in enumerate(tail):
        text = block.own_text
        if block.node.mem_id in tops:
            continue
        if (len(text) <= 60 and (_DISCLAIMER.search(text) or _END_CREDIT.search(text))) or _is_credit_line(text):
            for cut_block in tail[at:]:
                drop(cut_block)
            break
    cut([block for block in reversed(choice.blocks) if not _within(block, removed)], _trail_junk)
    for top in choice.nodes:
        _cut_after_credit_line(top)
        _cut_trailing_run(top)


def _marked(top: LexborNode) -> list[LexborNode]:
    """Promotion boxes, and a comment section with everything after it, found by class or id."""
    found: list[LexborNode] = []
    seen = 0

    def walk(node: LexborNode) -> bool:  # True once a comment section was found: stop
        nonlocal seen
        for child in node.iter(include_text=True):
            if child.is_text_node:
                seen += len(_SENTENCE_MARK.findall(child.text_content or ""))
                continue
            if not child.is_element_node:
                continue
            tokens = f"{child.attributes.get('class') or ''} {child.attributes.get('id') or ''}".split()
            if any(_PROMO.search(token) for token in tokens) and len(without_whitespace(child.text(deep=True))) <= _PROMO_CHARS:
                found.append(child)
            elif (
                seen >= _COMMENTS_AFTER and child.tag in _SECTIONS and any(_COMMENTS.search(token) for token in tokens)
                and len(without_whitespace(child.text(deep=True))) >= _COMMENTS_CHARS
            ):
                found.append(child)
                current: LexborNode | None = child
                while current is not None and current.mem_id != top.mem_id:  # and what follows it
                    following = current.next
                    while following is not None:
                        if following.is_element_node:
                            found.append(following)
                        following = following.next
                    current = current.parent
                return True
            elif walk(child):
                return True
        return False

    walk(top)
    return found


def _cut_related(choice: BodyChoice, tops: set[int], drop, removed: set[int]) -> None:  # noqa: ANN001 - trim_edges' drop
    """A "相关阅读"-style heading in the last part of the body ends the text: the teasers under it
    may carry summaries long enough to read as text, so the heading is looked for further back."""
    chars = 0
    for at in range(len(choice.blocks) - 1, -1, -1):
        block = choice.blocks[at]
        if _within(block, removed) or not block.own_text:
            continue
        chars += len(block.own_text)
        if chars > _RELATED_CHARS:
            return
        if block.node.mem_id not in tops and _RELATED_HEADING.match(block.own_text):
            for following in choice.blocks[at:]:
                drop(following)
            return


def _cut_after_credit_line(top: LexborNode) -> None:
    """In text joined by <br> (one block, no paragraphs), an editor line near the end ends it."""
    texts = [node for node in top.traverse(include_text=True) if node.is_text_node and (node.text_content or "").strip()]
    total = sum(len(node.text_content or "") for node in texts)
    seen = 0
    for node in texts:
        text = node.text_content or ""
        if total - seen <= _TAIL_CHARS and _END_CREDIT_LINE.match(text.strip()):
            _remove_from(node, top)
            return
        seen += len(text)


def _cut_trailing_run(top: LexborNode) -> None:
    """Chrome in inline markup straight in the body's element (no block of its own for the rules
    above to cut): a "(已被阅读178次)" or "相关…请关注" run after the last paragraph."""
    for _ in range(_TAIL_BLOCKS):
        last = next((node for node in reversed(list(top.traverse(include_text=True))) if node.is_text_node and (node.text_content or "").strip()), None)
        if last is None or last.parent is None or last.parent.mem_id == top.mem_id:
            return
        run = last.parent
        while run.parent is not None and run.parent.mem_id != top.mem_id and run.parent.tag in _INLINE_RUN:
            run = run.parent
        text = " ".join(run.text(deep=True, separator="", strip=False).split())
        if run.tag not in _INLINE_RUN or run.parent is None or run.parent.mem_id != top.mem_id or len(text) > _EDGE_CHARS:
            return
        if not (_TRAILING_JUNK.search(text) or (_WEAK_JUNK.search(text) and not _is_sentence(text))):
            return
        run.decompose()


def _remove_from(node: LexborNode, top: LexborNode) -> None:
    """Remove `node` and everything after it inside `top`."""
    current: LexborNode | None = node
    while current is not None and current.mem_id != top.mem_id:
        following = current.next
        while following is not None:
            after = following.next
            following.decompose()
            following = after
        current = current.parent
    node.decompose()
