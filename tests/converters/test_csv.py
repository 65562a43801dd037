"""CSVConverter on real files: header block, header columns, encodings, errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from wats_converter.converters.builtin import CSVConverter
from wats_converter.errors import ConversionError, FileTooLarge
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import UUTReport

EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "csv"


def convert(path: Path, **settings: object) -> UUTReport:
    return convert_path(CSVConverter(dict(settings)), path).reports[0]


def test_example_file_converts_with_sequences_and_computed_statuses() -> None:
    report = convert(EXAMPLES / "result.csv")
    assert (report.pn, report.sn, report.rev, report.uut.user) == (
        "PCBA-1001",
        "SN000123",
        "B",
        "operator1",
    )
    assert report.uut.fixtureId == "FX-7"
    assert report.start is not None and report.start.isoformat() == "2025-03-04T09:15:30+01:00"
    power = report.root.steps[0]  # type: ignore[index]
    assert power.seqCall is not None and [s.name for s in power.steps or []] == [
        "VCC",
        "VCC ripple",
        "Temperature",
    ]
    ripple = power.steps[1]  # type: ignore[index]
    assert ripple.numericMeas[0].compOp == "LT" and ripple.status == "F"  # type: ignore[index]
    assert power.status == "F" and report.result == "F"
    by_name = {s.name: s for s in report.root.walk()}
    assert by_name["Label"].stringMeas[0].status == "P"  # type: ignore[index]
    assert by_name["Boundary scan"].stepType == "ET_PFT"
    assert by_name["Vibration"].status == "S"


def test_header_from_columns_with_semicolons_and_decimal_comma() -> None:
    report = convert(
        EXAMPLES / "columns.csv",
        delimiter=";",
        decimal=",",
        columns={
            "sn": "Serial",
            "pn": "Part",
            "rev": "Rev",
            "operator": "Operator",
            "start": "Start",
        },
    )
    assert (report.sn, report.pn, report.rev, report.uut.user) == (
        "SN000200",
        "PCBA-1001",
        "C",
        "op7",
    )
    values = [s.numericMeas[0].value for s in report.root.steps or []]  # type: ignore[index]
    assert values == [4.98, 1234.5]
    assert report.result == "P"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_station_encodings_are_read(tmp_path: Path, encoding: str) -> None:
    text = (EXAMPLES / "result.csv").read_text().replace("operator1", "Jørgen Müller")
    path = tmp_path / "r.csv"
    path.write_text(text, encoding=encoding)
    assert convert(path).uut.user == "Jørgen Müller"


def test_wrong_explicit_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        (EXAMPLES / "result.csv").read_text().replace("FX-7", "FX-Ø"), encoding="cp1252"
    )
    with pytest.raises(ConversionError, match=r"line 8: not valid utf-8 text \(byte 0xd8"):
        convert(path, encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sn,S1\n\nname,value\nVCC,5\n", "field 'pn': header field 'pn' is missing"),
        (
            "pn,P\nsn,S\n\nname,value,low,high\nVCC,abc,1,2\n",
            "line 5, field 'value': 'abc' is not a number",
        ),
        ("pn,P\nsn,S\nflavour,x\n\nname,value\n", "line 3, field 'flavour': unknown header field"),
        (
            "pn,P\nsn,S\n\nname,value,comp\nVCC,5,GTE\n",
            "line 5, field 'comp': 'GTE' is not a comparison",
        ),
        (
            "pn,P\nsn,S\n\nname,value,status\nVCC,5,maybe\n",
            "line 5, field 'status': 'maybe' is not a status",
        ),
        (
            "pn,P\nsn,S\nstart,yesterday\n\nname,value\n",
            "line 3, field 'start': 'yesterday' is not an ISO",
        ),
        ("just some text\n", "no measurement table"),
    ],
)
def test_bad_files_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ConversionError, match=message.replace("(", r"\(")):
        convert(path)


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(ConversionError, match="larger than max_file_size_bytes"):
        convert(path, max_file_size_bytes=1000)


def test_file_time_is_the_start_when_the_file_has_none(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("pn,P\nsn,S\n\nname,value\nVCC,5\n")
    report = convert(path)
    assert report.start is not None and abs(report.start.timestamp() - path.stat().st_mtime) < 1


@pytest.mark.parametrize("reading", ["NaN", "-NAN", "nan"])
@pytest.mark.parametrize("limits", [("4.9", "5.1"), ("4.9", ""), ("", "5.1")])
def test_a_nan_reading_keeps_no_value_and_fails_its_limits(
    tmp_path: Path, reading: str, limits: tuple[str, str]
) -> None:
    low, high = limits
    path = tmp_path / "nan.csv"
    path.write_text(
        "pn,P\nsn,S\nstart,2025-03-04T09:15:30+01:00\n\n"
        f"name,value,unit,low,high\nVCC,{reading},V,{low},{high}\n"
    )
    report = convert(path)
    (step,) = report.root.steps or []
    (meas,) = step.numericMeas or []
    assert (meas.value, meas.status, step.status, report.result) == (None, "F", "F", "F")
    assert "reading was NaN" in (step.reportText or "")


def test_a_file_without_a_start_keeps_its_id_when_it_is_touched(tmp_path: Path) -> None:
    import os

    path = tmp_path / "r.csv"
    path.write_text("pn,P\nsn,S\n\nname,value\nVCC,5\n")
    first = convert(path)
    os.utime(path, (1_700_000_000, 1_700_000_000))  # re-dropped or touched: a new mtime
    again = convert(path)
    assert again.start != first.start and again.id == first.id
    path.write_text("pn,P\nsn,S\n\nname,value\nVCC,6\n")
    assert convert(path).id != first.id  # another content: another unit


def test_a_file_that_makes_more_steps_than_max_steps_is_refused_early(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    rows = "".join(f"R{i},{i},V,0,1000000\n" for i in range(150))
    path.write_text(
        f"pn,P\nsn,S\nstart,2025-03-04T09:15:30+01:00\n\nname,value,unit,low,high\n{rows}"
    )
    with pytest.raises(FileTooLarge, match=r"more than 100 steps \(setting max_steps\)"):
        convert(path, max_steps=100)
    assert len(convert(path, max_steps=150).root.steps or []) == 150
