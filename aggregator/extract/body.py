"""Where an article's text is on a page nobody wrote selectors for.

Hand-written because no library does this job well on Chinese government and news pages (measured
in `bench/bench_accuracy.py`: trafilatura, readability, gne, newspaper4k and goose3 each lose the
start or the end of the body on a third of the dev pages, at 30–90 ms a page). The method is the
one the best of them share, tuned for Chinese text and kept to one pass over the tree:

1. Every text node is charged to its nearest block element (p, div, td …; inline tags such as a,
   span, font do not count), recording its characters, the part inside links and its Chinese
   sentence punctuation (。，、；：？！“”…). Punctuation is the strongest single signal: navigation,
   hot lists and footers have almost none, running prose has one mark every 15–25 characters.
2. A block's score (1 + punctuation + length, scaled down by its link density) is given to the
   block, its parent and half to its grandparent, as readability does; an element's final score
   is that sum times (1 − its own link density), so link farms around the text lose.
3. The best element wins; siblings beside it that read as text too are merged in (content split
   over several `div`s), stopping at the first sibling that does not.
4. The edges are cut (edges.py): the headline block, record tables, bylines, credits and chrome.

A page is never judged by its chrome alone: a box holding far more prose than a teaser is not a
teaser even when its siblings look like it (table layouts), a footer block never scores, and a
<form> holding most of the page (ASP.NET, VSB) is kept.

Known content containers of gov CMSs (`#zoom`, `.TRS_Editor` …) are hints, not the only path:
one wins only when it holds most of the scored text. A body a source's selector chose is measured
the same way (`choice_of`) so its edges are cut too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..normalise.text import without_whitespace
from .cases.table import is_decision_table
from .list_rows import is_hidden as is_hidden_element
from .edges import _DISCLAIMER, _EDGE_CHARS, _HAS_DATE, _LABEL_LINE, _TIME, _within, trim_edges

__all__ = ["Block", "BodyChoice", "choice_of", "drop_forms", "find_body", "is_hidden", "trim_edges"]

# Tags whose text belongs to the enclosing block.
_INLINE = frozenset(
    {
        "a", "span", "font", "b", "strong", "em", "i", "u", "sub", "sup", "small", "big", "label", "abbr",
        "cite", "code", "q", "s", "strike", "del", "ins", "mark", "time", "br", "img", "wbr", "nobr", "tt",
    }
)
# Chrome, never content.
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "link", "nav", "footer", "aside", "header", "select", "option", "button", "textarea", "iframe", "svg"})
_PUNCTUATION = "，。、；：？！“”‘’「」《》（）,;!?"
_DELETE_PUNCTUATION = str.maketrans("", "", _PUNCTUATION)
_SMALL_FORM = 300  # characters without two sentence marks: a search or login box, never the page

# Known content containers of gov CMSs and big news sites, in order of trust.
_HINTS = (
    "#zoom", ".TRS_Editor", ".trs_editor_view", ".TRS_UEDITOR", ".neiright_JPZ_GK_CP", "#artibody", "#endText",
    ".pages_content", ".article-content", ".article_content", "#article_content", ".art_con", "#js_content",
    ".news_content", ".detail-content", ".wz_content", "#fontzoom", "#ivs_content", ".fly_content",
)
_HINT_SHARE = 0.6  # a hint wins when it holds this share of the winner's text
_OWNS_TEXT = 0.8  # a container holding this share of the winner's points itself is the body
_PARAGRAPHS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "blockquote", "pre"})

_TITLE_LINK_CHARS = 8
_PROSE_CHARS = 300  # text outside links that no teaser box holds
_STANDS_OUT = 3  # ... and this many times the prose of any sibling
_PROSE_PER_LINK = 150  # ... per headline link in it: a list of teasers with summaries has fewer
# What a site's footer says (operator, licences, hotlines); two of them in one block is the footer.
_FOOTER_MARK = re.compile(
    r"版权所有|all rights reserved|copyright|©|icp[备证]|公网安备|网站标识码|举报电话|举报邮箱|主办单位|承办单位|技术支持|联系电话|网站地图|客服电话",
    re.I,
)
_FOOTER_CHARS = 600
_TABLE_SHARE = 0.7  # a decision table's box: the table is this share of its text


@dataclass(slots=True, eq=False)
class Block:
    """One element that owns text directly, with the figures the scoring uses."""

    node: LexborNode
    parent: Block | None
    depth: int
    in_link: bool
    is_block: bool
    chars: int = 0  # whole subtree, whitespace not counted
    link_chars: int = 0
    punctuation: int = 0  # outside links
    own_chars: int = 0  # text whose nearest block is this element
    own_link_chars: int = 0
    own_punctuation: int = 0
    score: float = 0.0
    owner: Block | None = None  # the nearest block element; None when it is one (no self-cycle)
    parts: list[str] = field(default_factory=list)  # its own text, for the edge rules
    title_links: int = 0  # links under it with headline-length text
    teaser: bool = False  # inside one of several sibling boxes that each link another article
    points: float = 0.0  # what its own text is worth, before propagation

    @property
    def own_text(self) -> str:
        return " ".join("".join(self.parts).split())

    @property
    def link_density(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0

    @property
    def final(self) -> float:
        return self.score * (1.0 - self.link_density)


@dataclass(slots=True)
class BodyChoice:
    nodes: list[LexborNode] = field(default_factory=list)  # the body, in document order
    blocks: list[Block] = field(default_factory=list)  # text blocks inside, in document order
    # Where what trim_edges cut whole from the top of the body (a record table, the headline
    # block) began, as compact text: the byline is looked for above it, not between it and the text.
    cut_start: str | None = None


def is_hidden(node: LexborNode) -> bool:
    """A `hidden` attribute or an inline display:none / visibility:hidden: not read, not shown.
    Unlike on list pages, hide classes (`.hide`) do not count here."""
    return is_hidden_element(node, by_class=False)


def drop_forms(root: LexborNode) -> None:
    """Remove forms (search, login, comment boxes), except one that holds most of the page's text.

    ASP.NET pages and some gov/university CMSs (VSB's `_newscontent_fromname`) wrap the whole
    page or the article in a <form>; dropping it would drop the article and leave the chrome.
    """
    large: list[tuple[LexborNode, int]] = []
    for form in root.css("form"):
        text = form.text(deep=True, separator="", strip=False)
        chars = len(without_whitespace(text))
        if chars < _SMALL_FORM and text.count("。") + text.count("，") < 2:
            form.decompose()
        else:
            large.append((form, chars))
    if large:  # the page's text is measured only when a form could be the page
        total = len(without_whitespace(root.text(deep=True, separator="", strip=False)))
        for form, chars in large:
            if chars * 2 < total:
                form.decompose()


def _measure(root: LexborNode) -> list[Block]:
    """All elements under `root` (pre-order) with their text figures; hidden ones are left out."""
    top = Block(root, None, 0, False, True)
    order = [top]
    stack = [(top, root.iter(include_text=True))]
    while stack:
        block, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parent = block.parent
            if parent is not None:
                parent.chars += block.chars
                parent.link_chars += block.link_chars
                parent.punctuation += block.punctuation
                parent.title_links += block.title_links
                if block.node.tag == "a" and block.chars >= _TITLE_LINK_CHARS:
                    parent.title_links += 1
            continue
        if child.is_text_node:
            text = child.text_content
            if not text:
                continue
            chars = len(without_whitespace(text))
            if not chars:
                continue
            owner = block.owner or block
            block.chars += chars
            owner.own_chars += chars
            owner.parts.append(text)
            if block.in_link:
                block.link_chars += chars
                owner.own_link_chars += chars
            else:
                marks = len(text) - len(text.translate(_DELETE_PUNCTUATION))
                block.punctuation += marks
                owner.own_punctuation += marks
            continue
        if not child.is_element_node:
            continue
        tag = child.tag
        if tag in _SKIP or is_hidden(child):
            continue
        is_block = tag not in _INLINE
        new = Block(child, block, block.depth + 1, block.in_link or tag == "a", is_block)
        new.owner = None if is_block else (block.owner or block)
        order.append(new)
        stack.append((new, child.iter(include_text=True)))
    return order


def _mark_teasers(blocks: list[Block]) -> None:
    """Flag "related"/"recommended" boxes: 3+ siblings of one shape, each linking a headline.

    Body paragraphs repeat too, but their links are short keywords, not headlines.
    """
    groups: dict[tuple[int, str, str], list[Block]] = {}
    for block in blocks:
        if block.parent is not None and block.title_links and block.is_block:
            key = (block.parent.node.mem_id, block.node.tag, block.node.attributes.get("class") or "")
            groups.setdefault(key, []).append(block)
    for members in groups.values():
        if len(members) >= 3:
            # The one box that holds prose, far more than any sibling, is the article (a table
            # layout); in a stream of teasers with summaries several hold about as much.
            prose = sorted((member.chars - member.link_chars for member in members), reverse=True)
            for member in members:
                member.teaser = not (
                    _holds_prose(member) and member.chars - member.link_chars == prose[0] and prose[0] >= _STANDS_OUT * prose[1]
                )
    for block in blocks:  # pre-order: parents are settled before their children
        if block.parent is not None and block.parent.teaser:
            block.teaser = True


def _holds_prose(block: Block) -> bool:
    """More running text than any teaser carries: the article's own box in a table layout, whose
    siblings (menu, sidebar, footer tables) each hold a headline link as it does (its headline,
    a breadcrumb). A teaser's summary is a sentence or two under one headline link."""
    prose = block.chars - block.link_chars
    return prose >= _PROSE_CHARS and block.punctuation >= 10 and prose >= _PROSE_PER_LINK * block.title_links


def _is_chrome(block: Block, title: str | None) -> bool:
    """The headline, a byline or a disclaimer: text that is not the article's, whatever its punctuation."""
    if block.own_chars > 2 * _EDGE_CHARS:
        return block.own_chars <= _FOOTER_CHARS and _is_footer(block.own_text)
    text = block.own_text
    if title and without_whitespace(text) == title:
        return True
    return bool(
        _LABEL_LINE.match(text) or _DISCLAIMER.search(text) or _is_footer(text)
        or (_HAS_DATE.search(text) and _TIME.search(text) and len(text) <= 60)
    )


def _is_footer(text: str) -> bool:
    marks = {match.group(0).lower() for match in _FOOTER_MARK.finditer(text)}
    return len(marks) >= 2


def _score(blocks: list[Block], title: str | None) -> None:
    _mark_teasers(blocks)
    for block in blocks:
        if not block.is_block or not block.own_chars or block.teaser:
            continue
        text_chars = block.own_chars - block.own_link_chars
        if text_chars < 8 and not block.own_punctuation:
            continue
        if _is_chrome(block, title):
            continue
        density = block.own_link_chars / block.own_chars
        if density > 0.5:
            continue
        points = (1.0 + block.own_punctuation + min(text_chars / 100.0, 3.0)) * (1.0 - density)
        block.points = points
        block.score += points
        parent = block.parent
        if parent is not None:
            parent.score += points
            if parent.parent is not None:
                parent.parent.score += points / 2.0


def _reads_as_text(block: Block, threshold: float) -> bool:
    if block.final >= threshold:
        return True
    text_chars = block.chars - block.link_chars
    return text_chars >= 60 and block.link_density < 0.25 and block.punctuation >= 2


def _siblings(winner: Block, by_node: dict[int, Block]) -> list[LexborNode]:
    """The winner plus the contiguous siblings beside it that read as text too."""
    parent = winner.node.parent
    if parent is None or winner.parent is None:
        return [winner.node]
    threshold = max(10.0, winner.final * 0.2)
    row = [child for child in parent.iter() if child.mem_id in by_node]
    at = next(i for i, child in enumerate(row) if child.mem_id == winner.node.mem_id)

    def extend(indices: range) -> list[LexborNode]:
        taken: list[LexborNode] = []
        pending: list[LexborNode] = []  # empty elements (images, spacers) between text siblings
        for i in indices:
            block = by_node[row[i].mem_id]
            if block.chars == 0:
                pending.append(row[i])
                continue
            if not _reads_as_text(block, threshold):
                break
            taken.extend(pending)
            pending = []
            taken.append(row[i])
        return taken

    before = extend(range(at - 1, -1, -1))
    after = extend(range(at + 1, len(row)))
    return list(reversed(before)) + [winner.node] + after



def find_body(tree: LexborHTMLParser, root: LexborNode, title: str | None = None, *, decisions: bool = True) -> BodyChoice | None:
    """The elements that hold the article's text, or None when nothing reads as text.

    `decisions=False` says the page has no penalty-decision words (cases.may_hold_cases), so no
    table on it is looked at as a decision table."""
    blocks = _measure(root)
    _score(blocks, without_whitespace(title) if title else None)
    winner = max(blocks, key=lambda b: (b.final, b.depth), default=None)
    if winner is None or winner.final <= 0:
        return None
    by_node = {block.node.mem_id: block for block in blocks}
    # A container that holds nearly all the winner's text itself (text in a div, not in
    # paragraphs) is the body; the winner around it only adds the title, byline and chrome.
    inside = [b for b in blocks if b.points and _within(b, {winner.node.mem_id})]
    total = sum(b.points for b in inside)
    densest = max(inside, key=lambda b: b.points, default=None)
    if densest is not None and densest is not winner and densest.points >= _OWNS_TEXT * total and densest.node.tag not in _PARAGRAPHS:
        winner = densest
    hint = _hint(tree, winner, by_node)
    nodes = _siblings(winner, by_node) if hint is None else [hint.node]
    ids = {node.mem_id for node in nodes}
    table = _decision_table(root, blocks, by_node, ids) if decisions else None
    if table is not None:
        nodes, ids = [table.node], {table.node.mem_id}
    inside = [b for b in blocks if b.is_block and b.own_chars and _within(b, ids)]
    return BodyChoice(nodes=nodes, blocks=inside)


def _decision_table(root: LexborNode, blocks: list[Block], by_node: dict[int, Block], ids: set[int]) -> Block | None:
    """The element holding the page's penalty-decision table(s) (行政处罚决定书文号 | 当事人 | 处罚内容 …),
    when the chosen body is not already that element.

    Such a table's cells are short labels and values with little punctuation, so the menu or a
    sidebar of duties (职责) beside it outscores it, alone or with the table inside a page-wide
    container. The body is then the table, with what stands around it inside its own box (a
    heading, a note) as long as the table is most of that box's text."""
    if not any(b.node.tag == "table" for b in blocks):
        return None
    tables: list[Block] = []
    seen: set[str] = set()
    for node in root.css("table"):
        if node.mem_id in by_node and len(node.css("table")) == 1 and is_decision_table(node):
            text = without_whitespace(node.text(deep=True, separator="", strip=False))
            if text not in seen:  # a second copy of the same table (a print view) is not more content
                seen.add(text)
                tables.append(by_node[node.mem_id])
    if not tables:
        return None
    region: Block | None = tables[0]
    while region is not None and not all(_within(table, {region.node.mem_id}) for table in tables):
        region = region.parent
    if region is None or region.node is root:
        region = tables[0]
    table_chars = sum(table.chars for table in tables)
    while region.parent is not None and region.parent.node is not root and table_chars >= _TABLE_SHARE * region.parent.chars:
        region = region.parent
    return None if region.node.mem_id in ids and len(ids) == 1 else region


def _hint(tree: LexborHTMLParser, winner: Block, by_node: dict[int, Block]) -> Block | None:
    """The first known CMS container that holds most of the winner's text, if any.

    It is then the tighter or the more complete block; a small box elsewhere on the page never wins.
    """
    winner_text = winner.chars - winner.link_chars
    for css in _HINTS:
        for node in tree.css(css):
            hint = by_node.get(node.mem_id)
            if hint is not None and hint.chars - hint.link_chars >= _HINT_SHARE * winner_text and hint.punctuation >= 0.5 * winner.punctuation:
                return hint
    return None


def choice_of(node: LexborNode, title: str | None = None) -> BodyChoice:
    """`node` (a body a selector chose) measured like a scored one, so its edges can be cut too."""
    blocks = _measure(node)
    _score(blocks, without_whitespace(title) if title else None)
    return BodyChoice(nodes=[node], blocks=[b for b in blocks if b.is_block and b.own_chars])
