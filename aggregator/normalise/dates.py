"""Dates as printed on Chinese news pages, parsed into aware datetimes.

Hand-written regexes instead of dateparser: they cover the formats of this
field (`2023-04-23`, `[2023-04-23]`, `2023年4月19日 09:42`, `2007-08-20-23:59:59`,
ISO 8601, RFC 822, `3分钟前`, `昨天 10:20`, `04-23`) and run in microseconds.

Rules: naive times are in the source's zone; a date without a time is midnight
local time; dates more than a day in the future or before 1990 are rejected;
no date means None, never "now".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

__all__ = ["parse_date", "find_date", "find_date_span", "plausible", "is_relative", "has_zone", "FUTURE_TOLERANCE", "MIN_YEAR"]

FUTURE_TOLERANCE = timedelta(days=1)
MIN_YEAR = 1990

# Optional time after a date: "09:42", "09:42:56", "9时42分", ISO "T09:42:56.123Z",
# and the odd "2007-08-20-23:59:59". The separator may be missing ("2019年06月15日08:18").
# A 12-hour clock says so: "下午 2:49", "2:49 pm", "at 下午 11:35" (WordPress in Chinese); a
# weekday may sit between the date and the time ("2024年5月22日週三 上午8:21", "(星期三) 08:21").
_TIME = (
    r"(?:[\sT\-]|&nbsp;|\u3000)*(?:[(（]?(?:星期|周|週|礼拜|禮拜)[一二三四五六日天][)）]?\s*)?(?:at\s*)?"
    r"(?:(?P<CN>上午|下午|晚上|中午|凌晨|早上|傍晚)\s*)?"
    r"(?P<H>[01]?\d|2[0-3])\s*[:：时]\s*(?P<M>[0-5]\d)(?!\d)"
    r"(?:\s*[:：分]\s*(?P<S>[0-5]\d)(?!\d)(?:[.,](?P<F>\d{1,9}))?\s*秒?|\s*分)?"
    r"(?:\s*(?P<AP>[ap])\.?m\b\.?)?"
    r"(?:\s*(?P<TZ>Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d|(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?)(?![\w]))?"
)
_FULL_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*"
    r"(?:(?P<sep>[-/.])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})(?!\d)"
    r"|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})(?:\s*[日号]|(?!\d)))"
    r"(?:" + _TIME + r")?",
    re.IGNORECASE,
)
# Month and day only ("04-23", "4月23日"); the year is inferred.
_MONTH_DAY = re.compile(
    r"(?<![\d年/.\-])(?P<m>\d{1,2})\s*(?:(?P<sep>[-/])\s*|月\s*)(?P<d>\d{1,2})(?(sep)|\s*[日号]?)"
    r"(?![\d/\-])(?:" + _TIME + r")?"
)
_RELATIVE = re.compile(
    r"(?P<n>\d+|半|一|两)\s*(?P<u>秒钟?|分钟|分|小时|个小时|钟头|天|日|周|星期|个?月)\s*(?:以?前)"
    r"|(?P<en>\d+)\s*(?P<eu>second|sec|minute|min|hour|hr|day|week)s?\s+ago",
    re.IGNORECASE,
)
_DAY_WORD = re.compile(
    r"(?P<w>今天|今日|昨天|昨日|前天|yesterday|today)"
    r"(?:\s*(?P<H>[01]?\d|2[0-3])\s*[:：]\s*(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?)?",
    re.IGNORECASE,
)
_JUST_NOW = re.compile(r"刚刚|刚才|just now", re.IGNORECASE)
# A month by name with an ordinal or plain day: `十一月 6th, 2009`, `星期三, 一月 12th, 2011`
# (WordPress in a Chinese locale names the month in Chinese and keeps the English day),
# `Saturday, September 10th, 2005 10:56 am`, `6 November 2009`, `Nov. 6, 2009`.
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    "一月": 1, "二月": 2, "三月": 3, "四月": 4, "五月": 5, "六月": 6, "七月": 7, "八月": 8, "九月": 9, "十月": 10, "十一月": 11, "十二月": 12,
}
_MONTH_NAME = (
    r"(?:(?<![〇零一二三四五六七八九十\d])(?P<{0}>十[一二]?月|[一二三四五六七八九]月|(?:1[0-2]|0?[1-9])月(?=\s*\d+(?:st|nd|rd|th|\s*,\s*(?:19|20)\d\d)))"
    r"|(?<![A-Za-z])(?P<{0}e>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?)"
)
_ORDINAL_DAY = r"(?P<{0}>[0-3]?\d)(?:st|nd|rd|th)?(?![\d:])"
_CLOCK = r"(?:\s*[,@]?" + _TIME + r")?"
_WEEKDAY = r"(?:(?:星期|周|礼拜)[一二三四五六日天]|(?:mon|tues|wednes|thurs|fri|satur|sun)day|mon|tue|wed|thu|fri|sat|sun)\.?\s*,?\s*"
_NAMED_MONTH_DATE = re.compile(
    r"(?:" + _WEEKDAY + r")?(?:" + _MONTH_NAME.format("mon") + r"\s*" + _ORDINAL_DAY.format("d") + r"\s*,?\s*(?P<y>(?:19|20)\d{2})"
    r"|(?<!\d)" + _ORDINAL_DAY.format("d2") + r"\s+(?:of\s+)?" + _MONTH_NAME.format("mon2") + r"\s*,?\s*(?P<y2>(?:19|20)\d{2})"
    r")(?!\d)" + _CLOCK,
    re.IGNORECASE,
)
# Dates in Chinese numerals, as official documents sign them: `二〇二二年一月二十七日`.
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_DATE = re.compile(
    r"(?P<y>[〇零○Ｏ一二三四五六七八九]{4})\s*年\s*(?P<m>十[一二]?|[一二三四五六七八九])\s*月"
    r"\s*(?P<d>三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])\s*[日号]"
)
# Labels and brackets around a date that is otherwise the whole string.
_WRAPPER = re.compile(
    r"^[\s\[\]【】()（）<>《》:：|]*(?:(?:发布|更新|发稿|成文)?(?:时间|日期)\s*[:：]\s*)?"
    r"|[\s\[\]【】()（）<>《》|]*$"
)
_RFC822_HINT = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_UNIT_SECONDS = {
    "秒": 1, "秒钟": 1, "分钟": 60, "分": 60, "小时": 3600, "个小时": 3600, "钟头": 3600,
    "天": 86400, "日": 86400, "周": 7 * 86400, "星期": 7 * 86400, "月": 30 * 86400, "个月": 30 * 86400,
    "second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600,
    "day": 86400, "week": 7 * 86400,
}
_DAY_OFFSET = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1, "前天": 2}


_ZONE_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:UTC|GMT|UT)(?:[+-]\d{1,2}(?::?\d{2})?)?)\s*$", re.IGNORECASE)


def is_relative(text: str) -> bool:
    """"3小时前", "昨天 10:20", "刚刚": a time that moves with the moment the page was read."""
    return bool(_RELATIVE.search(text) or _DAY_WORD.search(text) or _JUST_NOW.search(text))


def has_zone(text: str) -> bool:
    """True when a printed time names its offset (Z, +08:00, +0800, GMT, UTC+8)."""
    return bool(_ZONE_SUFFIX.search(text.strip()))


def _aware_now(now: datetime, tz: tzinfo) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=tz)


def plausible(moment: datetime, now: datetime) -> datetime | None:
    """None for a date in the future or before MIN_YEAR: a parse error or a typo upstream."""
    if moment.year < MIN_YEAR or moment > now + FUTURE_TOLERANCE:
        return None
    return moment


def _offset(text: str) -> tzinfo | None:
    """A fixed zone from `Z`, `+08:00`, `+0800`, `UTC+8`, `GMT`; None when absent or odd."""
    text = text.upper()
    if text in ("Z", "UTC", "GMT"):
        return timezone.utc
    if text.startswith(("UTC", "GMT")):
        text = text[3:]
    match = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", text)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))


def _build(match: re.Match[str], year: int, month: int, day: int, tz: tzinfo) -> datetime | None:
    """The datetime a date(+time) match describes, or None when a field is out of range."""
    groups = match.groupdict()
    hour = int(groups["H"]) if groups.get("H") else 0
    half = (groups.get("AP") or "").lower() or groups.get("CN")
    if half and hour <= 12:  # 12 am is midnight, 12 pm noon; 中午 1:00 is 13:00
        if half in ("p", "下午", "晚上", "傍晚") or (half == "中午" and hour < 11):
            hour = hour % 12 + 12
        elif half in ("a", "上午", "凌晨", "早上"):
            hour %= 12
    minute = int(groups["M"]) if groups.get("M") else 0
    second = int(groups["S"]) if groups.get("S") else 0
    micro = int((groups.get("F") or "0")[:6].ljust(6, "0"))
    zone = tz
    if groups.get("TZ"):
        zone = _offset(groups["TZ"]) or tz
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except ValueError:  # 2023-02-30 and friends: not a date after all
        return None


def _from_full(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    month = match.group("m") or match.group("m2")
    day = match.group("d") or match.group("d2")
    moment = _build(match, int(match.group("y")), int(month), int(day), tz)
    return plausible(moment, now) if moment else None


def _from_month_day(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    # The latest such date that is not in the future: 12-31 read in January is last year's.
    local_now = now.astimezone(tz)
    for year in (local_now.year, local_now.year - 1):
        moment = _build(match, year, int(match.group("m")), int(match.group("d")), tz)
        if moment is None:
            if year == local_now.year:
                continue  # 02-29 in a non-leap year may fit the year before
            return None
        if moment <= now + FUTURE_TOLERANCE:
            return plausible(moment, now)
    return None


def _month_number(name: str) -> int:
    name = name.lower()
    if name[0].isdigit():  # "9月" before an ordinal day
        return int(name[:-1])
    return _MONTHS.get(name) or _MONTHS[name[:3]]


def _from_named_month(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    month = match.group("mon") or match.group("mone") or match.group("mon2") or match.group("mon2e")
    day = int(match.group("d") or match.group("d2"))
    year = int(match.group("y") or match.group("y2"))
    moment = _build(match, year, _month_number(month), day, tz)
    return plausible(moment, now) if moment else None


def _cn_number(text: str) -> int:
    """`二十七` → 27, `十` → 10, `三` → 3 (days and months only)."""
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _from_cn_date(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    year = int("".join(str(_CN_DIGITS[char]) for char in match.group("y")))
    try:
        moment = datetime(year, _cn_number(match.group("m")), _cn_number(match.group("d")), tzinfo=tz)
    except ValueError:
        return None
    return plausible(moment, now)


def _from_relative(match: re.Match[str], now: datetime) -> datetime | None:
    if match.group("en"):
        amount = float(match.group("en"))
        unit = match.group("eu").lower()
    else:
        raw = match.group("n")
        amount = {"半": 0.5, "一": 1.0, "两": 2.0}.get(raw) or float(raw)
        unit = match.group("u")
    seconds = amount * _UNIT_SECONDS[unit]
    if seconds > 400 * 86400:
        return None
    # "26分钟前" is minute-precise at best: seconds and microseconds of the poll are noise.
    return plausible((now - timedelta(seconds=seconds)).replace(second=0, microsecond=0), now)


def _from_day_word(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    local = now.astimezone(tz) - timedelta(days=_DAY_OFFSET[match.group("w").lower()])
    hour = int(match.group("H") or 0)
    minute = int(match.group("M") or 0)
    second = int(match.group("S") or 0)
    return datetime(local.year, local.month, local.day, hour, minute, second, tzinfo=tz)


_CST = re.compile(r"\s+CST\s*$", re.IGNORECASE)
_UTC8 = timedelta(hours=8)


def _rfc822(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    # Chinese CMSs write "CST" for China Standard Time; email.utils reads US Central (-06:00).
    if _CST.search(text) and now.astimezone(tz).utcoffset() == _UTC8:
        text = _CST.sub(" +0800", text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": the zone is unknown; the source's is the best guess
        moment = moment.replace(tzinfo=tz)
    return plausible(moment, now)


def parse_date(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The date `text` is (labels such as `发布时间：` and brackets allowed), or None."""
    if not text or len(text) > 200:
        return None
    now = _aware_now(now, tz)
    core = _WRAPPER.sub("", text.replace("\xa0", " "))
    if not core:
        return None
    if match := _FULL_DATE.fullmatch(core):
        return _from_full(match, tz, now)
    if match := _MONTH_DAY.fullmatch(core):
        return _from_month_day(match, tz, now)
    if match := _NAMED_MONTH_DATE.fullmatch(core):
        return _from_named_month(match, tz, now)
    if match := _CN_DATE.fullmatch(core):
        return _from_cn_date(match, tz, now)
    if match := _RELATIVE.fullmatch(core):
        return _from_relative(match, now)
    if match := _DAY_WORD.fullmatch(core):
        return plausible(_from_day_word(match, tz, now), now)
    if _JUST_NOW.fullmatch(core):
        return now
    if _RFC822_HINT.search(core):
        return _rfc822(core, tz, now)
    return None


