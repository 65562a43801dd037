"""The fast path (msgspec) gives the careful path's (pydantic) output byte for byte, or leaves
the report to it: for every WSJF file of the project and for reports built to test the edges."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wats_converter.converters.api import SkipFile
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.converters.builtin.wsjf import WSJFConverter
from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.pipeline.runners import convert_to_bodies
from wats_converter.report import UUTReport, finalize
from wats_converter.report.fast import FastReport, read_wsjf
from wats_converter.testing import minimal_report, rich_report

ROOT = Path(__file__).parent.parent.parent
FILES = sorted(
    p.relative_to(ROOT)
    for folder in ("examples", "tests/data")
    for p in (ROOT / folder).rglob("*")
    if p.is_file() and WSJFConverter().matches_file(p)
)


class CarefulWSJF(WSJFConverter):
    """The same converter (same name, so the same report ids) without the fast path."""

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        return self.read(content, fast=False)


def outcome(converter: WSJFConverter, path: Path) -> list[tuple[str, bytes]] | str:
    """What the service would send for `path`, or the error it would record."""
    try:
        return convert_to_bodies(converter, path).reports
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def test_the_project_has_wsjf_files_to_compare() -> None:
    assert len(FILES) >= 6
    assert {p.name for p in FILES} >= {"minimal.json", "teststand_export.json", "nan_readings.json"}


@pytest.mark.parametrize("relative", FILES, ids=str)
def test_every_wsjf_file_gives_the_same_output_on_both_paths(relative: Path) -> None:
    path = ROOT / relative
    careful = outcome(CarefulWSJF(), path)
    assert outcome(WSJFConverter(), path) == careful
    # and the report the fast path keeps is the careful path's, field for field
    fast = read_wsjf(path.read_text(encoding="utf-8-sig"))
    if fast is not None and isinstance(careful, list):
        assert fast.root == CarefulWSJF().read(path.read_text(encoding="utf-8-sig"))[0].root


def test_the_fast_path_takes_the_valid_files_and_leaves_the_rest(tmp_path: Path) -> None:
    taken = {p.name for p in FILES if read_wsjf((ROOT / p).read_text(encoding="utf-8-sig"))}
    assert {"minimal.json", "teststand_export.json", "production_uut_export.json"} <= taken
    # NaN readings need the NaN policy, a repair report is not a test report
    assert not taken & {"nan_readings.json", "repair_export.json"}


def _both(tmp_path: Path, document: dict[str, object]) -> tuple[object, object]:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document))
    return outcome(WSJFConverter(), path), outcome(CarefulWSJF(), path)


def _unfinished() -> dict[str, object]:
    """A report as a tester writes it: no ids, types or statuses, 7-digit times."""
    return {
        "pn": "PCBA-1",
        "sn": "SN-1",
        "start": "2024-01-05T22:01:41.4707353+01:00",
        "processCode": 10,
        "productName": "output only",
        "uut": {"stepIdCausedUUTFailure": 3, "user": "ann"},
        "root": {
            "name": "MainSequence Callback",
            "seqCall": {},
            "steps": [
                {
                    "name": "VCC",
                    "start": "2024-01-05T22:01:42.0000001+01:00",
                    "numericMeas": [
                        {"compOp": "GELE", "value": 5, "lowLimit": 4.9, "highLimit": 5.1}
                    ],
                },
                {
                    "name": "Sub",
                    "seqCall": {},
                    "steps": [{"name": "LED", "booleanMeas": [{"status": "F"}]}],
                },
                {
                    "name": "FW",
                    "stringMeas": [{"compOp": "IGNORECASE", "value": "a", "limit": "A"}],
                },
                {
                    "name": "Chart",
                    "numericMeas": [{"value": 1.5e-7}],
                    "chart": {"series": [{"ydata": "1;2"}]},
                },
                {"name": "Tiny", "totTime": 1e15, "callExe": {"exitCode": -0.0}},
            ],
        },
    }


def test_an_unfinished_report_is_completed_alike(tmp_path: Path) -> None:
    document = _unfinished()
    fast, careful = _both(tmp_path, document)
    assert isinstance(careful, list)
    assert fast == careful
    body = json.loads(careful[0][1])
    assert body["start"] == "2024-01-05T22:01:41.4707353+01:00"  # the 7th digit is kept
    assert body["startUTC"] == "2024-01-05T21:01:41.4707353Z"
    assert "productName" not in body and "stepIdCausedUUTFailure" not in body["uut"]
    assert body["result"] == "F"
    assert read_wsjf(json.dumps(document)) is not None  # it did take the fast path


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].update(value="NaN"), "NaN reading"),
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].update(compOp="gele"), "lower case"),
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].update(compOp="BOGUS"), "no such op"),
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].update(compOp=None), "null op"),
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].update(value=1e16), "1e+16"),
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].update(value="5.0"), "a number in text"),
        (lambda d: d["root"]["steps"][0].update(start="2024-01-05 22:01:42+01:00"), "other date"),
        (lambda d: d["root"]["steps"][0].update(start="2024-02-30T22:01:42+01:00"), "no such day"),
        (lambda d: d["root"]["steps"][0].update(colour="red"), "unknown field"),
        (lambda d: d.update(id="00000000-0000-0000-0000-000000000000"), "zero id"),
        (lambda d: d.update(id="{12345678-1234-5678-1234-567812345678}"), "braced id"),
        (lambda d: d["root"]["steps"][0].update(name="x" * 101), "name too long"),
        (lambda d: d["root"]["steps"][2]["stringMeas"][0].update(compOp="GELE"), "string op"),
        (lambda d: d["root"]["steps"][0]["numericMeas"][0].pop("lowLimit"), "missing limit"),
        (lambda d: d["root"]["steps"][1].update(id=1) or d["root"]["steps"][2].update(id=1), "ids"),
        (lambda d: d["root"].pop("seqCall"), "root is no sequence"),
        (lambda d: d.update(type="R", uur={"user": "bob"}), "repair report"),
        (lambda d: d.pop("root"), "no tree"),
        (lambda d: d.update(type="T", rev="C"), "explicit type"),
        (lambda d: d.update(type="X"), "no such type"),
        (lambda d: d.update(sn=" "), "blank serial"),
        (lambda d: d["root"]["steps"][3]["chart"]["series"][0].update(ydata="1;x"), "chart point"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_edges_give_the_same_outcome(tmp_path: Path, change: object, why: str) -> None:
    document = _unfinished()
    change(document)  # type: ignore[operator]
    fast, careful = _both(tmp_path, document)
    assert fast == careful, why


def test_a_problem_in_the_tree_is_left_to_the_careful_path_which_words_it() -> None:
    document = _unfinished()
    document["root"]["steps"][0]["numericMeas"][0].pop("lowLimit")  # type: ignore[index]
    assert read_wsjf(json.dumps(document)) is None
    with pytest.raises(ReportValidationError) as careful:
        finalize(UUTReport.from_wsjf(json.dumps(document)))
    assert "root.steps[0].numericMeas[0].lowLimit: GELE needs lowLimit" in str(careful.value)


def test_a_tree_changed_after_it_was_read_is_checked_again() -> None:
    """The fast path checks the tree when it reads it; a change made afterwards through the
    model's `root` is not covered by that check."""
    report = read_wsjf(json.dumps(_unfinished()))
    assert isinstance(report, FastReport)
    report.root.steps[0].numericMeas[0].lowLimit = None  # type: ignore[index]
    report.id = uuid.UUID(int=1)
    report.machineName = report.location = report.purpose = "x"
    with pytest.raises(ReportValidationError) as fast:
        finalize(report)
    assert "root.steps[0].numericMeas[0].lowLimit: GELE needs lowLimit" in str(fast.value)


