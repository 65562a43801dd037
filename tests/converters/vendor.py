"""What every vendor-converter test does with a sample: convert, post, read a step."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from wats_converter.converters import ConverterBase
from wats_converter.errors import ConversionError
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import Step, UUTReport, check
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import assert_valid_wsjf

DATA = Path(__file__).parent.parent / "data"


def convert(converter: ConverterBase, path: Path) -> list[UUTReport]:
    """Convert like the service does (defaults, ids, finalize); every report must validate
    against the server's WSJF schema."""
    reports = convert_path(converter, path).reports
    for report in reports:
        assert_valid_wsjf(report)
    return reports


def error_line(converter: ConverterBase, path: Path, text: str, message: str) -> int | None:
    """Write `text` to `path` and convert it: it must fail with a `ConversionError` that says
    `message` (a regex); the line the error names."""
    path.write_bytes(text.encode())
    with pytest.raises(ConversionError, match=message) as caught:
        convert(converter, path)
    return caught.value.line


def post(server: ServerThread, reports: list[UUTReport]) -> list[int]:
    """POST each report to the local server; the HTTP status of each."""
    statuses = []
    for report in reports:
        request = urllib.request.Request(
            server.url + "/api/Report/WSJF",
            data=report.to_wsjf(),
            method="POST",
            headers={"Authorization": f"Basic {server.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            statuses.append(response.status)
    return statuses


def post_checked(server: ServerThread, reports: list[UUTReport]) -> None:
    """Every report validates against the WSJF schema and has no structural problem (`check`),
    and the local server stores it."""
    for report in reports:
        assert_valid_wsjf(report)
        assert check(report) == []
    assert post(server, reports) == [200] * len(reports)
    assert server.store.count() == len(reports)


def steps(report: UUTReport, name: str) -> list[Step]:
    """Every step called `name`, depth first."""
    return [s for s in report.root.walk() if s.name == name]


def step(report: UUTReport, name: str) -> Step:
    """The first step called `name`."""
    found = steps(report, name)
    assert found, f"no step {name!r}"
    return found[0]


def numeric(report: UUTReport, name: str) -> tuple[object, ...]:
    """(value, low, high, operator, unit, status) of the first numeric step called `name`."""
    found = [s.numericMeas for s in steps(report, name) if s.numericMeas]
    assert found, f"no numeric step {name!r}"
    m = found[0][0]
    return (m.value, m.lowLimit, m.highLimit, str(m.compOp), m.unit, m.status)


def notes(report: UUTReport) -> list[str]:
    return [m.text or "" for m in report.miscInfos or () if m.description == "wats-converter note"]
