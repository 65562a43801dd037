"""What the ATML and TestStand XML tests check alike: steps by name, and the server's verdict."""

from __future__ import annotations

from collections.abc import Iterable

from tests.converters.vendor import post
from wats_converter.report import Step, UUTReport
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import assert_valid_wsjf


def steps(report: UUTReport) -> list[Step]:
    """Every step below the root, depth first."""
    return list(report.root.walk())[1:]


def step(report: UUTReport, name: str, nth: int = 0) -> Step:
    """The `nth` step called `name` (depth first)."""
    return [s for s in steps(report) if s.name == name][nth]


def failed(report: UUTReport) -> list[str]:
    """Names of the failed steps that are not sequences (what a test engineer looks for)."""
    return [s.name for s in steps(report) if s.status == "F" and s.seqCall is None]


def post_all(server: ServerThread, reports: Iterable[UUTReport]) -> None:
    """Every report validates against the WATS schema and the local server takes it (200)."""
    reports = list(reports)
    for report in reports:
        assert_valid_wsjf(report)
    assert post(server, reports) == [200] * len(reports)
