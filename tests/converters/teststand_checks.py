"""What the ATML and TestStand XML tests check alike: steps by name, and the server's verdict."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable

from wats_converter.report import Step, UUTReport
from wats_converter.server.fixture import ServerThread


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
    """POST each report's WSJF to the local server; every one must be taken (200)."""
    # assert_valid_wsjf(report.to_dict()) belongs here once wats_converter.testing has it
    for report in reports:
        request = urllib.request.Request(
            server.url + "/api/Report/WSJF",
            data=report.to_wsjf(),
            method="POST",
            headers={"Authorization": f"Basic {server.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, f"{report.sn}: {response.status}"
