"""A decision written as text: the page of a 行政处罚决定书, or the text of its PDF/DOCX.

What holds across departments and sites:
- a heading naming the document (…行政处罚决定书) and its 文号 on a line near it;
- labelled lines for the party (当事人：/被处罚人：/被处罚单位：) and its 统一社会信用代码;
- numbered sections (一、…违法事实和证据 二、…依据… 三、…履行方式…), or in decisions without
  them a paragraph opened by 经查;
- the decision: "…依据《…》第…条…的规定，决定/作出如下行政处罚：…" and then a list or a sentence;
- the signature: the deciding body on a line of its own and the date (二〇二四年三月五日) under it.
A notice of intent (事先告知书, 听证告知书: 拟…), a 催告书 or a 送达公告 is not a decision.
"""

from __future__ import annotations

import re

from ...models import Case
from .labels import OTHER, all_dates, field_of, iso_date
from .values import clean_code, clean_line, clean_number, clean_party, clean_text, make_case

__all__ = ["BARE_NUMBER", "case_in_text", "is_notice_heading", "NUMBER"]

_LEFT = r"[〔\[［(（【]"
_RIGHT = r"[〕\]］)）】]"
# A 文号: issuer's abbreviation, the year in brackets, the serial and 号 (示环罚〔2026〕15号, 京市监罚字[2024]第12号).
NUMBER = re.compile(
    r"(?:[（(][\u4e00-\u9fa5A-Za-z]{1,6}[)）])?[\u4e00-\u9fa5A-Za-z]{1,20}" + _LEFT + r"\s*(?:19|20)\d{2}\s*" + _RIGHT + r"\s*(?:第\s*)?[0-9０-９A-Za-z\-－—]{1,12}\s*号"
    r"|[\u4e00-\u9fa5]{1,16}(?:罚|处|决)[\u4e00-\u9fa5]{0,4}字?\s*(?:19|20)\d{2}\s*(?:年)?\s*第?\s*[0-9\-－]{1,10}\s*号"
)
# A line that is only 〔2024〕12号: the issuer's name stands in the heading (证监会 decisions).
BARE_NUMBER = re.compile(_LEFT + r"\s*(?:19|20)\d{2}\s*" + _RIGHT + r"\s*(?:第\s*)?\d{1,6}\s*号")
_PARTY_LABEL = re.compile(
    r"^\s*(?:当事人(?:名称|姓名)?|被处罚(?:人|单位|当事人|企业|主体)(?:名称|姓名)?|行政相对人(?:名称)?|受处罚(?:人|单位))"
    r"\s*(?:[（(][^）)]{1,6}[)）])?\s*[:：]\s*(.*)$"
)
# Labels and section headings that start a line of their own, for texts whose lines were run
# together (a page that lost its breaks): split before them after a sentence end, a space or a 号.
_RUN_TOGETHER = re.compile(
    r"(?<=[。；;\s号])(?=(?:当事人|被处罚人|被处罚单位|统一社会信用代码|社会信用代码|法定代表人|负责人|住所|地址|经营场所|主要负责人)"
    r"(?:[（(][^）)]{1,6}[)）])?[:：])|(?<=[。；;\s])(?=[一二三四五六七八九十]{1,2}、)"
)
_CODE_LABEL = re.compile(r"(?:统一社会信用代码|社会信用代码|信用代码|注册号|组织机构代码|纳税人识别号)\s*[（(]?[^:：）)]{0,12}[)）]?\s*[:：]?\s*([0-9A-Za-z０-９Ａ-Ｚ]{8,20})")
_NUMBER_LABEL = re.compile(r"^\s*(?:行政处罚)?(?:决定书)?文号\s*[:：]\s*(.+)$")
_HEADING = re.compile(r"^\s*([一二三四五六七八九十]{1,3})\s*[、.．]\s*(.*)$")
_VIOLATION_HEADING = re.compile(r"违法(?:违规)?(?:事实|行为)|事实和证据|事实及证据|案件事实|调查情况|违法情况|^事实|^(?:案件)?基本情况$")
_NOTICE = re.compile(r"告知书|告知单|催告书|催告|听证|送达公告|公示催告|陈述申辩|意见书|征求意见|拟作出|拟处罚")
_DOC_HEADING = re.compile(r"处罚决定书|处罚决定|决定书")
# The decision sentence and where what was decided starts in it.
# In order of preference: "作出如下行政处罚：" names where the decision starts better than "决定".
_DECIDED = (
    re.compile(r"(?:作出|做出|给予|实施|作如下|处以?如下|决定如下)[^。：:]{0,16}(?:行政)?处罚(?:决定)?(?:如下)?\s*[:：]"
               r"|(?:如下|以下)[^。：:]{0,10}处(?:罚|理)(?:决定)?\s*[:：]|(?:处罚|处理)如下\s*[:：]"),
    re.compile(r"(?:决定|处罚如下|处理如下)\s*[:：]"),
    re.compile(r"决定(?=[^。]{0,40}(?:处以|处|给予|罚款|警告|没收|责令|吊销|暂扣|撤销|停业|通报批评))"),
    # No 决定 at all (tax decisions): "根据《…》第…条的规定，对你单位…处…的罚款…元。"
    re.compile(r"(?<=规定)\s*[，,]\s*(?=[^。]{0,40}(?:处以|处|给予|并处)[^。]{0,40}(?:罚款|警告|没收))"),
)
_PROPOSED = re.compile(r"拟|将要|准备")
_ENUMERATED = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十\d]{1,2}[)）]|[\d]{1,2}\s*[.．、]|[一二三四五六七八九十]{1,2}\s*、|[①②③④⑤⑥⑦⑧⑨])")
_PAYMENT = re.compile(r"限于|自收到|自接到|之日起|缴至|缴纳|缴款|逾期|账户|账号|开户|收款|代收|履行|到期不缴|每日按|申请行政复议|提起行政诉讼|如不服")
_BASIS_KEY = re.compile(r"依据|根据|按照|依照")
# 第六十七条第（一）项: an item's number is often printed in brackets.
_ARTICLE_END = re.compile(r"第[一二三四五六七八九十百千零〇\d]+(?:条(?:之[一二三四五六七八九十]+)?|款|项|目)(?:第[（(]?[一二三四五六七八九十百千零〇\d]+[)）]?(?:款|项|目))*")
_ORG = re.compile(r"^[\u4e00-\u9fa5（）()]{2,40}(?:局|委员会|委|厅|办公室|办|政府|大队|支队|分局|中心|署|所|院|站|队|部|处|会|监督局|管理局|分公司)$")
_STAMP = re.compile(r"[（(]\s*(?:印章|盖章|公章|章)\s*[)）]|（?此页无正文）?")
_DATE_LINE = 26  # a signature's date line is short: a date, perhaps 日期：
_NEAR_DECISION = 10  # lines between the decision and an unsigned date (payment, 复议 terms)
_CHINESE_DATE = re.compile(r"[〇○零Ｏ一二]{2}[〇○零Ｏ一二三四五六七八九]{2}\s*年")


