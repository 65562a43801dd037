"""The TestStand words both TestStand converters share: statuses, comparators, the verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from wats_converter.converters.builtin import ATMLConverter, TestStandXMLConverter
from wats_converter.converters.teststand import (
    keep_outcome,
    limit_pair,
    numeric_comparator,
    step_group,
    step_kind,
    step_status,
    string_comparator,
)
from wats_converter.errors import ConversionError
from wats_converter.report import UUTReport


@pytest.mark.parametrize(
    ("logic", "first", "second", "op"),
    [
        ("AND", "GE", "LE", "GELE"),
        ("AND", "GT", "LT", "GTLT"),
        ("AND", "GE", "LT", "GELT"),
        ("AND", "GT", "LE", "GTLE"),
        ("OR", "LT", "GT", "LTGT"),
        ("OR", "LE", "GE", "LEGE"),
        ("OR", "LE", "GT", "LEGT"),
        ("OR", "LT", "GE", "LTGE"),
    ],
)
def test_every_comparator_pair_is_one_operator_in_either_order(
    logic: str, first: str, second: str, op: str
) -> None:
    assert limit_pair(logic, first, second, field="f") == (op, False)
    assert limit_pair(logic.lower(), second, first, field="f") == (op, True)


def test_a_pair_that_is_no_limit_form_is_an_error() -> None:
    with pytest.raises(ConversionError, match="GE AND GE"):
        limit_pair("AND", "GE", "GE", field="f")


@pytest.mark.parametrize(
    ("word", "qualifier", "status"),
    [
        ("Passed", None, "P"),
        ("Failed", None, "F"),
        ("Done", None, "D"),
        ("Skipped", None, "S"),
        ("NotStarted", None, "S"),
        ("Error", None, "E"),
        ("Errored", None, "E"),
        ("Terminated", None, "T"),
        ("Aborted", None, "T"),
        ("Aborted", "Skipped", "S"),
        ("Aborted", "Error", "E"),
        ("UserDefined", "Terminated", "T"),
        ("Looping", None, "U"),
        (None, None, "U"),
    ],
)
def test_status_words(word: str | None, qualifier: str | None, status: str) -> None:
    assert step_status(word, qualifier) == status


def test_groups_kinds_and_comparators() -> None:
    assert [step_group(g) for g in ("Setup", "main", "CLEANUP", None)] == ["S", "M", "C", "M"]
    assert step_kind("ET_NLT") == step_kind("NumericLimitTest") == "numeric"
    assert step_kind("ET_MNLT") == "multi_numeric" and step_kind("MyCustomStep") is None
    assert string_comparator("CIEQ", field="f") == string_comparator("IgnoreCase", field="f")
    assert string_comparator("EQ", field="f") == "CASESENSIT"
    assert numeric_comparator("gtlt", field="f") == "GTLT"
    assert numeric_comparator(None, field="f") == "LOG"
    with pytest.raises(ConversionError, match="not a numeric comparison"):
        numeric_comparator("IGNORECASE", field="f")


def _report(*statuses: str) -> UUTReport:
    report = UUTReport(pn="P", sn="S", start=datetime(2025, 1, 1, tzinfo=UTC))
    for i, status in enumerate(statuses):
        report.root.add_action_step(f"s{i}", status=status)  # type: ignore[arg-type]
    return report


def test_the_testers_verdict_is_kept_and_a_disagreement_noted() -> None:
    agreeing = _report("P", "D", "S")
    keep_outcome(agreeing, "D")
    assert (agreeing.result, agreeing.miscInfos) == ("P", None)
    disagreeing = _report("P", "F")
    keep_outcome(disagreeing, "P")
    assert disagreeing.result == "P"
    assert disagreeing.miscInfos is not None
    assert disagreeing.miscInfos[0].text == "tester verdict Passed, but a step is Failed"
    unknown = _report("F")
    keep_outcome(unknown, "U")
    assert unknown.result is None  # finalize computes it from the steps


def test_settings_are_bounded_like_the_fields_they_fill() -> None:
    for cls in (ATMLConverter, TestStandXMLConverter):
        with pytest.raises(ValidationError, match="sequence_version"):
            cls({"sequence_version": "x" * 31})
        with pytest.raises(ValidationError, match="timezones"):
            cls({"timezones": "Europe/Oslo"})  # a typo is refused, not ignored
