"""The model against the server's schema: every class and property, exact names and types."""

from __future__ import annotations

import json
import pickle
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel

from wats_converter import report as r
from wats_converter.errors import ReportValidationError
from wats_converter.report.schema import PREFIX, swagger_definitions
from wats_converter.testing import assert_valid_wsjf, minimal_report

# schema class -> model class (the model keeps its established short names)
MODELS: dict[str, type[BaseModel]] = {
    "AdditionalData": r.AdditionalData,
    "AdditionalDataArray": r.AdditionalArray,
    "AdditionalDataArrayIndex": r.AdditionalArrayIndex,
    "AdditionalDataProperty": r.AdditionalProp,
    "Asset": r.Asset,
    "AssetStats": r.AssetStats,
    "Attachment": r.Attachment,
    "BinaryData": r.BinaryData,
    "BooleanMeasurement": r.BooleanMeas,
    "CallExe": r.CallExe,
    "Chart": r.Chart,
    "ChartSeries": r.ChartSeries,
    "Failure": r.Failure,
    "LoopInfo": r.Loop,
    "MessagePopup": r.MessagePopup,
    "MiscInfo": r.MiscInfo,
    "NumericMeasurement": r.NumericMeas,
    "ReferencedByUUR": r.ReferencedByUUR,
    "Report": r.UUTReport,
    "SequenceCall": r.SeqCall,
    "Step": r.Step,
    "StringMeasurement": r.StringMeas,
    "SubUnit": r.SubUnit,
    "UUR": r.UURInfo,
    "UUT": r.UUTInfo,
}
DEFINITIONS = swagger_definitions()["definitions"]
TICKS = "2024-01-05T22:01:41.4707353+01:00"
# values the model checks beyond the schema's types (codes the schema lists in descriptions)
CODES = {
    ("Report", "type"): "T",
    ("Report", "result"): "F",
    ("Step", "group"): "S",
    ("Step", "status"): "U",
    ("NumericMeasurement", "compOp"): "GELE",
    ("StringMeasurement", "compOp"): "IGNORECASE",
    ("NumericMeasurement", "status"): "S",
    ("StringMeasurement", "status"): "P",
    ("BooleanMeasurement", "status"): "F",
}


def test_the_model_has_every_class_and_property_of_the_schema_and_nothing_else() -> None:
    assert {name.removeprefix(PREFIX) for name in DEFINITIONS} == set(MODELS)
    assert sum(len(d["properties"]) for d in DEFINITIONS.values()) == 189
    for name, model in MODELS.items():
        assert set(model.model_fields) == set(DEFINITIONS[PREFIX + name]["properties"]), name


def full_document(name: str, depth: int = 0) -> dict[str, Any]:
    """An object of schema class `name` with every property set to a value of its type."""
    doc: dict[str, Any] = {}
    for prop, spec in DEFINITIONS[PREFIX + name]["properties"].items():
        value = _value(name, prop, spec, depth)
        if value is not None:
            doc[prop] = value
    return doc


def _value(cls: str, prop: str, spec: dict[str, Any], depth: int) -> Any:
    if (cls, prop) in CODES:
        return CODES[(cls, prop)]
    if "$ref" in spec:
        return None if depth > 3 else full_document(spec["$ref"].rsplit(".", 1)[1], depth + 1)
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "array":
        item = _value(cls, prop, spec["items"], depth)
        return None if item is None else [item]
    if fmt == "uuid":
        return str(uuid.UUID(int=depth + 7))
    if fmt == "date-time":
        return TICKS
    return {"string": "x", "integer": 3, "number": 1.5, "boolean": True}[str(kind)]


def test_a_report_with_every_schema_property_round_trips_and_validates() -> None:
    document = full_document("Report")
    assert_valid_wsjf(document)
    report = r.UUTReport.from_wsjf(json.dumps(document))
    out = report.to_dict()
    assert_valid_wsjf(out)
    expected = {k: v for k, v in document.items() if k not in r.OUTPUT_ONLY["report"]}
    expected["uut"] = {k: v for k, v in document["uut"].items() if k not in r.OUTPUT_ONLY["uut"]}
    assert out == expected


def test_output_only_fields_are_declared_once_accepted_and_never_sent_on() -> None:
    assert {
        "report": {"productName", "origin", "assetStats"},
        "uut": {"stepIdCausedUUTFailure", "refUURs"},
    } == r.OUTPUT_ONLY
    doc = minimal_report().to_dict() | {"productName": "P", "origin": "client-1"}
    doc["uut"] = {"stepIdCausedUUTFailure": 4, "refUURs": [{"id": str(uuid.uuid4())}]}
    report = r.UUTReport.from_wsjf(doc)
    assert report.productName == "P" and report.uut.stepIdCausedUUTFailure == 4
    out = report.to_dict()
    assert "productName" not in out and "origin" not in out and out.get("uut", {}) == {}
    with pytest.raises(ReportValidationError, match="assetStats: Input should be a valid list"):
        r.UUTReport.from_wsjf(doc | {"assetStats": "many"})  # accepted, but still type checked


def test_unknown_names_are_still_refused() -> None:
    doc = minimal_report().to_dict()
    doc["subUnits"] = [{"sn": "1", "idx": 0, "parnetIdx": 1}]
    with pytest.raises(ReportValidationError, match=r"subUnits\[0\].parnetIdx: unknown field"):
        r.UUTReport.from_wsjf(doc)


def test_additional_data_values_are_strings_as_in_the_schema() -> None:
    doc = minimal_report().to_dict()
    doc["additionalData"] = [{"name": "S", "props": [{"name": "Max", "value": 5.5}]}]
    with pytest.raises(ReportValidationError, match=r"props\[0\].value: Input should be a valid"):
        r.UUTReport.from_wsjf(doc)