def _lines(text: str) -> list[str]:
    text = _RUN_TOGETHER.sub("\n", text.replace("\r", "\n"))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return [line for line in lines if line]


def is_notice_heading(text: str) -> bool:
    """The heading names a notice (告知书, 催告书, 听证, 送达公告), not a decision."""
    return bool(_NOTICE.search(text))


def case_in_text(text: str | None) -> Case | None:
    """The one decision `text` states (a page's text, or its attachment's), or None."""
    if not text or "处罚" not in text:
        return None
    lines = _lines(text)
    party_at = next((i for i, line in enumerate(lines) if _PARTY_LABEL.match(line)), None)
    if party_at is None:
        party_at = _addressed(lines)
    if party_at is None:
        if any(is_notice_heading(line) and len(line) <= 60 for line in lines[:10]):
            return None
        return _label_lines(lines)
    head = lines[max(0, party_at - 8) : party_at]
    if any(is_notice_heading(line) and len(line) <= 60 for line in head):
        return None
    values: dict[str, str] = {}
    values["party"] = _party(lines, party_at) or ""
    # The nearest above the party: the lines further up may be a menu of other decisions.
    number = next((m.group(0) for line in reversed(head) if (m := NUMBER.search(line))), None)
    number = number or next((line for line in reversed(head) if BARE_NUMBER.fullmatch(line)), None)
    number = number or next((m.group(1) for line in lines[: party_at + 6] if (m := _NUMBER_LABEL.match(line))), None)
    if number:
        values["number"] = number
    for line in lines[party_at : party_at + 8]:
        if match := _CODE_LABEL.search(line):
            values["credit_code"] = match.group(1)
            break
    body = lines[party_at + 1 :]
    decided = _decision(body)
    if decided is None:
        return None
    sentence, penalty, decided_line = decided
    if _PROPOSED.search(sentence[: sentence.find(penalty[:4]) if penalty else len(sentence)][-40:]):
        return None
    values["penalty"] = penalty
    if basis := _basis(sentence):
        values["basis"] = basis
    if violation := _violation(body, decided_line):
        values["violation"] = violation
    tail = body[decided_line + 1 :]
    signed = _signature(tail)
    if signed is not None:
        authority, day = signed
        if day:
            values["date"] = day
        if authority:
            values["authority"] = authority
    if "authority" not in values:
        heading = next((line for line in reversed(head) if _DOC_HEADING.search(line) and len(line) <= 50), None)
        if heading and (name := re.sub(r"(?:税务)?(?:行政)?处罚决定书.*$", "", heading)) and _ORG.match(name):
            values["authority"] = name
    has_doc = any(_DOC_HEADING.search(line) for line in head) or "处罚决定" in text[:2000]
    if not has_doc:
        return None
    return make_case(values)