def find_date(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The first plausible date inside a longer text (`来源：人民日报2024-05-13 08:49`), or None.

    Full dates win over relative ones, which win over month-day-only dates,
    because a bare `4月19日` inside a sentence is often not the publication date.
    """
    found = find_date_span(text, tz, now)
    return found[0] if found else None


def find_date_span(text: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, str] | None:
    """Like find_date, with the text of the date as printed (for `published_text`)."""
    if not text:
        return None
    now = _aware_now(now, tz)
    text = text.replace("\xa0", " ")
    for match in _FULL_DATE.finditer(text):
        moment = _from_full(match, tz, now)
        if moment is not None:
            return moment, match.group(0).strip()
    # Cheap guards first: this runs on many short texts that hold no date at all.
    named = "月" in text or _RFC822_HINT.search(text) is not None
    for pattern, build, wanted in ((_NAMED_MONTH_DATE, _from_named_month, named), (_CN_DATE, _from_cn_date, "年" in text)):
        for match in pattern.finditer(text) if wanted else ():
            moment = build(match, tz, now)
            if moment is not None:
                return moment, match.group(0).strip()
    if match := _JUST_NOW.search(text):
        return now, match.group(0)
    if match := _RELATIVE.search(text):
        moment = _from_relative(match, now)
        if moment is not None:
            return moment, match.group(0)
    if match := _DAY_WORD.search(text):
        moment = plausible(_from_day_word(match, tz, now), now)
        return (moment, match.group(0).strip()) if moment else None
    for match in _MONTH_DAY.finditer(text):
        moment = _from_month_day(match, tz, now)
        if moment is not None:
            return moment, match.group(0).strip()
    if _RFC822_HINT.search(text):
        moment = _rfc822(text.strip(), tz, now)
        return (moment, text.strip()) if moment else None
    return None
