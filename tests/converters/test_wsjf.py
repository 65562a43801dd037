"""WSJFConverter through the real `wats-converter convert` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli, normalise
from wats_converter.converters.builtin import WSJFConverter
from wats_converter.pipeline.conversion import convert_path
from wats_converter.testing import assert_valid_wsjf

EXPORT = Path(__file__).parent.parent / "data" / "wsjf" / "teststand_export.json"


def test_server_export_comes_back_with_every_schema_field_intact() -> None:
    result = cli("convert", str(EXPORT))
    assert result.returncode == 0, result.stderr
    original = json.loads(EXPORT.read_text())
    converted = json.loads(result.stdout)
    assert normalise(converted) == normalise(original)
    assert converted["id"] == original["id"].lower()
    assert "origin" not in converted and "productName" not in converted


def test_export_covers_every_step_type_and_operator() -> None:
    doc = json.loads(EXPORT.read_text())
    ops, kinds, stack = set(), set(), [doc["root"]]
    while stack:
        step = stack.pop()
        kinds.add(step["stepType"])
        ops |= {
            m["compOp"].upper() for m in step.get("numericMeas", []) + step.get("stringMeas", [])
        }
        stack += step.get("steps", [])
    assert ops == {
        "LOG",
        "EQ",
        "NE",
        "GT",
        "GE",
        "LT",
        "LE",
        "GTLT",
        "GELE",
        "GELT",
        "GTLE",
        "LTGT",
        "LEGE",
        "LEGT",
        "LTGE",
        "CASESENSIT",
        "IGNORECASE",
    }
    assert {
        "SequenceCall",
        "ET_NLT",
        "ET_MNLT",
        "ET_SVT",
        "ET_MSVT",
        "ET_MPFT",
        "ET_PFT",
        "CallExecutable",
        "MessagePopup",
        "WATS_XYGMNLT",
        "Action",
    } <= kinds


def test_missing_id_gets_a_deterministic_one(tmp_path: Path) -> None:
    doc = json.loads(EXPORT.read_text())
    del doc["id"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    first = convert_path(WSJFConverter(), path).reports[0].id
    assert first is not None and first == convert_path(WSJFConverter(), path).reports[0].id


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "invalid JSON"),
        (b'{"pn": "x", "sn": ', "line 1: invalid JSON"),
        (b'{"pn": "P", "root": {}}', "sn: missing required field"),
        (EXPORT.read_bytes().replace(b'"GELE"', b'"GTE"', 1), "is not a comparison operator"),
        ('{"pn": "\u00e9"}'.encode("utf-16-le"), "sn: missing required field"),
        (b"\x00\x01\x02binary", "NUL bytes"),
        (b'{"pn": "P", "sn": "S", "type": "X"}', "type T (test) or R (repair)"),
        (b"[1, 2]", "expected a JSON object"),
    ],
    ids=[
        "empty",
        "truncated",
        "missing-sn",
        "bad-operator",
        "utf16-no-bom",
        "binary",
        "unknown-type",
        "array",
    ],
)
def test_malformed_input_gives_one_line_and_nonzero_exit(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = cli("convert", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {path}: WSJFConverter: ")
    assert expected in lines[0]


DATA = Path(__file__).parent.parent / "data" / "wsjf"
PRODUCTION = DATA / "production_uut_export.json"
REPAIR = DATA / "repair_export.json"


@pytest.mark.parametrize("path", [PRODUCTION, REPAIR], ids=["production-uut", "repair"])
def test_real_exports_convert_field_for_field_with_exact_timestamps(path: Path) -> None:
    original = json.loads(path.read_text())
    (report,) = convert_path(WSJFConverter(), path).reports
    converted = report.to_dict()
    assert_valid_wsjf(converted)
    assert normalise(converted) == normalise(original)
    text = report.to_wsjf().decode()
    for stamp in (original["start"], original["startUTC"]):
        assert f'"{stamp}"' in text  # the 100 ns digit survives, byte for byte
    for name in ("productName", "origin", "assetStats", "stepIdCausedUUTFailure", "refUURs"):
        assert f'"{name}"' not in text  # output only: accepted, never sent on


def test_sub_units_with_idx_are_kept() -> None:
    (report,) = convert_path(WSJFConverter(), PRODUCTION).reports
    assert [(u.partType, u.idx, u.position) for u in report.subUnits or ()] == [
        ("PCBA", 0, 0),
        ("PSU", 1, 1),
        ("Display", 2, 2),
    ]


def test_a_repair_report_passes_through_with_its_failures_and_files() -> None:
    (report,) = convert_path(WSJFConverter(), REPAIR).reports
    assert report.is_repair and report.uur is not None
    assert str(report.uur.refUUT).upper() == json.loads(PRODUCTION.read_text())["id"]
    main, old, new = report.subUnits or []
    assert (main.idx, old.replacedIdx, new.parentIdx) == (0, 2, 0)
    (failure,) = main.failures or []
    assert (failure.category, failure.code, failure.comRef, failure.refStepId) == (
        "Component",
        "Out of tolerance",
        "U12",
        3,
    )
    assert failure.attachments and failure.attachments[0].contentType == "image/png"
    assert [b.name for b in report.binaryData or ()] == ["repair-notes.txt"]
    assert report.result is None  # a repair report has no test result to compute


def test_nan_readings_follow_the_nan_policy() -> None:
    (report,) = convert_path(WSJFConverter(), DATA / "nan_readings.json").reports
    assert_valid_wsjf(report)
    power = report.root.steps[0]  # type: ignore[index]
    vcc5, ripple = power.steps[1], power.steps[2]  # type: ignore[index]
    meas = vcc5.numericMeas[0]  # type: ignore[index]
    assert (meas.value, meas.status, vcc5.status) == (None, "F", "F")  # limits: failed
    assert vcc5.reportText == "5V rail above limit\nreading was NaN"
    rms = ripple.numericMeas[1]  # type: ignore[index]
    assert (rms.value, rms.compOp, rms.status, ripple.status) == (None, "LOG", "P", "P")
    assert ripple.reportText == "reading was NaN: RMS"
    assert report.result == "F"