# A decision addressed to its party, as tax decisions are: "示例贸易有限公司：（纳税人识别号：9144…）".
_SALUTATION = re.compile(r"^([^：:，,。；;《》]{2,40})[：:]\s*(?:[（(]?\s*(?:统一社会信用代码|纳税人识别号|社会信用代码|注册号)[^）)]*[）)]?)?$")


def _addressed(lines: list[str]) -> int | None:
    """The salutation line under the 文号 (or, in decisions that print none, right under the
    document's heading 行政处罚决定书) that names the party, when no line is labelled 当事人."""
    for i, line in enumerate(lines[:80]):
        numbered = bool(NUMBER.search(line)) and len(line) <= 40
        headed = not numbered and len(line) <= 30 and bool(re.search(r"处罚决定书$", line)) and not is_notice_heading(line)
        if not (numbered or headed):
            continue
        for j in range(i + 1, min(i + 3, len(lines))):
            match = _SALUTATION.match(lines[j])
            if match and not re.search(r"决定|处罚|告知|通知|日期|时间|地址|电话", match.group(1)):
                return j
        if numbered:
            return None
    return None


_LABEL_LINE = re.compile(r"^([^\s:：]{2,24})(?:\s*[:：]\s*|\s+)(.+)$")


def _label_lines(lines: list[str]) -> Case | None:
    """A decision table as a document's text gives it: one "label value" line per row
    (行政处罚决定书文号 金罚决字〔2024〕36号 / 被处罚当事人 …), read like the table itself."""
    values: dict[str, str] = {}
    for line in lines:
        match = _LABEL_LINE.match(line)
        name = field_of(match.group(1)) if match else None
        if match and name not in (None, OTHER) and name not in values:
            values[name] = match.group(2).strip()
    return make_case(values, pairs=True) if len(values) >= 3 else None


