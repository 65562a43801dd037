"""Operator tooling against a running service: errors, pending, init, health, metrics, systemd."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import cli, screen_when, tmux
from tests.service.harness import Station, single_converter, wait_until, write_settled
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def station(root: Path, server: ServerThread, **settings: object) -> Station:
    return single_converter(root, server, **settings)


def config_args(st: Station) -> list[str]:
    return ["--config", str(st.config_path)]


def test_a_broken_file_is_listed_shown_fixed_and_requeued(
    tmp_path: Path, server: ServerThread
) -> None:
    st = station(tmp_path, server)
    write_settled(
        st.folder("watch") / "unit7.csv",
        "pn,P\nsn,UNIT-7\n\nname,value,low,high\nVCC,five,4.9,5.1\n",
    )
    st.start()
    wait_until((tmp_path / "error" / "unit7.csv.error").exists, 30, "quarantined", st)
    listed = cli("errors", "list", *config_args(st))
    assert (
        listed.returncode == 0
        and "unit7.csv" in listed.stdout
        and "'five' is not a number" in listed.stdout
    )
    shown = cli("errors", "show", "unit7.csv", *config_args(st))
    assert "line: 5" in shown.stdout and "field: value" in shown.stdout and "hint:" in shown.stdout
    (tmp_path / "error" / "unit7.csv").write_text(
        "pn,P\nsn,UNIT-7\n\nname,value,low,high\nVCC,5.0,4.9,5.1\n"
    )
    requeued = cli("errors", "requeue", "unit7.csv", *config_args(st))
    assert requeued.returncode == 0, requeued.stderr
    wait_until(lambda: "UNIT-7" in server.store.serial_counts(), 30, "delivered after requeue", st)
    assert not (tmp_path / "error" / "unit7.csv.error").exists()
    # the source moves once the server has answered: a moment after the report is stored
    wait_until((tmp_path / "done" / "unit7.csv").exists, 30, "moved to done", st)
    assert cli("errors", "show", "nope.csv", *config_args(st)).returncode == 1
    assert st.stop() == 0


def test_pending_reports_are_listed_and_retried_on_request(
    tmp_path: Path, server: ServerThread
) -> None:
    st = station(tmp_path, server, retry={"initial_s": 60, "max_s": 600})
    server.stop_listening()
    st.start()
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 3)
    wait_until(lambda: len(st.files("pending", "*.queued")) == 3, 30, "pending", st)
    listed = cli("pending", "list", *config_args(st))
    assert listed.stdout.count("sn=FILE-") == 3 and "3 reports pending" in listed.stderr
    time.sleep(0.5)
    server.resume_listening()  # the service would wait ~a minute on its own
    retried = cli("pending", "retry", *config_args(st))
    assert retried.returncode == 0 and "retrying every pending report now" in retried.stdout
    wait_until(lambda: server.store.count() == 3, 15, "sent after retry request", st)
    assert "retrying 3 pending reports now" in st.log()
    assert st.stop() == 0


def test_metrics_health_and_readiness(tmp_path: Path, server: ServerThread) -> None:
    st = station(tmp_path, server, health={"enabled": True, "port": 0})
    st.start()
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 5)
    wait_until(lambda: server.store.count() == 5, 30, "delivered", st)
    status = json.loads((tmp_path / "status.json").read_text())
    url = status["health_url"]
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
    converted = {
        s.labels["converter"]: s.value
        for s in families["wats_files_converted"].samples
        if s.name == "wats_files_converted_total"
    }
    assert converted == {"csv": 5.0}
    assert any(s.value == 5 for s in families["wats_submit_attempts"].samples)
    assert families["wats_pending_reports"].samples[0].value == 0
    assert families["wats_conversion_duration_seconds"].type == "histogram"
    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        assert json.load(response)["status"] == "alive"
    with urllib.request.urlopen(url + "/ready", timeout=10) as response:
        assert json.load(response)["ready"] is True
    server.faults.add(mode="status", status=401, count=100)
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 1, prefix="late")
    wait_until(lambda: "SUBMISSION PAUSED" in st.log(), 30, "paused", st)
    time.sleep(1.2)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url + "/ready", timeout=10)
    assert info.value.code == 503 and "submission paused" in info.value.read().decode()
    assert st.stop() == 0


def test_systemd_notify_ready_and_stopping(tmp_path: Path, server: ServerThread) -> None:
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(address))
        sock.settimeout(30)
        st = station(tmp_path, server)
        st.start(env={"NOTIFY_SOCKET": str(address)})
        assert sock.recv(100) == b"READY=1"
        assert st.stop() == 0
        assert sock.recv(100) == b"STOPPING=1"


def test_init_writes_a_config_that_checks(tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "converters.yaml"), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "check-config" in result.stdout
    assert (tmp_path / "data" / "watch").is_dir() and (tmp_path / "data" / "pending").is_dir()
    assert cli("check-config", "--config", str(tmp_path / "converters.yaml")).returncode == 0
    assert cli("init", str(tmp_path / "converters.yaml")).returncode == 2  # never overwrites


def test_version_json_logs_and_the_systemd_unit(tmp_path: Path, server: ServerThread) -> None:
    assert cli("version").stdout.startswith("wats-converter ")
    st = station(tmp_path, server)
    st.start("--log-json")
    wait_until(lambda: "startup scan" in st.log(), 30, "started", st)
    assert st.stop() == 0
    lines = [json.loads(line) for line in st.log().splitlines() if line.startswith("{")]
    assert any("startup scan" in entry["message"] for entry in lines)
    assert (tmp_path / "wats-converter.log").read_text().count("startup scan") == 1
    unit = cli("install-service", "--config", str(st.config_path), "--print").stdout
    assert "Type=notify" in unit and "Restart=on-failure" in unit and str(st.config_path) in unit


def test_sighup_reloads_a_good_config_and_refuses_a_bad_one(
    tmp_path: Path, server: ServerThread
) -> None:
    st = station(tmp_path, server)
    st.start()
    wait_until(lambda: "startup scan" in st.log(), 30, "started", st)
    good = st.config_path.read_text()
    st.config_path.write_text(good.replace("max_workers: 2", "max_workers: many"))
    assert st.proc is not None
    st.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in st.log(), 30, "refused", st)
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 2, prefix="old")
    wait_until(lambda: server.store.count() == 2, 30, "old config still works", st)
    st.config_path.write_text(
        good.replace(
            "converters:",
            """converters:
- name: json
  class_name: WSJFConverter
  watch_folder: watch
  patterns: ['*.json']
  post_process_action: DELETE""",
        )
    )
    st.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in st.log(), 30, "reloaded", st)
    assert "INFO    configuration reloaded" in st.log()  # good news is no warning
    TestFileGenerator.generate_batch(st.folder("watch"), "json", 2, prefix="new")
    wait_until(lambda: server.store.count() == 4, 30, "the new converter works", st)
    assert st.stop() == 0


@pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="`status --watch` redraws a terminal; this test runs it in a real one, which needs "
    "tmux (`apt-get install tmux`); .ci/run installs it",
)
def test_status_watch_in_a_real_terminal(tmp_path: Path, server: ServerThread) -> None:
    st = station(tmp_path, server)
    st.start()
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 3)
    wait_until(lambda: server.store.count() == 3, 30, "delivered", st)
    command = f"{sys.executable} -m wats_converter status --watch --config {st.config_path}"
    with tmux(command, 120, 30) as session:
        screen = screen_when(
            session,
            lambda screen: "refreshing every second" in screen and "converted 3" in screen,
            100,
        )
        assert "service: running" in screen, screen
        assert "csv: discovered 3, converted 3, failed 0" in screen, screen
        assert "pending reports: 0" in screen
    assert st.stop() == 0


def test_every_commented_starter_entry_works_once_uncommented(tmp_path: Path) -> None:
    """The starter config's commented converters (TestStand, the PCBA testers) are real
    entries: uncommented, they load and pass check-config."""
    config = tmp_path / "converters.yaml"
    assert cli("init", str(config), cwd=str(tmp_path)).returncode == 0
    lines, own = [], False
    for line in config.read_text().splitlines():
        own = own or "Your own converter" in line  # that one needs a module of yours
        if not own and line.startswith(("  # - name", "  #   ")):
            line = "  " + line[4:]
        lines.append(line)
    config.write_text("\n".join(lines) + "\n")
    names = [line.split("class_name: ")[1] for line in lines if "class_name: " in line]
    assert {"ATMLConverter", "GR228XConverter", "SPEAConverter", "XJTAGConverter"} <= {
        n.strip() for n in names
    }
    result = cli("check-config", "--config", str(config), "--create-folders")
    assert result.returncode == 0, result.stdout + result.stderr
