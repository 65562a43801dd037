"""Every example file converts with `wats-converter convert`, and the local server accepts it."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.helpers import cli
from wats_converter.server.fixture import local_server

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
FILES = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".xml", ".txt", ".csv"))
SETTINGS = {"columns.csv": ["--config", str(EXAMPLES / "csv" / "columns.yaml")]}


def test_there_is_an_example_of_every_format() -> None:
    assert {p.suffix for p in FILES} == {".json", ".xml", ".txt", ".csv"}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_converts_and_the_server_accepts_it(path: Path) -> None:
    result = cli("convert", str(path), *SETTINGS.get(path.name, []))
    assert result.returncode == 0, result.stderr
    with local_server() as server:
        request = urllib.request.Request(
            server.url + "/api/Report/WSJF",
            data=result.stdout.encode(),
            method="POST",
            headers={"Authorization": f"Basic {server.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert server.store.count() == 1
