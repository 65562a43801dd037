"""The helpers every vendor converter shares: local times, SI numbers, units, unit ids."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from wats_converter.converters import (
    OHM,
    is_nan_reading,
    localize,
    parse_local_time,
    parse_si,
    round_noise,
    unit_id,
    unit_symbol,
)
from wats_converter.errors import ConversionError
from wats_converter.report import UUTReport

OSLO = "Europe/Oslo"


def test_an_ordinary_local_time_gets_the_offset_in_force_that_day() -> None:
    winter = localize(datetime(2025, 1, 15, 9, 0), OSLO)
    summer = localize(datetime(2025, 7, 15, 9, 0), OSLO)
    assert (winter.time.utcoffset(), winter.problem) == (timedelta(hours=1), None)
    assert (summer.time.utcoffset(), summer.problem) == (timedelta(hours=2), None)


def test_a_time_in_the_dst_gap_is_flagged_not_shifted_silently() -> None:
    local = localize(datetime(2025, 3, 30, 2, 30), OSLO)
    assert local.problem is not None and "DST gap" in local.problem and OSLO in local.problem
    assert local.time.replace(tzinfo=None) == datetime(2025, 3, 30, 2, 30)
    assert local.time.utcoffset() == timedelta(hours=1)  # the offset before the change


def test_a_time_in_the_repeated_hour_is_flagged_and_read_as_the_first() -> None:
    local = localize(datetime(2025, 10, 26, 2, 30), OSLO)
    assert local.problem is not None and "repeated" in local.problem
    assert local.time.astimezone(UTC) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)


def test_strict_refuses_a_doubtful_time_with_the_field() -> None:
    with pytest.raises(ConversionError, match=r"line 4, field 'start'.*DST gap"):
        localize(datetime(2025, 3, 30, 2, 30), OSLO, strict=True, line=4)


def test_the_problem_becomes_a_conversion_note_on_the_report() -> None:
    report = UUTReport(pn="P", sn="S")
    start = localize(datetime(2025, 3, 30, 2, 30), "America/Argentina/Buenos_Aires")
    assert start.problem is None  # no DST there in 2025
    gap = localize(datetime(2025, 3, 9, 2, 30), "America/New_York")
    report.start = gap.note_on(report)
    assert report.miscInfos is not None
    (note,) = report.miscInfos
    assert note.description == "wats-converter note" and "DST gap" in (note.text or "")
    assert len(note.text or "") <= 100


def test_an_unknown_zone_names_the_setting() -> None:
    with pytest.raises(ConversionError, match="unknown time zone 'Mars/Base'.*timezone"):
        localize(datetime(2025, 1, 1), "Mars/Base")


def test_no_zone_means_the_station_zone_with_its_rules() -> None:
    local = localize(datetime(2025, 1, 15, 9, 0), None)
    assert local.time.tzinfo is not None and local.time.utcoffset() is not None


def test_an_aware_time_is_kept_as_it_is() -> None:
    aware = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert localize(aware, OSLO).time is aware


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        ("12-MAR-19  14:05:00", ["%d-%b-%y %H:%M:%S"], datetime(2019, 3, 12, 14, 5)),
        ("12-mar-19 14:05:00", ["%d-%b-%y %H:%M:%S"], datetime(2019, 3, 12, 14, 5)),
        ("3/4/2021 08:00:01", ["%d/%m/%Y %H:%M:%S"], datetime(2021, 4, 3, 8, 0, 1)),
        ("3/4/2021 08:00:01", ["%m/%d/%Y %H:%M:%S"], datetime(2021, 3, 4, 8, 0, 1)),
        ("2021-03-04 08:00", ["%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"], datetime(2021, 3, 4, 8, 0)),
    ],
)
def test_day_first_and_month_first_dates(text: str, formats: list[str], expected: datetime) -> None:
    assert parse_local_time(text, formats, OSLO).time.replace(tzinfo=None) == expected


def test_a_time_that_matches_no_format_says_which_were_tried() -> None:
    with pytest.raises(ConversionError, match=r"line 2, field 'start': '31/31/2021' is not a time"):
        parse_local_time("31/31/2021", ["%d/%m/%Y"], OSLO, line=2)


@pytest.mark.parametrize(
    ("text", "m_means", "expected"),
    [
        ("100.20007K", "mega", 100200.07),
        ("45.1MEG", "milli", 45_100_000.0),
        ("520.747483M", "milli", 0.520747483),
        ("520.747483M", "mega", 520_747_483.0),
        ("4.7u", "mega", 4.7e-6),
        ("4.7µ", "mega", 4.7e-6),
        ("22p", "mega", 22e-12),
        ("3.3n", "mega", 3.3e-9),
        ("12m", "mega", 0.012),
        ("-1.5", "mega", -1.5),
        ("1e3k", "mega", 1e6),
        (" 2.2 k ", "mega", 2200.0),
    ],
)
def test_si_prefixes_scale_without_float_noise(text: str, m_means: str, expected: float) -> None:
    assert parse_si(text, m_means=m_means) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "5X", "NaN", "-NAN", "1 k ohm"])
def test_what_is_not_an_si_number_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConversionError, match=r"line 7, field 'value'.*SI prefix"):
        parse_si(text, line=7, field="value")


@pytest.mark.parametrize("text", ["NaN", "-NAN", "+nan", "nan(ind)", "#NaN"])
def test_nan_readings_are_recognised(text: str) -> None:
    assert is_nan_reading(text)


def test_numbers_are_not_nan_readings() -> None:
    assert not is_nan_reading("1.0") and not is_nan_reading("")


def test_round_noise() -> None:
    assert round_noise(100.0 * 1.05) == 105.0
    assert round_noise(0.1 + 0.2) == 0.3
    assert round_noise(0.0) == 0.0 and math.isnan(round_noise(math.nan))


@pytest.mark.parametrize("text", ["ohm", "OHM", "Ohms", "O", "R", "Ω"])
def test_every_ohm_spelling_is_one_symbol(text: str) -> None:
    assert unit_symbol(text) == OHM == "Ω"


def test_other_units_keep_their_spelling() -> None:
    assert (unit_symbol("v"), unit_symbol("Hz"), unit_symbol("degC"), unit_symbol(" ")) == (
        "V",
        "Hz",
        "degC",
        None,
    )


def test_unit_ids_are_stable_and_distinct() -> None:
    a = unit_id("GR228XConverter", "SN1", "2025-01-01T10:00:00+01:00", 0)
    assert a == unit_id("GR228XConverter", "SN1", "2025-01-01T10:00:00+01:00", 0)
    assert a != unit_id("GR228XConverter", "SN1", "2025-01-01T10:00:00+01:00", 1)
    assert a != unit_id("SpectrumConverter", "SN1", "2025-01-01T10:00:00+01:00", 0)


def test_elapsed_time_across_the_spring_dst_change_is_the_real_duration() -> None:
    from wats_converter.converters import elapsed_s

    start, end = datetime(2025, 3, 30, 1, 55), datetime(2025, 3, 30, 3, 5)
    assert elapsed_s(start, end, OSLO) == 600.0  # 01:55+01:00 to 03:05+02:00
    aware_end = localize(end, OSLO).time
    assert elapsed_s(start, aware_end, OSLO) == 600.0  # one naive, one aware: no crash
