"""Building, finalizing, validating and serialising reports."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from wats_converter.errors import ReportValidationError
from wats_converter.report import Loop, UUTReport, finalize
from wats_converter.testing import minimal_report, rich_report

CET = timezone(timedelta(hours=1))


def new_report(**fields: object) -> UUTReport:
    base: dict[str, object] = dict(
        pn="PCBA-1",
        sn="SN1",
        rev="A",
        id=uuid.uuid4(),
        processCode=10,
        machineName="ST-1",
        location="Line 1",
        purpose="Production",
        start=datetime(2025, 3, 4, 9, 15, tzinfo=CET),
    )
    return UUTReport(**{**base, **fields})  # type: ignore[arg-type]


def test_failed_measurement_fails_its_step_sequences_and_the_report() -> None:
    report = new_report()
    power = report.root.add_sequence("Power")
    rails = power.add_sequence("Rails")
    rails.add_numeric_step("VCC", 5.3, 4.9, 5.1, unit="V")
    report.root.add_pass_fail_step("LED", True)
    finalize(report)
    vcc = rails.steps[0]  # type: ignore[index]
    assert vcc.numericMeas[0].status == "F"  # type: ignore[index]
    assert (vcc.status, rails.status, power.status, report.root.status) == ("F", "F", "F", "F")
    assert report.result == "F"
    assert report.root.steps[1].status == "P"  # type: ignore[index]


def test_passing_report_passes() -> None:
    report = new_report()
    report.root.add_numeric_step("VCC", 5.0, 4.9, 5.1)
    report.root.add_string_step("FW", "v1", "V1", comp="IGNORECASE")
    assert finalize(report).result == "P"


def test_error_and_terminated_outrank_failure() -> None:
    report = new_report()
    report.root.add_numeric_step("VCC", 9.0, 4.9, 5.1)
    report.root.add_action_step("Abort", status="T")
    report.root.add_action_step("Crash", status="E")
    assert finalize(report).result == "T"


def test_explicit_statuses_are_kept() -> None:
    report = new_report(result="P")
    step = report.root.add_numeric_step("VCC", 9.0, 4.9, 5.1, meas_status="P", status="P")
    finalize(report)
    assert (step.numericMeas[0].status, step.status, report.result) == ("P", "P", "P")  # type: ignore[index]


def test_skipped_measurements_make_a_skipped_step_that_does_not_fail() -> None:
    report = new_report()
    step = report.root.add_numeric_step("Not run", None, 1, 2, meas_status="S")
    assert finalize(report).result == "P"
    assert step.status == "S"


def test_single_limit_is_stored_in_low_limit_even_for_lt() -> None:
    report = new_report()
    step = report.root.add_numeric_step("Temp", 41.5, 70, comp="LT", unit="degC")
    wire = json.loads(finalize(report).to_wsjf())["root"]["steps"][0]["numericMeas"][0]
    assert wire == {"compOp": "LT", "status": "P", "unit": "degC", "value": 41.5, "lowLimit": 70.0}
    assert step.numericMeas[0].highLimit is None  # type: ignore[index]


def test_step_ids_are_depth_first_and_step_types_follow_the_payload() -> None:
    report = new_report()
    seq = report.root.add_sequence("S")
    seq.add_numeric_step("a", 1, 0, 2)
    multi = report.root.add_step("m")
    multi.add_numeric_measurement("x", 1)
    multi.add_numeric_measurement("y", 2)
    report.root.add_pass_fail_step("p", True)
    report.root.add_call_exe_step("exe", 0)
    report.root.add_message_popup_step("pop", "Yes")
    report.root.add_action_step("act")
    finalize(report)
    steps = list(report.root.walk())
    assert [s.id for s in steps] == list(range(len(steps)))
    assert [s.stepType for s in steps] == [
        "SequenceCall",
        "SequenceCall",
        "ET_NLT",
        "ET_MNLT",
        "ET_PFT",
        "CallExecutable",
        "MessagePopup",
        "Action",
    ]


def test_serialisation_has_no_nulls_and_both_start_times() -> None:
    wire = json.loads(minimal_report().to_wsjf())

    def no_nulls(value: object) -> bool:
        if isinstance(value, dict):
            return all(v is not None and no_nulls(v) for v in value.values())
        if isinstance(value, list):
            return all(no_nulls(v) for v in value)
        return True

    assert no_nulls(wire)
    assert wire["start"] == "2025-03-04T09:15:30.250000+01:00"
    assert wire["startUTC"] == "2025-03-04T08:15:30.250000Z"
    assert wire["type"] == "T" and wire["result"] == "P"


def test_start_utc_arriving_with_an_offset_is_emitted_in_utc() -> None:
    report = new_report(startUTC=datetime(2025, 3, 4, 9, 15, tzinfo=CET))
    assert finalize(report).to_dict()["startUTC"] == "2025-03-04T08:15:00Z"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sn": None}, "sn: missing required field"),
        ({"pn": ""}, "pn: String should have at least 1 character"),
        ({"machineName": "x" * 101}, "machineName: String should have at most 100 characters"),
        ({"result": "X"}, "result: Input should be 'P', 'F', 'E' or 'T'"),
        ({"start": "2025-03-04T09:15:30"}, "start: Input should have timezone info"),
        ({"processCode": 40000}, "processCode: Input should be less than or equal to 32767"),
        ({"serialNumber": "x"}, "serialNumber: unknown field"),
    ],
)
def test_bad_header_fields_name_the_field(change: dict[str, object], message: str) -> None:
    data = minimal_report().to_dict()
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ReportValidationError, match=message.replace("(", r"\(")):
        UUTReport.from_wsjf(data)


def step_tree_with(step: dict[str, object]) -> dict[str, object]:
    data = minimal_report().to_dict()
    data["root"]["steps"] = [{"name": f"s{i}", "status": "P"} for i in range(3)] + [step]
    return data


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"name": "a", "numericMeas": [{"compOp": "GTE", "value": 1}]},
            "root.steps[3].numericMeas[0].compOp: 'GTE' is not a comparison operator",
        ),
        ({"name": "a", "status": "X"}, "root.steps[3].status: Input should be"),
        (
            {"name": "a", "numericMeas": [{"value": 1}], "stringMeas": [{"value": "x"}]},
            "root.steps[3]: a step carries one kind of payload, found numericMeas and stringMeas",
        ),
        (
            {"name": "a", "steps": [{"name": "b"}]},
            "root.steps[3].steps: only a step with seqCall may have child steps",
        ),
        (
            {"name": "a", "numericMeas": [{"compOp": "GELE", "value": 1, "lowLimit": 0}]},
            "root.steps[3].numericMeas[0].highLimit: GELE needs highLimit",
        ),
        (
            {"name": "a", "numericMeas": [{"value": 1}, {"value": 2}]},
            "root.steps[3].numericMeas[0].name: each measurement of a multiple test needs a name",
        ),
        ({"name": "a", "numericMeas": [{"value": "NaN"}]}, "root.steps[3].numericMeas[0].value"),
        (
            {"name": "a", "stringMeas": [{"compOp": "GT", "value": "x", "limit": "y"}]},
            "root.steps[3].stringMeas[0].compOp: GT is not a string comparison operator",
        ),
        ({"name": "a", "errorMessage": "e" * 201}, "root.steps[3].errorMessage: String should"),
    ],
)
def test_bad_steps_name_the_field_path(step: dict[str, object], message: str) -> None:
    with pytest.raises(ReportValidationError) as info:
        finalize(UUTReport.from_wsjf(step_tree_with(step)))
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


def test_all_problems_are_reported_at_once() -> None:
    data = step_tree_with({"name": "a", "numericMeas": [{"compOp": "GTE"}], "status": "Q"})
    data["result"] = "Z"
    with pytest.raises(ReportValidationError) as info:
        UUTReport.from_wsjf(data)
    assert len(info.value.problems) == 3


def test_root_must_be_a_sequence() -> None:
    data = minimal_report().to_dict()
    data["root"] = {"name": "root", "status": "P"}
    with pytest.raises(
        ReportValidationError, match="root.seqCall: the root step must be a sequence"
    ):
        finalize(UUTReport.from_wsjf(data))


def test_start_utc_must_agree_with_start() -> None:
    data = minimal_report().to_dict()
    data["startUTC"] = "2025-03-04T09:15:30.25Z"
    with pytest.raises(ReportValidationError, match="startUTC: .* is not the same instant"):
        finalize(UUTReport.from_wsjf(data))


def test_missing_station_fields_say_how_to_fix_them() -> None:
    report = new_report(machineName=None)
    with pytest.raises(
        ReportValidationError, match=r"machineName: missing \(set it in the file or `station.name`"
    ):
        finalize(report)


def test_builder_rejects_children_on_a_non_sequence() -> None:
    step = new_report().root.add_numeric_step("VCC", 1.0)
    with pytest.raises(ReportValidationError, match="only a sequence"):
        step.add_numeric_step("x", 1.0)


def test_builder_errors_name_the_step() -> None:
    with pytest.raises(
        ReportValidationError, match="step 'x{101}'.name: String should have at most 100"
    ):
        new_report().root.add_action_step("x" * 101)


def test_chart_points_must_pair_up() -> None:
    report = new_report()
    step = report.root.add_numeric_step("sweep", 1.0)
    step.set_chart([("gain", [1, 2, 3], [1, 2])])
    with pytest.raises(
        ReportValidationError,
        match=r"root.steps\[0\].chart.series\[0\]: xdata has 2 points but ydata has 3",
    ):
        finalize(report)


def test_attachment_larger_than_the_limit_is_rejected() -> None:
    report = new_report()
    report.root.add_action_step("log").attach("big.bin", b"x" * (100 * 1024 + 1))
    with pytest.raises(
        ReportValidationError, match="attachment.data: 102401 bytes, at most 102400"
    ):
        finalize(report)


def test_rich_report_has_every_step_kind_and_round_trips() -> None:
    report = rich_report()
    kinds = {s.stepType for s in report.root.walk()}
    assert {
        "SequenceCall",
        "ET_NLT",
        "ET_MNLT",
        "ET_SVT",
        "ET_MSVT",
        "ET_MPFT",
        "CallExecutable",
        "MessagePopup",
        "WATS_XYGMNLT",
        "Action",
    } <= kinds
    assert any(s.loop == Loop(num=3, passed=3, failed=0, endingIndex=2) for s in report.root.walk())
    again = finalize(UUTReport.from_wsjf(report.to_wsjf()))
    assert again.to_dict() == report.to_dict()
    assert 180 <= sum(1 for _ in report.root.walk()) <= 220
    assert report.start_utc() == datetime(2025, 3, 4, 8, 15, 30, 250000, tzinfo=UTC)
