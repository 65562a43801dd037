"""`run --once` (historical imports, scripts) and the zero-config mode with the embedded server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.helpers import cli
from tests.service.harness import single_converter, write_settled
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def test_once_processes_everything_submits_and_exits_0(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server)
    TestFileGenerator.generate_batch(station.folder("watch"), "csv", 40)
    result = station.run_once()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done: 40 converted, 0 failed, 0 still pending" in result.stderr
    assert server.store.count() == 40 and len(station.files("done")) == 40


def test_once_exits_1_when_a_file_failed(tmp_path: Path, server: ServerThread) -> None:
    station = single_converter(tmp_path, server)
    TestFileGenerator.generate_batch(station.folder("watch"), "csv", 3)
    write_settled(station.folder("watch") / "bad.csv", "not a result\n")
    result = station.run_once()
    assert result.returncode == 1
    assert "done: 3 converted, 1 failed" in result.stderr
    assert (tmp_path / "error" / "bad.csv.error").exists()


def test_zero_config_mode_delivers_to_the_embedded_server(tmp_path: Path) -> None:
    data = tmp_path / "wats-data"
    (data / "watch").mkdir(parents=True)
    TestFileGenerator.generate_batch(data / "watch", "json", 2)
    TestFileGenerator.generate_batch(data / "watch", "xml", 1, prefix="x")
    TestFileGenerator.generate_batch(data / "watch", "txt", 1, prefix="t")
    TestFileGenerator.generate_batch(data / "watch", "csv", 1, prefix="c")
    result = cli("run", "--once", "--data", str(data), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    # the patterns the configured converters really take, per watch folder
    assert (
        f"Drop result files into:\n  {data / 'watch'}: *.json (WSJF files), *.csv (CSV files), "
        "*.xml (WSXF files or ATML files or TestStand XML files), *.txt (WSTF files)\n"
        in result.stdout
    )
    with sqlite3.connect(data / "server.sqlite") as db:
        serials = sorted(r[0] for r in db.execute("SELECT sn FROM reports"))
    assert serials == ["C-000000", "FILE-000000", "FILE-000001", "T-000000", "X-000000"]
    assert len(list((data / "done").iterdir())) == 5
