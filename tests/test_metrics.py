"""The metrics a collector scrapes: build info, process, submit latency, error folder; on in
the zero-config run and in the `init` config; the names the docs list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import cli
from tests.service.harness import REPO, single_converter, wait_until, write_settled
from wats_converter import __version__
from wats_converter.config import load_config
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def scrape(url: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        f.name: [(s.name, s.labels, s.value) for s in f.samples]
        for f in text_string_to_metric_families(text)
    }


def test_build_process_latency_and_error_folder_metrics(
    tmp_path: Path, server: ServerThread
) -> None:
    st = single_converter(tmp_path, server, health={"enabled": True, "port": 0})
    st.start()
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 3)
    write_settled(st.folder("watch") / "bad.csv", "not a result\n")
    wait_until(lambda: server.store.count() == 3, 30, "delivered", st)
    wait_until((tmp_path / "error" / "bad.csv.error").exists, 30, "failed", st)
    metrics = scrape(json.loads((tmp_path / "status.json").read_text())["health_url"])
    [(_, build, value)] = metrics["wats_build_info"]
    assert build["version"] == __version__ and value == 1
    assert metrics["process_resident_memory_bytes"][0][2] > 1_000_000
    assert metrics["process_cpu_seconds"][0][2] > 0
    latency = {name: value for name, labels, value in metrics["wats_submit_duration_seconds"]}
    assert latency["wats_submit_duration_seconds_count"] == 3
    assert 0 < latency["wats_submit_duration_seconds_sum"] < 30
    assert metrics["wats_error_files"] == [("wats_error_files", {}, 1.0)]
    assert metrics["wats_unmatched_files"] == [("wats_unmatched_files", {}, 0.0)]
    assert st.stop() == 0


def test_metrics_are_on_in_the_zero_config_run(tmp_path: Path) -> None:
    data = tmp_path / "wats-data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wats_converter", "run", "--data", str(data)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        status = data / "status.json"
        deadline = time.monotonic() + 30
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        url = json.loads(status.read_text())["health_url"]
        assert url.startswith("http://127.0.0.1:")
        assert scrape(url)["wats_build_info"][0][1]["version"] == __version__
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_the_init_config_turns_metrics_on(tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "converters.yaml")).returncode == 0
    health = load_config(tmp_path / "converters.yaml").health
    assert health.enabled and health.host == "127.0.0.1" and health.port == 9464


def test_every_exported_name_is_documented() -> None:
    doc = (REPO / "docs" / "operations.md").read_text()
    for name in (
        "wats_build_info",
        "wats_files_discovered_total",
        "wats_files_converted_total",
        "wats_files_failed_total",
        "wats_files_skipped_total",
        "wats_submit_attempts_total",
        "wats_conversion_duration_seconds",
        "wats_submit_duration_seconds",
        "wats_pending_reports",
        "wats_pending_oldest_age_seconds",
        "wats_queue_depth",
        "wats_files_in_work",
        "wats_submission_paused",
        "wats_storage_blocked",
        "wats_error_files",
        "wats_unmatched_files",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ):
        assert f"`{name}" in doc, name
