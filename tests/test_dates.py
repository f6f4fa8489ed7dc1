"""Dates as printed on Chinese news pages -> aware datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.normalise.dates import find_date, find_date_span, parse_date

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SH)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-04-23", at(2023, 4, 23)),
        ("[2023-04-23]", at(2023, 4, 23)),
        ("(2020-08-16 22:26:38)", at(2020, 8, 16, 22, 26, 38)),
        ("2023/4/23", at(2023, 4, 23)),
        ("2023.4.23", at(2023, 4, 23)),
        ("2023年4月19日", at(2023, 4, 19)),
        ("2023年04月19日 09:42", at(2023, 4, 19, 9, 42)),
        ("2019年06月15日08:18", at(2019, 6, 15, 8, 18)),
        ("2023年4月19日 9时30分", at(2023, 4, 19, 9, 30)),
        ("2023-11-12 09:42:56", at(2023, 11, 12, 9, 42, 56)),
        ("2007-08-20-23:59:59", at(2007, 8, 20, 23, 59, 59)),
        ("发布时间：2023-04-23", at(2023, 4, 23)),
        (" 2023-04-23\u00a0", at(2023, 4, 23)),
        ("刚刚", NOW),
        ("3分钟前", NOW - timedelta(minutes=3)),
        ("2小时前", NOW - timedelta(hours=2)),
        ("5天前", NOW - timedelta(days=5)),
        ("昨天 10:20", at(2024, 5, 31, 10, 20)),
        ("前天", at(2024, 5, 30)),
        ("今天 08:00", at(2024, 6, 1, 8, 0)),
        ("04-23", at(2024, 4, 23)),
        ("4月23日", at(2024, 4, 23)),
        ("12-31", at(2023, 12, 31)),  # not yet this year: last year's
    ],
)
def test_parse_date_formats(text: str, expected: datetime) -> None:
    assert parse_date(text, SH, NOW) == expected


def test_offsets_are_kept_and_naive_times_are_in_the_source_zone() -> None:
    assert parse_date("2023-04-23T09:42:56+00:00", SH, NOW) == datetime(2023, 4, 23, 9, 42, 56, tzinfo=timezone.utc)
    assert parse_date("2023-04-23T09:42:56.123Z", SH, NOW) == datetime(2023, 4, 23, 9, 42, 56, 123000, tzinfo=timezone.utc)
    assert parse_date("Mon, 13 May 2024 08:49:00 +0800", SH, NOW).isoformat() == "2024-05-13T08:49:00+08:00"  # type: ignore[union-attr]
    assert parse_date("2023-11-12 09:42:56", SH, NOW).isoformat() == "2023-11-12T09:42:56+08:00"  # type: ignore[union-attr]
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_date("2023-04-23 10:00", berlin, NOW).isoformat() == "2023-04-23T10:00:00+02:00"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["", "hello", "2025-04-23", "1985-01-01", "2023-02-30", "2023-13-01", "来源：人民日报", "99:99"])
def test_no_date_future_dates_and_impossible_dates_give_none(text: str) -> None:
    assert parse_date(text, SH, NOW) is None


def test_date_only_stays_midnight_local_time() -> None:
    assert parse_date("2023-04-23", SH, NOW).isoformat() == "2023-04-23T00:00:00+08:00"  # type: ignore[union-attr]


def test_tomorrow_is_tolerated_but_not_later() -> None:
    assert parse_date("2024-06-02", SH, NOW) == at(2024, 6, 2)
    assert parse_date("2024-06-03", SH, NOW) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("来源：人民日报2024-05-13 08:49", at(2024, 5, 13, 8, 49)),
        ("时间:2023-11-12 09:42:56   来源:  作者:  点击:", at(2023, 11, 12, 9, 42, 56)),
        ("发稿时间：2024-05-13 06:03:00\n来源：中国青年报", at(2024, 5, 13, 6, 3)),
        ("浏览 2023-13-45 then 2022-01-02", at(2022, 1, 2)),
        ("更新于 3小时前", NOW - timedelta(hours=3)),
        ("no date here", None),
    ],
)
def test_find_date_in_longer_text(text: str, expected: datetime | None) -> None:
    assert find_date(text, SH, NOW) == expected


def test_find_date_span_returns_the_printed_text() -> None:
    assert find_date_span("(2020-08-16 22:26:38)[社会]", SH, NOW) == (at(2020, 8, 16, 22, 26, 38), "2020-08-16 22:26:38")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_raises_and_gives_aware_or_none(text: str) -> None:
    for result in (parse_date(text, SH, NOW), find_date(text, SH, NOW)):
        assert result is None or result.tzinfo is not None
        assert result is None or result <= NOW + timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2024, 5, 31)))
def test_printed_dates_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    for text in (moment.strftime("%Y-%m-%d %H:%M:%S"), moment.strftime("%Y年%m月%d日 %H:%M:%S")):
        assert parse_date(text, SH, NOW) == moment.replace(tzinfo=SH)
        assert find_date(f"发布时间：{text} 来源：", SH, NOW) == moment.replace(tzinfo=SH)


def test_cst_in_a_chinese_source_means_china_standard_time() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    moment = parse_date("Wed, 01 May 2024 09:42:56 CST", ZoneInfo("Asia/Shanghai"), now)
    assert moment is not None and moment.isoformat() == "2024-05-01T09:42:56+08:00"
    # Elsewhere it keeps its US meaning.
    chicago = parse_date("Wed, 01 May 2024 09:42:56 CST", ZoneInfo("America/Chicago"), now)
    assert chicago is not None and chicago.utcoffset() == timedelta(hours=-6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # WordPress in a Chinese locale: the month in Chinese, the day with its English ordinal.
        ("十一月 6th, 2009", at(2009, 11, 6)),
        ("星期三, 一月 12th, 2011", at(2011, 1, 12)),
        ("十二月 31st, 2023 12:05 am", at(2023, 12, 31, 0, 5)),
        ("Saturday, September 10th, 2005   10:56 am", at(2005, 9, 10, 10, 56)),
        ("September 10th, 2005 10:56 pm", at(2005, 9, 10, 22, 56)),
        ("Nov. 6, 2009", at(2009, 11, 6)),
        ("6 November 2009", at(2009, 11, 6)),
        ("2nd of May 2019", at(2019, 5, 2)),
        ("三月 3rd, 2015 at 下午 2:49", at(2015, 3, 3, 14, 49)),
        ("9月 3rd, 2015", at(2015, 9, 3)),
        ("9月 3, 2015", at(2015, 9, 3)),
        # Official documents sign with Chinese numerals.
        ("二〇二二年一月二十七日", at(2022, 1, 27)),
        ("二〇二三年十二月三十一日", at(2023, 12, 31)),
        ("二○一九年十月十日", at(2019, 10, 10)),
    ],
)
def test_month_names_ordinal_days_and_chinese_numerals(text: str, expected: datetime) -> None:
    assert parse_date(text, SH, NOW) == expected
    found = find_date_span(f"发表于 {text} 阅读(12)", SH, NOW)
    assert found is not None and found[0] == expected


def test_named_month_dates_keep_an_offset_and_reject_impossible_days() -> None:
    assert find_date("Sat, 10 Sep 2005 10:56:00 +0000", SH, NOW) == datetime(2005, 9, 10, 10, 56, tzinfo=timezone.utc)
    assert parse_date("二月 30th, 2023", SH, NOW) is None
    assert parse_date("十三月 3rd, 2023", SH, NOW) is None
    assert parse_date("June 5th, 2030", SH, NOW) is None  # in the future


def test_numeric_dates_still_win_over_named_ones_in_a_longer_text() -> None:
    assert find_date("更新 2023-04-23 首发 April 1st, 2023", SH, NOW) == at(2023, 4, 23)
    assert find_date("一月 5 日，十二月的计划", SH, NOW) is None  # no year: not a named-month date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-04-23 下午3:05", at(2023, 4, 23, 15, 5)),
        ("2015 年 3 月 3 日 at 下午 11:35", at(2015, 3, 3, 23, 35)),
        ("2023-04-23 2:05 PM", at(2023, 4, 23, 14, 5)),
        ("2023-04-23 12:05 am", at(2023, 4, 23, 0, 5)),
        ("2023年4月23日 中午12:30", at(2023, 4, 23, 12, 30)),
        ("2023年4月23日 中午1:30", at(2023, 4, 23, 13, 30)),
        ("2023年4月23日 上午9:30", at(2023, 4, 23, 9, 30)),
        ("2023-04-23 21:05", at(2023, 4, 23, 21, 5)),
        ("2024年5月22日週三 上午8:21", at(2024, 5, 22, 8, 21)),
        ("2024年5月20日(星期一) 下午2:05", at(2024, 5, 20, 14, 5)),
    ],
)
def test_twelve_hour_clocks(text: str, expected: datetime) -> None:
    assert parse_date(text, SH, NOW) == expected