def test_a_length_limit_error_says_which_rule_and_where_it_comes_from() -> None:
    doc = minimal_report().to_dict() | {"sn": "S" * 101}
    with pytest.raises(ReportValidationError) as err:
        r.UUTReport.from_wsjf(doc)
    assert "sn: String should have at most 100 characters" in str(err.value)
    assert "String (100) in the WATS REST documentation" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        TICKS,
        "2024-01-05T21:01:41.4707353Z",
        "2025-03-04T09:15:30.25+01:00",
        "2025-03-04T09:15:30+00:00",
        "2025-03-04T09:15:30.123-05:30",
    ],
)
def test_timestamps_are_written_back_exactly_as_read(text: str) -> None:
    doc = minimal_report().to_dict() | {"start": text, "startUTC": None}
    doc["root"]["start"] = text
    doc.pop("startUTC")
    out = r.UUTReport.from_wsjf(json.dumps(doc)).to_wsjf().decode()
    assert f'"start":"{text}"' in out
    assert out.count(text) == 2


def test_a_timestamp_is_an_aware_datetime_that_keeps_its_100ns_digit() -> None:
    stamp = r.Timestamp.parse(TICKS)
    cet = timezone(timedelta(hours=1))
    assert stamp == datetime(2024, 1, 5, 22, 1, 41, 470735, tzinfo=cet)
    assert stamp.ticks == 4707353
    utc = stamp.astimezone(UTC)
    assert utc.text == "2024-01-05T21:01:41.4707353Z" and utc == stamp
    assert pickle.loads(pickle.dumps(stamp)).text == TICKS
    with pytest.raises(ValueError, match="timezone"):
        r.UUTReport.from_wsjf(minimal_report().to_dict() | {"start": "2025-03-04T09:15:30"})


def test_finalize_derives_start_utc_with_the_100ns_digit() -> None:
    doc = minimal_report().to_dict() | {"start": TICKS}
    doc.pop("startUTC", None)
    report = r.finalize(r.UUTReport.from_wsjf(doc))
    assert report.to_dict()["startUTC"] == "2024-01-05T21:01:41.4707353Z"


def test_built_reports_serialise_their_datetimes_as_before() -> None:
    report = minimal_report()
    report.start = datetime(2025, 3, 4, 9, 15, 30, 250000, tzinfo=timezone(timedelta(hours=1)))
    report.startUTC = None
    r.finalize(report)
    out = report.to_dict()
    assert (out["start"], out["startUTC"]) == (
        "2025-03-04T09:15:30.250000+01:00",
        "2025-03-04T08:15:30.250000Z",
    )


def repair(**fields: Any) -> dict[str, Any]:
    return {
        "type": "R",
        "id": str(uuid.uuid4()),
        "pn": "PCBA-1",
        "sn": "SN1",
        "rev": "A",
        "processCode": 500,
        "machineName": "REPAIR-1",
        "location": "Lab",
        "purpose": "Repair",
        "start": TICKS,
        "uur": {"user": "tech", "refUUT": str(uuid.uuid4())},
        "subUnits": [
            {"pn": "PCBA-1", "sn": "SN1", "idx": 0, "failures": [{"category": "C", "code": "X"}]}
        ],
        **fields,
    }


def test_a_repair_report_is_read_finalized_and_written_without_test_parts() -> None:
    report = r.UUTReport.from_wsjf(json.dumps(repair()))
    assert isinstance(report, r.UURReport) and report.is_repair
    r.finalize(report)  # no step tree, no result: the UUT rules do not apply
    assert report.result is None
    out = report.to_dict()
    assert "root" not in out and "uut" not in out and "result" not in out
    assert out["startUTC"] == "2024-01-05T21:01:41.4707353Z"
    assert out["subUnits"][0]["failures"] == [{"category": "C", "code": "X"}]
    assert_valid_wsjf(out)


def test_a_repair_report_without_uur_header_is_refused() -> None:
    doc = repair()
    del doc["uur"]
    with pytest.raises(ReportValidationError, match="uur: missing"):
        r.finalize(r.UUTReport.from_wsjf(doc))


def test_a_built_repair_report() -> None:
    report = r.UURReport(
        pn="P",
        sn="S",
        id=uuid.uuid4(),
        processCode=500,
        machineName="M",
        location="L",
        purpose="Repair",
        start=datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
    )
    report.uur.refUUT = uuid.uuid4()
    report.subUnits = [r.SubUnit(pn="P", sn="S", idx=0, failures=[r.Failure(code="Short")])]
    assert_valid_wsjf(r.finalize(report))


def test_conversion_notes_are_misc_infos_that_fit_their_limits() -> None:
    report = minimal_report()
    report.add_conversion_note("x" * 150)
    assert report.conversion_notes() == ["x" * 100, "x" * 50]
    assert {m.description for m in report.miscInfos or ()} >= {r.NOTE_DESCRIPTION}
    assert_valid_wsjf(report)


@pytest.mark.parametrize(
    ("op", "status", "expected"),
    [
        ("GELE", None, "F"),
        ("GELE", "P", "F"),
        ("LT", "S", "S"),
        ("LOG", None, None),
        ("LOG", "P", "P"),
    ],
)
def test_nan_status(op: str, status: Any, expected: Any) -> None:
    assert r.nan_status(op, status) == expected


def test_nan_readings_are_recognised_in_every_spelling() -> None:
    assert all(r.is_nan_reading(v) for v in (float("nan"), "NaN", "-NAN", " nan "))
    assert not any(r.is_nan_reading(v) for v in (1.0, "1", None, float("inf")))
