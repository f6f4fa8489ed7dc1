"""A penalty decision (models.Case) as published: Atom extension elements and a readable table.

Atom: one element per stated field, directly in the entry, in our own namespace
(RFC 4287 section 6: foreign markup is allowed in entries):

    <feed xmlns="http://www.w3.org/2005/Atom" xmlns:case="tag:feed-aggregator,2026:case">
      <entry> … <case:number>示环罚〔2026〕15号</case:number> … <case:fine_yuan>356000</case:fine_yuan>

Flat rather than wrapped in a <case:case> element: an item has at most one case,
feedparser turns each flat element into an entry key (`case_party`), XPath is
`atom:entry/case:party`, and a wrapper would add an empty `case_case` key and
nothing else. The namespace is declared once, on the feed element, and only in
feeds that have a case: the W3C validator warns once per declaration of a
namespace it does not know (that one warning cannot be avoided), and feeds
without cases keep their bytes. A `tag:` URI (RFC 4151) because it is stable and
ours without a domain to keep up; it is a name, not an address to fetch.

The table leading the entry's content is built from the same cleaned values,
text escaped, and shown only for the fields that have one. The serve stage reads
the elements back (`read_case`) for the pages and the JSON Feed.
"""

from __future__ import annotations

import html
from decimal import Decimal

from lxml import etree

from aggregator.models import CASE_FIELDS, Case
from aggregator.normalise.text import sanitize_html, xml_safe

CASE_NS = "tag:feed-aggregator,2026:case"
CASE_PREFIX = "case"

# The table's rows, in the order a reader looks for them (not the field order).
LABELS: tuple[tuple[str, str], ...] = (
    ("party", "当事人"),
    ("credit_code", "统一社会信用代码"),
    ("number", "文号"),
    ("violation", "违法事实"),
    ("basis", "处罚依据"),
    ("penalty", "处罚决定"),
    ("fine_yuan", "罚款"),
    ("date", "决定日期"),
    ("authority", "处罚机关"),
)
_WAN = 10_000


def clean_case(case: Case | None) -> Case | None:
    """The case as published: XML-safe text, one newline convention, blank fields None; None if nothing is left.

    What is written is what is read back, so the table the pages strip off the
    content is the one publish put there."""
    if not case:
        return None
    texts: dict[str, str] = {}
    for name in CASE_FIELDS:
        value = getattr(case, name)
        if name == "fine_yuan" or value is None:
            continue
        text = xml_safe(str(value)).replace("\r\n", "\n").replace("\r", "\n").strip()
        if text:
            texts[name] = text
    fine = case.fine_yuan
    if not isinstance(fine, int) or isinstance(fine, bool) or fine < 0:
        fine = None  # as Case.from_dict reads it: a whole, non-negative number of yuan or nothing
    cleaned = Case(**texts, fine_yuan=fine)
    return cleaned or None


def format_fine(yuan: int) -> str:
    """356000 -> "356,000 元（35.6 万元）"; below 10,000 yuan only the first form."""
    text = f"{yuan:,} 元"
    if yuan >= _WAN:
        wan = (Decimal(yuan) / _WAN).normalize()
        text += f"（{wan:,f} 万元）"
    return text


def case_rows(case: Case | None) -> list[tuple[str, str]]:
    """(label, shown value) for each field the case states, in table order."""
    if not case:
        return []
    rows = []
    for name, label in LABELS:
        value = getattr(case, name)
        if value is None:
            continue
        rows.append((label, format_fine(value) if name == "fine_yuan" else str(value)))
    return rows


def case_table_html(case: Case | None) -> str:
    """The table that leads an entry's content ("" without a case); values are escaped text."""
    rows = case_rows(case)
    if not rows:
        return ""
    cells = "".join(
        f'<tr><th scope="row">{label}</th><td>{html.escape(value, quote=False).replace(chr(10), "<br>")}</td></tr>'
        for label, value in rows
    )
    # Through the same sanitiser as the page content: one canonical spelling, for the strip below.
    return sanitize_html(f"<table><tbody>{cells}</tbody></table>")


def strip_case_table(content_html: str, case: Case | None) -> str:
    """The content without the case table publish put in front of it."""
    table = case_table_html(case)
    if table and content_html.startswith(table):
        return content_html[len(table):].lstrip()
    return content_html


def add_case_elements(entry: etree._Element, case: Case) -> None:
    """Append one `case:<field>` element per stated field (a cleaned case), in CASE_FIELDS order."""
    for name in CASE_FIELDS:
        value = getattr(case, name)
        if value is not None:
            etree.SubElement(entry, f"{{{CASE_NS}}}{name}").text = str(value)


def declare_namespace(root: etree._Element) -> None:
    """One `xmlns:case` on the feed element instead of one per extension element."""
    etree.cleanup_namespaces(root, top_nsmap={CASE_PREFIX: CASE_NS})


def read_case(entry: etree._Element) -> Case | None:
    """The case an Atom entry carries in our namespace, None if it carries none."""
    found: dict[str, object] = {}
    for element in entry.iterchildren(f"{{{CASE_NS}}}*"):
        name = etree.QName(element).localname
        text = (element.text or "").strip()
        if name not in CASE_FIELDS or not text:
            continue
        if name == "fine_yuan":
            if text.isascii() and text.isdigit():
                found[name] = int(text)
        else:
            found[name] = text
    return Case.from_dict(found) or None
