"""Every example file converts with `wats-converter convert`, and the local server accepts it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import cli
from wats_converter.server.fixture import local_server

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
SUFFIXES = {".json", ".xml", ".txt", ".csv", ".LOG"}
FILES = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in SUFFIXES)
SETTINGS = {
    "columns.csv": ["--config", str(EXAMPLES / "csv" / "columns.yaml")],
    "43420_BIO2.LOG": ["--config", str(EXAMPLES / "gr228x" / "gr228x.yaml")],
    "board.txt": ["--config", str(EXAMPLES / "spectrum" / "spectrum.yaml")],
    "run.csv": ["--config", str(EXAMPLES / "spea" / "spea.yaml")],
}


def test_there_is_an_example_of_every_format() -> None:
    assert {p.suffix for p in FILES} == SUFFIXES


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_converts_and_the_server_accepts_it(path: Path) -> None:
    result = cli("convert", str(path), *SETTINGS.get(path.name, []))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    reports = output if isinstance(output, list) else [output]  # a file of several units
    with local_server() as server:
        for report in reports:
            request = urllib.request.Request(
                server.url + "/api/Report/WSJF",
                data=json.dumps(report).encode(),
                method="POST",
                headers={
                    "Authorization": f"Basic {server.token}",
                    "Content-Type": "application/json",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        assert server.store.count() == len(reports)
