"""WSJFConverter through the real `wats-converter convert` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli, normalise
from wats_converter.converters.builtin import WSJFConverter
from wats_converter.pipeline.conversion import convert_path

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
