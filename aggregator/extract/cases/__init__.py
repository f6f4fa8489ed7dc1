"""Penalty decisions (行政处罚) read as Cases from a page's HTML or an attachment's text (issue 19).

Public interface:
- `cases_in_html(html)`: the decisions a page states ([] for anything that is not a decision;
  one per row for a table of many cases);
- `case_in_text(text)`: one decision from plain text (a PDF/DOCX attachment's);
- `fine_yuan(text)`: the total fine a penalty text decides, in whole yuan (None when unreadable);
- `titled(title, case)` / `looks_like_number(title)`: the title a reader sees for a list title
  that is only a 文号.

Modules: money (amounts), labels (field labels, dates), values (cleaning and the gate), table,
text, page (HTML).
"""

from __future__ import annotations

import re

from ...models import Case
from .money import fine_yuan
from .page import cases_in_html, may_hold_cases
from .text import BARE_NUMBER, NUMBER, case_in_text

__all__ = ["case_in_text", "cases_in_html", "fine_yuan", "looks_like_number", "may_hold_cases", "penalty_summary", "titled"]

_WRAPPED = re.compile(r"^[\s《<（(【\[]*(.*?)[\s》>）)】\]]*$")


def looks_like_number(title: str | None) -> bool:
    """The title is only a 文号 (示环罚〔2026〕15号), perhaps with 行政处罚决定书 around it."""
    if not title:
        return False
    text = title.strip()
    if NUMBER.fullmatch(text):
        return True  # （湘）应急罚〔2024〕12号: its own brackets are no wrapping
    text = _WRAPPED.match(text).group(1)  # type: ignore[union-attr]
    text = re.sub(r"^(?:行政处罚决定书|处罚决定书|决定书)\s*[:：]?\s*|\s*(?:行政处罚决定书|处罚决定书|决定书)$", "", text).strip()
    text = _WRAPPED.match(text).group(1)  # type: ignore[union-attr]  # 行政处罚决定书（示环罚〔2026〕15号）
    return NUMBER.fullmatch(text) is not None or BARE_NUMBER.fullmatch(text) is not None


def _wan(fine: int) -> str:
    if fine >= 10_000:
        text = f"{fine / 10_000:.4f}".rstrip("0").rstrip(".")
        return f"{text}万元"
    return f"{fine}元"


_KINDS = ("警告", "通报批评", "没收违法所得", "没收非法财物", "责令停产停业", "责令停业", "暂扣许可证", "吊销许可证", "吊销营业执照", "降低资质等级", "限制开展生产经营活动", "行政拘留", "责令关闭")


def penalty_summary(case: Case) -> str | None:
    """罚款35.6万元 when there is a fine; else the kinds of penalty named (警告、没收违法所得)."""
    parts = []
    if case.fine_yuan is not None:
        parts.append(f"罚款{_wan(case.fine_yuan)}")
    elif case.penalty:
        parts = [kind for kind in _KINDS if kind in case.penalty][:2]
    return "、".join(parts) or None


def titled(title: str | None, case: Case | None) -> str:
    """The title a reader sees: `title` unchanged unless it is only a 文号 (or empty); then
    `{party} {penalty summary}（{number}）`, or as much of that as the case states."""
    title = (title or "").strip()
    if case is None or not case or (title and not looks_like_number(title)):
        return title
    number = case.number or (title or None)
    head = " ".join(part for part in (case.party, penalty_summary(case)) if part)
    if not head:
        return title
    return f"{head}（{number}）" if number else head