def test_a_tree_changed_through_step_tree_is_checked_and_completed_again() -> None:
    """`step_tree()` hands out the decoded tree: the pass made when it was read no longer
    speaks for it, so `finalize` checks and completes it as the careful path does."""
    body = rich_report("SN-S").to_wsjf()
    fast = read_wsjf(body)
    assert fast is not None
    fast.step_tree().steps[0].status = None  # type: ignore[index]
    careful = UUTReport.from_wsjf(body)
    careful.root.steps[0].status = None  # type: ignore[index]
    assert finalize(fast).to_wsjf() == finalize(careful).to_wsjf()
    twice = read_wsjf(body)
    assert twice is not None
    steps = twice.step_tree().steps
    steps[1].id = steps[0].id  # type: ignore[index]
    with pytest.raises(ReportValidationError, match="is used twice"):
        finalize(twice)


def test_finalizing_a_fast_report_twice_changes_nothing() -> None:
    document = _unfinished()
    document.update(id=str(uuid.UUID(int=7)), machineName="ST", location="L", purpose="P")
    report = read_wsjf(json.dumps(document))
    assert report is not None
    once = finalize(report).to_wsjf()
    assert finalize(report).to_wsjf() == once
    assert once == finalize(UUTReport.from_wsjf(json.dumps(document))).to_wsjf()