def _party(lines: list[str], at: int) -> str | None:
    label = _PARTY_LABEL.match(lines[at]) or _SALUTATION.match(lines[at])
    value = label.group(1).strip()  # type: ignore[union-attr]
    if not value and at + 1 < len(lines) and not _CODE_LABEL.search(lines[at + 1]):
        value = lines[at + 1]
    return clean_party(value)


def _decision(body: list[str]) -> tuple[str, str, int] | None:
    """(the decision sentence, what was decided as printed, the index of its last line)."""
    for pattern in _DECIDED:
        found = _decided_by(body, pattern)
        if found is not None:
            return found
    return None


def _decided_by(body: list[str], pattern: re.Pattern[str]) -> tuple[str, str, int] | None:
    for i, line in enumerate(body):
        for match in pattern.finditer(line):
            before = line[: match.start()]
            if _PROPOSED.search(before[-20:]) or "告知" in before[-30:]:
                continue  # "拟作出如下处罚" / quoting the notice sent earlier
            sentence_start = max(before.rfind("。"), before.rfind("；")) + 1
            rest = line[match.end() :].strip()
            if rest:
                end = rest.find("。")
                if end >= 0 and match.group(0).endswith(("：", ":")) and _ENUMERATED.match(rest):
                    end = -1  # "如下：1.罚款…；2.没收…" on one line: the whole list
                penalty_lines = [rest[: end + 1] if end >= 0 else rest]
                last = i
                if end < 0:
                    penalty_lines, last = _list_after(body, i, penalty_lines)
            else:
                penalty_lines, last = _list_after(body, i, [])
            penalty = "\n".join(penalty_lines).strip()
            if not penalty or not re.search(r"罚|警告|没收|责令|吊销|暂扣|撤销|停|通报|取消|限制|禁止|降低|注销|关闭", penalty):
                continue
            sentence = line[sentence_start:]
            if not _BASIS_KEY.search(sentence) and i > 0:
                sentence = body[i - 1] + sentence  # "依据…规定，" ended the line above
            return sentence, penalty.rstrip("；;，,"), last
    return None


def _list_after(body: list[str], at: int, taken: list[str]) -> tuple[list[str], int]:
    """The decision's list under "作出如下行政处罚：": enumerated lines, up to the payment terms."""
    last = at
    for j in range(at + 1, min(len(body), at + 12)):
        line = body[j]
        if _HEADING.match(line) and not _ENUMERATED.match(line):
            break
        if _PAYMENT.search(line[:12]) or (not _ENUMERATED.match(line) and taken and _PAYMENT.search(line)):
            break
        taken.append(line)
        last = j
        if line.endswith("。") and not _ENUMERATED.match(body[j + 1] if j + 1 < len(body) else ""):
            break
    return taken, last


def _basis(sentence: str) -> str | None:
    """From the first 《 after 依据/根据/按照 to the end of the sentence's last 第…条/款/项."""
    key = _BASIS_KEY.search(sentence)
    if key is None:
        return None
    start = sentence.find("《", key.end())
    if start < 0:
        return None
    ends = [m.end() for m in _ARTICLE_END.finditer(sentence, start)]
    if not ends:
        return None
    return sentence[start : ends[-1]]


def _violation(body: list[str], decided_line: int) -> str | None:
    """The section under the 违法事实 heading up to the next heading; else the 经查 paragraph(s)."""
    for i, line in enumerate(body[:decided_line]):
        heading = _HEADING.match(line)
        if heading and _VIOLATION_HEADING.search(heading.group(2)[:20]):
            rest = heading.group(2)
            inline = re.split(r"[:：]|(?<=[^\s]{4})\s+", rest, maxsplit=1)  # "一、违法事实：经查…" / "一、违法事实 经查…"
            taken = [inline[1].strip()] if len(inline) == 2 and inline[1].strip() and len(inline[0]) <= 20 and len(rest) > 30 else []
            for line2 in body[i + 1 :]:
                if _HEADING.match(line2):
                    break
                taken.append(line2)
            return clean_text("\n".join(taken))
    taken: list[str] = []
    start = None
    for i, line in enumerate(body[:decided_line]):
        if labelled := _VIOLATION_LABEL.match(line):  # "环境违法行为：…" on a line of its own
            start, taken = i + 1, [labelled.group(1)] if labelled.group(1) else []
            break
        if re.match(r"^\s*(?:经查|经调查|经查明|现查明)", line):
            start = i
            break
    if start is None:
        return None
    for line in body[start:decided_line + 1]:
        if taken and (_REASONING.match(line) or _labels_another_field(line)):
            break
        taken.append(line)
    return clean_text("\n".join(taken))


