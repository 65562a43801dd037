"""The tester's verdict is kept and questioned; growing logs wait; header settings validate."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pydantic
import pytest

from wats_converter.converters import (
    GrowingLogSettings,
    HeaderSettings,
    keep_verdict,
    log_not_finished,
    steps_status,
)
from wats_converter.report import UUTReport, finalize


def report() -> UUTReport:
    r = UUTReport(
        pn="P", sn="S", start=datetime(2025, 1, 1, tzinfo=UTC), machineName="m", location="l"
    )
    r.purpose, r.processCode, r.id = "p", 10, __import__("uuid").uuid4()
    return r


def note_texts(r: UUTReport) -> list[str]:
    return [m.text or "" for m in r.miscInfos or ()]


def test_a_verdict_that_agrees_with_the_steps_adds_nothing() -> None:
    r = report()
    r.root.add_numeric_step("V", 5.0, 4.0, 6.0)
    keep_verdict(r, "P")
    assert (r.result, r.miscInfos) == ("P", None)


def test_a_passed_verdict_over_a_failed_step_is_kept_and_noted() -> None:
    r = report()
    r.root.add_sequence("S").add_numeric_step("V", 7.0, 4.0, 6.0)  # computed F at finalize
    keep_verdict(r, "P")
    assert note_texts(r) == ["tester verdict Passed, but a step is Failed"]
    assert finalize(r).result == "P"  # finalize keeps the tester's verdict


def test_a_failed_verdict_without_a_failed_step_is_noted() -> None:
    r = report()
    r.root.add_pass_fail_step("LED", True)
    keep_verdict(r, "F")
    assert note_texts(r) == ["tester verdict Failed, but no step failed"]


def test_a_terminated_unit_is_never_questioned() -> None:
    r = report()
    r.root.add_pass_fail_step("LED", True)
    keep_verdict(r, "T")
    assert (r.result, r.miscInfos) == ("T", None)


def test_steps_status_matches_what_finalize_computes() -> None:
    r = report()
    seq = r.root.add_sequence("S")
    seq.add_numeric_step("nan", math.nan, 1.0, 2.0)
    seq.add_action_step("done", status="D")
    r.root.add_sequence("E", status="E")
    computed = steps_status(r.root)
    assert computed == "E" and r.root.status is None  # nothing was changed
    assert finalize(r).root.status == computed


def test_an_explicit_step_status_wins_over_its_children() -> None:
    r = report()
    seq = r.root.add_sequence("S", status="P")
    seq.add_pass_fail_step("x", False)
    assert steps_status(r.root) == "P"


def test_growing_log_settings_and_the_retry() -> None:
    settings = GrowingLogSettings(retry_after_s=2.5)
    signal = log_not_finished("the END line", settings)
    assert signal.after_s == 2.5 and "the END line is not written yet" in signal.reason
    assert settings.convert_before_end is False
    with pytest.raises(pydantic.ValidationError):
        GrowingLogSettings(retry_after_s=0)
    with pytest.raises(pydantic.ValidationError):
        HeaderSettings(sequence_version="x" * 31)


def test_a_failing_string_comparison_disagrees_with_a_passed_verdict() -> None:
    """The verdict check computes measurement statuses as finalize does, strings included."""
    r = report()
    r.root.add_string_step("Firmware", "1.2", "1.3")  # CASESENSIT: fails at finalize
    keep_verdict(r, "P")
    assert note_texts(r) == ["tester verdict Passed, but a step is Failed"]
    assert finalize(r).root.steps[0].status == "F"  # type: ignore[index]