def test_a_fast_report_is_a_normal_report_to_its_users() -> None:
    body = rich_report("SN-R").to_wsjf()
    report = read_wsjf(body)
    assert isinstance(report, UUTReport)
    assert report.to_wsjf() == body  # read and written back unchanged, before it is touched
    assert report.root.steps is not None  # asking for the tree gives the model's `Step` tree
    assert report.to_wsjf() == body  # and changes nothing
    report.root.add_action_step("added later")
    assert report.to_wsjf() != body
    assert json.loads(report.to_wsjf())["root"]["steps"][-1]["name"] == "added later"
    assert report.model_fields_set == UUTReport.from_wsjf(body).model_fields_set
    small = minimal_report().to_wsjf()
    assert read_wsjf(small).model_dump() == UUTReport.from_wsjf(small).model_dump()  # type: ignore[union-attr]


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(value=finite, low=finite, total=finite)
def test_any_number_is_written_alike(value: float, low: float, total: float) -> None:
    document = _unfinished()
    step = document["root"]["steps"][0]  # type: ignore[index]
    step["numericMeas"][0].update(value=value, compOp="GE", lowLimit=low)
    step.pop("start")
    step["totTime"] = total
    document.update(
        id="12345678-1234-5678-1234-567812345678", machineName="ST", location="L", purpose="P"
    )
    text = json.dumps(document)
    careful = finalize(UUTReport.from_wsjf(text)).to_wsjf()
    fast = read_wsjf(text)
    if fast is not None:
        assert finalize(fast).to_wsjf() == careful
    else:
        assert max(abs(value), abs(low), abs(total)) >= 1e16 and not math.isnan(value)


def test_a_fast_report_survives_pickle_and_copy() -> None:
    import copy
    import pickle

    body = rich_report("SN-P").to_wsjf()
    for clone in (
        pickle.loads(pickle.dumps(read_wsjf(body))),
        copy.deepcopy(read_wsjf(body)),
        copy.copy(read_wsjf(body)),
        read_wsjf(body).model_copy(),  # type: ignore[union-attr]
    ):
        assert clone.to_wsjf() == body
        assert clone.root.steps


@pytest.mark.parametrize("finished", [True, False], ids=["finished", "unfinished"])
def test_a_report_without_an_id_gets_the_careful_paths_id_and_body(
    tmp_path: Path, finished: bool
) -> None:
    """The unit is hashed as read and sent as finalized: a finished tree is encoded once for
    both, an unfinished one again after it was completed."""
    report = rich_report("SN-N")
    report.id = None
    document = json.loads(report.to_wsjf())
    if not finished:
        document["root"]["steps"][0]["steps"][0].pop("status")
        document["root"]["steps"][0]["steps"][1]["numericMeas"][0].pop("status")
    fast, careful = _both(tmp_path, document)
    assert isinstance(careful, list)
    assert fast == careful


def test_a_tree_handed_out_is_encoded_again() -> None:
    report = read_wsjf(rich_report("SN-T").to_wsjf())
    assert report is not None
    before = report.to_wsjf()
    report.step_tree().steps[0].name = "renamed"  # type: ignore[index]
    assert report.to_wsjf() == before.replace(b'"name":"Limits"', b'"name":"renamed"', 1)


def _every_converted_report() -> list[tuple[str, bytes]]:
    """The WSJF of every report a built-in converter makes of an example or fixture file: the
    widest set of real trees the project has (charts, attachments, loops, multiple tests)."""
    settings = {("TestStandXMLConverter", "TsWithoutWats.xml"): {"part_number": "PCBA-100"}}
    bodies = []
    for path in sorted(p for f in ("examples", "tests/data") for p in (ROOT / f).rglob("*")):
        for cls in sorted(BUILTIN_CONVERTERS.values(), key=lambda c: c.name):
            if not path.is_file() or path.suffix.lower() not in cls.supported_extensions:
                continue
            try:
                conversion = convert_path(cls(settings.get((cls.name, path.name))), path)
            except (ConversionError, ReportValidationError, SkipFile):
                continue
            where = f"{cls.name} {path.relative_to(ROOT)}"
            bodies += [(f"{where} [{i}]", r.to_wsjf()) for i, r in enumerate(conversion.reports)]
    return bodies


def test_every_report_the_converters_make_reads_alike_on_both_paths(tmp_path: Path) -> None:
    bodies = _every_converted_report()
    assert len({where.split()[0] for where, _ in bodies}) >= 8  # most built-in converters
    taken = 0
    for where, body in bodies:
        document = json.loads(body)
        if document.get("type") == "R":
            continue
        for variant in (document, {k: v for k, v in document.items() if k != "id"}):
            fast, careful = _both(tmp_path, variant)
            assert isinstance(careful, list), where
            assert fast == careful, where
        taken += read_wsjf(body) is not None
    assert taken >= len(bodies) // 2  # the fast path took most of them
