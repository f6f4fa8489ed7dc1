"""Amounts of money in penalty texts, and the total fine they decide.

`fine_yuan` reads only amounts tied to 罚款 (an amount after 罚款, or "处…元(的)罚款"); 没收违法所得,
a law's range quoted in the basis (处二万元以上二十万元以下的罚款), an amount restated in brackets
(叁万元整（¥30,000）) and a proposed fine (拟…) are not fines. An amount it cannot read makes the whole
answer None: a wrong number on a reader's screen is worse than none.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["amount_yuan", "chinese_number", "fine_yuan"]

_DIGITS = {
    "零": 0, "〇": 0, "○": 0, "Ｏ": 0, "O": 0,
    "一": 1, "壹": 1, "幺": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "叁": 3, "參": 3, "叄": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
CHINESE_NUMERAL = "".join(_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)


def chinese_number(text: str) -> int | None:
    """壹拾贰万 -> 120000, 二〇二四 -> 2024 (digit by digit when there are no units), 十五 -> 15;
    None for anything that is not a well-formed numeral."""
    text = text.strip()
    if not text:
        return None
    if all(ch in _DIGITS for ch in text):  # 二〇二四: read digit by digit
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = 0  # finished groups (亿, 万)
    group = 0  # the current group below 万
    digit: int | None = None
    last_small = 10_000  # units must fall within a group: 三千五百, not 五百三千
    last_big = 10 ** 12
    last_unit = 0
    zero = False  # a 零 since the last unit: 三万零五 is 30005, 三万五 is colloquial 35000
    for ch in text:
        if ch in _DIGITS:
            if digit is not None and digit != 0 and _DIGITS[ch] != 0:
                return None  # two digits in a row without a unit: 三五 is not a number here
            digit = _DIGITS[ch]
            zero = zero or digit == 0
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_small:
                return None
            group += (1 if digit is None else digit) * unit  # 十五 = 15
            digit, last_small, last_unit, zero = None, unit, unit, False
        elif ch in _BIG_UNITS:
            unit = _BIG_UNITS[ch]
            if unit >= last_big:
                return None
            group += digit or 0
            if group == 0:
                return None
            total += group * unit
            group, digit, last_small, last_big, last_unit, zero = 0, None, 10_000, unit, unit, False
        else:
            return None
    if digit and last_unit > 10 and not zero:
        return None  # 三万五 / 三千五: 35000 to a speaker, 30005 to a parser; say nothing
    return total + group + (digit or 0)


# An amount: Arabic (1,234.5 / 35.6万 / 1.2亿) or a Chinese numeral, with 元; 角/分 after 元 are read too.
# Bounded runs: an amount is short, and unbounded ones make a hostile run of digits quadratic.
_ARABIC = r"\d{1,3}(?:[,，]\d{3}){1,5}(?:\.\d{1,4})?|\d{1,15}(?:\.\d{1,4})?"
_AMOUNT = re.compile(
    r"(?:人民币|RMB|¥|￥)?\s*[:：]?\s*"
    r"(?:(?<![\d.,，" + CHINESE_NUMERAL + r"])(?P<arabic>" + _ARABIC + r")\s*(?P<scale>[万萬亿億千仟])?"
    r"|(?<![\d.,，" + CHINESE_NUMERAL + r"])(?P<chinese>[" + CHINESE_NUMERAL + r"]{1,24}))"
    r"\s*(?:元|圆)(?P<cents>(?:[" + CHINESE_NUMERAL + r"\d]角)?(?:[" + CHINESE_NUMERAL + r"\d]分)?)(?:整|正)?"
)
_SCALES = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000, "千": 1000, "仟": 1000}


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _cents(text: str) -> Decimal | None:
    value = Decimal(0)
    for amount, unit in re.findall(r"(.)([角分])", text):
        number = int(amount) if amount.isdigit() else _DIGITS.get(amount)
        if number is None:
            return None
        value += Decimal(number) / (10 if unit == "角" else 100)
    return value


def _value(match: re.Match[str]) -> Decimal | None:
    """The exact amount of one _AMOUNT match, or None when it cannot be read."""
    if match.group("arabic"):
        try:
            value = Decimal(re.sub(r"[,，]", "", match.group("arabic")))
        except InvalidOperation:
            return None
        if match.group("scale"):
            value *= _SCALES[match.group("scale")]
    else:
        numeral = match.group("chinese")
        number = chinese_number(numeral)
        if number is None or (len(numeral) > 1 and all(ch in _DIGITS for ch in numeral)):  # 一二三 is no amount
            return None
        value = Decimal(number)
    cents = _cents(match.group("cents") or "")
    return None if cents is None else value + cents


def amount_yuan(text: str) -> int | None:
    """The one amount `text` states (35.6万元, 壹拾贰万元整, 1,234.5元), in whole yuan; a bare number
    with no 元 is None."""
    match = _AMOUNT.search(text)
    if match is None:
        return None
    value = _value(match)
    return None if value is None else _round(value)


# Clause ends: an amount belongs to the 罚款 of its own clause.
_CLAUSE_END = re.compile(r"[。；;！？]")
_FINE = "罚款"
# Words that, nearer before an amount than 罚款, make it something else.
_OTHER_MONEY = re.compile(r"没收|违法所得|货值|销售额|营业额|收入|价款|经营额|金额为|成本|获利|缴纳|滞纳金|赔偿|退还|补缴|税款|上缴")
_RANGE_AFTER = re.compile(r"\s*(?:以上|以下|至|到|~|～|－|—|-|以内|不等)")
_RESTATED = re.compile(r"[（(]\s*(?:大写|小写)?\s*[:：]?\s*$")
# A fine proposed, not decided (事先告知书, 听证告知书) or a daily fine's base.
_PROPOSED = re.compile(r"拟|建议|可处|可以处|应当处|并处.{0,4}以上")
_AFTER_FINE = re.compile(r"\s*(?:的)?\s*罚\s*款")
# Words that mean the fine was written into a bigger "total" already given.
_TOTAL = re.compile(r"(?:合计|共计|总计|累计)[^，,。；]{0,8}$")
# A numeral and 元 straight after an amount (叁万元零伍拾元): the amount goes on ("1.罚款5万元2.没收…" does not).
_CONTINUED = re.compile(r"[" + CHINESE_NUMERAL + r"]{1,24}(?:元|圆)")
# An unreadable amount: digits or numerals followed by 元 that _AMOUNT rejects.
_LOOSE_AMOUNT = re.compile(r"[\d" + CHINESE_NUMERAL + r"][\d" + CHINESE_NUMERAL + r".,，点]{0,24}\s*元")


def fine_yuan(text: str | None) -> int | None:
    """The total fine `text` decides, in whole yuan (0.5 and up rounds up), or None when it states
    none or one it cannot read."""
    if not text or _FINE not in text:
        return None
    fines: list[Decimal] = []
    since_total = 0  # fines[since_total:] are the ones a later 合计 may sum up
    for clause in _clauses(text):
        if _FINE not in clause:
            continue
        last_end = 0
        found = False
        for match in _AMOUNT.finditer(clause):
            before = clause[last_end : match.start()]
            after = clause[match.end() :]
            if _RANGE_AFTER.match(after) or re.search(r"(?:以上|以下|至|到|~|～|－|—|-)(?:人民币)?$", before):
                last_end = match.end()
                continue  # a range quoted from the law, not a decision
            if last_end and _RESTATED.search(before) and found:
                last_end = match.end()
                continue  # the amount just given, restated in brackets
            fine_at = before.rfind(_FINE)
            other = list(_OTHER_MONEY.finditer(before))
            tied_before = fine_at >= 0 and not (other and other[-1].start() > fine_at)
            tied_after = bool(_AFTER_FINE.match(after)) and not (other and other[-1].end() >= len(before) - 2)
            last_end = match.end()
            if not (tied_before or tied_after):
                continue
            if _PROPOSED.search(clause[: match.start()][-30:]) and "决定" not in clause[: match.start()]:
                return None  # a proposal, not a decision: say nothing rather than a wrong number
            value = _value(match)
            if value is None or _CONTINUED.match(after):
                return None  # 叁万元零伍拾元: an amount that goes on after its 元 is not read in part
            found = True
            if _TOTAL.search(before):
                pending = fines[since_total:]
                if pending and sum(pending, Decimal(0)) != value:
                    return None  # a total that is not the sum of the fines before it: unclear
                if not pending:
                    fines.append(value)  # the total first, its parts ("其中…") after it carry no 罚款
                since_total = len(fines)
            else:
                fines.append(value)
        # An amount after 罚款 that the reader above did not take: unreadable, so no answer.
        tail = clause[clause.find(_FINE) :]
        if not found and _LOOSE_AMOUNT.search(tail[:30]) and not _AMOUNT.search(tail[:40]):
            return None
    if not fines:
        return None
    return _round(sum(fines, Decimal(0)))


def _clauses(text: str) -> list[str]:
    """Sentences and clauses, whitespace removed (Word-made cells print "罚款 158 万元")."""
    return [part for part in (_WS.sub("", part) for part in _CLAUSE_END.split(text)) if part]


_WS = re.compile(r"\s+")
