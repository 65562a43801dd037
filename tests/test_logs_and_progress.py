"""Logs for machines (JSON with RFC 3339 times and per-file fields) and progress for people (a
live bar on a terminal, a periodic summary elsewhere)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import screen_when, tmux
from tests.service.harness import single_converter, wait_until, write_settled
from wats_converter.progress import PeriodicSummary
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)$")


def test_json_logs_have_rfc3339_times_and_the_fields_of_each_file(
    tmp_path: Path, server: ServerThread
) -> None:
    st = single_converter(tmp_path, server)
    st.start("--log-json")
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 2)
    write_settled(st.folder("watch") / "bad.csv", "not a result\n")
    wait_until(lambda: server.store.count() == 2, 30, "delivered", st)
    wait_until((tmp_path / "error" / "bad.csv.error").exists, 30, "failed", st)
    assert st.stop() == 0
    entries = [json.loads(line) for line in st.log().splitlines() if line.startswith("{")]
    assert entries and all(RFC3339_MS.match(e["time"]) for e in entries), entries[0]
    assert {e["level"] for e in entries} <= {"INFO", "WARNING", "ERROR"}
    converted = [
        e for e in entries if e.get("outcome") == "submitted" and "converted" in e["message"]
    ]
    assert len(converted) == 2
    for entry in converted:
        assert entry["file"].endswith(".csv") and entry["converter"] == "csv"
        assert len(entry["report_id"]) == 1 and isinstance(entry["duration_ms"], float)
        assert entry["report_id"][0] in server.store.receive_counts()
    failed = [e for e in entries if e.get("outcome") == "failed"]
    assert (
        len(failed) == 1 and failed[0]["file"].endswith("bad.csv") and failed[0]["level"] == "ERROR"
    )
    # the log file gets the same JSON lines, for a collector that tails files
    lines = (tmp_path / "wats-converter.log").read_text().splitlines()
    assert all(RFC3339_MS.match(json.loads(line)["time"]) for line in lines)


def test_off_a_terminal_run_once_prints_a_summary_not_a_line_per_file(
    tmp_path: Path, server: ServerThread
) -> None:
    st = single_converter(tmp_path, server)
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 200)
    result = st.run_once()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "progress: 200/200 files (100 %)" in result.stderr
    assert re.search(r"\d+ files/s, 0 pending, 0 failed", result.stderr)
    assert "converted " not in result.stderr  # no per-file lines on the console
    assert result.stderr.count("\n") < 20
    # the log file still tells each file's story
    assert (tmp_path / "wats-converter.log").read_text().count("converted ") == 200


def test_the_summary_comes_every_few_seconds_with_rate_and_eta(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    summary = PeriodicSummary(lambda: (3, 1), every_s=5, clock=lambda: now[0])
    with caplog.at_level("INFO", "wats_converter.progress"):
        for done in range(0, 1501, 10):
            now[0] += 0.1  # 100 files/s
            summary.update(min(done, 1200), 1200)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # at 5 s, at 10 s and the final line, once
    assert lines[0] == "progress: 500/1200 files (41 %), 98 files/s, 3 pending, 1 failed, ETA 7 s"
    assert lines[-1].startswith("progress: 1200/1200 files (100 %)") and "ETA" not in lines[-1]


@pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="the live bar draws on a terminal; this test runs it in a real one, which needs "
    "tmux (`apt-get install tmux`); .ci/run installs it",
)
def test_on_a_terminal_the_bar_with_rate_and_eta_stays_below_the_logs(
    tmp_path: Path, server: ServerThread
) -> None:
    st = single_converter(tmp_path, server)
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 300)
    command = (
        f"cd {tmp_path} && PYTHONPATH={Path.cwd()} {sys.executable} -m wats_converter run --once "
        f"--config {st.config_path}; echo EXITED $?; sleep 30"
    )
    with tmux(command, 160, 40, "watsbar") as session:
        screen = screen_when(session, lambda screen: "EXITED" in screen, 600)
        assert "EXITED 0" in screen, screen
        lines = [line for line in screen.splitlines() if line.strip()]
        bar = next(i for i, line in enumerate(lines) if "converting" in line and "files/s" in line)
        assert "300/300" in lines[bar] and "ETA" in lines[bar], screen
        assert any("INFO" in line and "stopping:" in line for line in lines[:bar]), screen
        assert not any(line.count("INFO") > 1 for line in lines), screen  # the level once
        assert "done: 300 converted" in screen
