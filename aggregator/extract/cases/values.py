"""From labelled values (field -> text as printed) to a Case: cleaning, and the gate that says
whether the values are a decision at all."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ...models import Case
from .labels import FINE_IN_WAN, FINE_LABEL, find_date, iso_date
from .money import amount_yuan, fine_yuan

__all__ = ["clean_code", "clean_line", "clean_text", "make_case", "penalty_fine"]

# What tables print for "nothing": /, 无, —— …
_EMPTY = re.compile(r"^[\s/\\\-—–_－·.。无空暂无略/]*$|^(?:无|暂无|空|不涉及|/|－)$")
_CODE = re.compile(r"[0-9A-Za-z]{8,20}(?:-[0-9A-Za-z])?")
_WS = re.compile(r"\s+")
_CJK_BREAK = re.compile(r"(?<=[\u4e00-\u9fff])[ \t]*\n\s*(?=[\u4e00-\u9fff])")


def clean_line(value: str | None) -> str | None:
    """A short field: one line, whitespace runs made one space."""
    if value is None or _EMPTY.match(value):
        return None
    # Two paragraphs of one cell (平潭综合实验区 / 社会事业局) are one name: Chinese joins without a space.
    value = _CJK_BREAK.sub("", value)
    value = _WS.sub(" ", value).strip(" ：:，,；;。")
    return value or None


def clean_text(value: str | None) -> str | None:
    """A long field (违法事实, 依据, 处罚内容): lines kept, blank lines dropped."""
    if value is None or _EMPTY.match(value):
        return None
    lines = [" ".join(line.split()) for line in value.split("\n")]
    value = "\n".join(line for line in lines if line).strip()
    return value or None


def clean_code(value: str | None) -> str | None:
    """The 统一社会信用代码 as printed, uppercase; None for anything that is no code."""
    if value is None:
        return None
    compact = value.translate(_FULL_WIDTH)
    match = _CODE.search(compact.replace(" ", ""))
    return match.group(0).upper() if match else None


_FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})
_NUMBER_SHAPE = re.compile(r"[〔\[［(（【]\s*(?:19|20)\d{2}\s*[〕\]］)）】]|(?:19|20)\d{2}.{0,6}号|第\s*\S{1,12}\s*号|\d+\s*号")


def clean_number(value: str | None) -> str | None:
    value = clean_line(value)
    if value is None or not _NUMBER_SHAPE.search(value):
        return None
    return value


def clean_party(value: str | None) -> str | None:
    """The party's name only: an address or representative written after it is cut."""
    value = clean_line(value)
    if value is None:
        return None
    value = re.split(r"\s*[（(，,；;]\s*(?:统一社会信用代码|社会信用代码|注册号|住所|地址|法定代表人|负责人|经营者|身份证|以下简称|下称)", value)[0]
    # A name has no comma: what follows one describes the party (，男，1970年出生，住…).
    value = re.split(r"\s*[，,；;]\s*", value)[0]
    value = re.split(r"\s+(?:统一社会信用代码|住所|地址|法定代表人)[:：]", value)[0]
    # A role or an ID after a person's name: 陈首伟（时任…副总经理）. A company's own brackets
    # (…（上海）有限公司, （有限合伙）) stay.
    value = re.sub(r"\s*[（(][^（）()]*(?:时任|曾任|现任|职务|经理|董事|主管|负责人|员工|身份证|住所|地址|信用代码)[^（）()]*[)）]\s*$", "", value)
    # A person named with their unit: 蒋某（广发银行股份有限公司资产托管部）. A name of two to four
    # characters that is no organisation's keeps the name only.
    person = re.match(r"^([\u4e00-\u9fff]{2,4})\s*[（(].*[)）]$", value)
    if person and not _ORGANISATION.search(person.group(1)):
        value = person.group(1)
    return value.strip() or None


_ORGANISATION = re.compile(r"(?:公司|局|厂|店|部|中心|社|所|行|院|站|场|会|队|处|园|馆|校)$")


def split_authority(value: str | None) -> tuple[str | None, str | None]:
    """A 机关名称和日期 cell (平潭综合实验区社会事业局2022年12月16日): the body, and the date's text."""
    authority = clean_line(value)
    if authority is None:
        return None, None
    match = find_date(authority)
    if match is None or match.start() == 0:
        return authority, None
    return clean_line(authority[: match.start()]), match.group(0)


def penalty_fine(penalty: str | None, fine: str | None = None, in_wan: bool = False) -> int | None:
    """The fine: from a 罚款金额 column when there is one, else from the penalty's text."""
    if fine is not None and not _EMPTY.match(fine):
        text = fine.strip()
        if in_wan:
            try:
                return int((Decimal(re.sub(r"[,，\s]", "", text.removesuffix("万元").removesuffix("万"))) * 10_000).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
            except InvalidOperation:
                return None
        if re.fullmatch(r"[\d,，.]+", text):
            text += "元"
        return amount_yuan(text)
    return fine_yuan(penalty)


def make_case(values: dict[str, str], *, pairs: bool = False) -> Case | None:
    """A Case from labelled values, or None when they are not a decision: a party or a 文号, and
    what was decided or why (penalty, violation, basis, a fine). Pairs tables (one label beside
    each value) must name three fields, so a record table (索引号 | 文号 | 发布机构) never passes."""
    authority, dated = split_authority(values.get("authority"))
    case = Case(
        number=clean_number(values.get("number")),
        party=clean_party(values.get("party")),
        credit_code=clean_code(values.get("credit_code")),
        violation=clean_text(values.get("violation")),
        basis=clean_text(values.get("basis")),
        penalty=clean_text(values.get("penalty")),
        fine_yuan=penalty_fine(values.get("penalty"), values.get(FINE_LABEL) or values.get(FINE_IN_WAN), FINE_IN_WAN in values and FINE_LABEL not in values),
        date=iso_date(values.get("date") or dated),
        authority=authority,
    )
    if not (case.party or case.number):
        return None
    if not (case.penalty or case.violation or case.basis or case.fine_yuan is not None):
        return None
    named = sum(getattr(case, name) is not None for name in ("number", "party", "credit_code", "violation", "basis", "penalty", "date", "authority"))
    if pairs and named < 3:
        return None
    return case