def _labels_another_field(line: str) -> bool:
    """`处罚依据：…`, `处罚决定：…`: a line labelled with another field ends the labelled facts."""
    match = re.match(r"^\s*([^\s:：，。]{2,12})\s*[:：]", line)
    return bool(match) and field_of(match.group(1)) not in (None, OTHER, "violation")


_VIOLATION_LABEL = re.compile(r"^\s*(?:主要)?(?:生态)?(?:环境)?违法(?:违规)?(?:事实|行为)(?:和证据|及证据)?\s*[:：]\s*(.*)$")
# Where the facts end and the reasoning starts, in a decision without section headings.
_REASONING = re.compile(
    r"^\s*(?:[^。，]{0,20}上述(?:违法)?行为|以上行为|该行为|综上|根据|依据|按照|依照|鉴于|"
    r"(?:我|本)(?:会|局|厅|委|机关|所|院|大队|分局)认为|[^。，]{0,20}违反了|[^。]{0,20}(?:陈述|申辩|听证)(?:中|时|期间)?(?:提出|称))"
)


def _signature(tail: list[str]) -> tuple[str | None, str | None] | None:
    """(authority, ISO date) from the first short date line after the decision and the body name above it."""
    for i, line in enumerate(tail[:40]):
        if len(line) > _DATE_LINE or not all_dates(line):
            continue
        rest = _STAMP.sub("", re.sub(r"^(?:日期|时间|落款日期)[:：]", "", all_dates(line)[0].re.sub("", line))).strip(" ：:")
        if rest:
            continue  # a sentence with a date in it, not the signature's date line
        day = iso_date(line)
        authority = None
        for above in reversed(tail[max(0, i - 3) : i]):
            name = _STAMP.sub("", above).strip()
            if _ORG.match(name):
                authority = clean_line(name)
                break
        if authority is None and i + 1 < len(tail) and _ORG.match(_STAMP.sub("", tail[i + 1]).strip()):
            authority = clean_line(_STAMP.sub("", tail[i + 1]).strip())
        if authority is None and i > _NEAR_DECISION and not _CHINESE_DATE.search(line):
            continue  # a lone date far below the decision: a list of other pages, not the signature
        return authority, day
    return _signature_in_line(" ".join(tail[:40]))


_ORG_NAME = r"[\u4e00-\u9fa5（）()]{2,40}?(?:局|委员会|厅|办公室|政府|大队|支队|分局|中心|署|所|院|站|部|监督局|管理局)"


def _signature_in_line(text: str) -> tuple[str | None, str | None] | None:
    """The signature run into the text's last line: "…申请行政复议。 示例市生态环境局 2026年3月5日"."""
    for match in all_dates(text):
        after = _STAMP.sub("", text[match.end() : match.end() + 12]).strip()
        if after and not re.match(r"^[\s（(]", after):
            continue  # a date inside a sentence
        before = _STAMP.sub("", text[max(0, match.start() - 50) : match.start()]).rstrip()
        org = re.search(r"(?:^|[。；;\s])(" + _ORG_NAME + r")$", before)
        if org is None:
            continue
        return clean_line(org.group(1)), iso_date(match.group(0))
    return None


__all__ += ["clean_code", "clean_number"]
