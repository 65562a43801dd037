"""`status`, `pending retry` and `/ready` tell a machine the truth: exit codes like systemctl,
a stale status file is not a running service, a request nobody takes is an error."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import cli
from tests.service.harness import single_converter, wait_until
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def test_status_is_0_while_running_and_3_once_stopped(tmp_path: Path, server: ServerThread) -> None:
    st = single_converter(tmp_path, server)
    config = ["--config", str(st.config_path)]
    never = cli("status", *config)
    assert never.returncode == 3 and "NOT RUNNING" in never.stdout
    st.start()
    wait_until((tmp_path / "status.json").exists, 30, "status written", st)
    running = cli("status", *config)
    assert running.returncode == 0, running.stdout + running.stderr
    assert "service: running, pid" in running.stdout
    assert json.loads(cli("status", "--json", *config).stdout)["running"] is True
    assert st.stop() == 0
    stopped = cli("status", *config)
    assert stopped.returncode == 3 and "NOT RUNNING (last seen" in stopped.stdout
    assert json.loads(cli("status", "--json", *config).stdout)["running"] is False


def test_status_right_after_run_once_says_not_running(tmp_path: Path, server: ServerThread) -> None:
    st = single_converter(tmp_path, server)
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 2)
    assert st.run_once().returncode == 0
    # status.json is fresh (written as run --once exited), yet nothing runs any more
    result = cli("status", "--config", str(st.config_path))
    assert result.returncode == 3, result.stdout
    assert "NOT RUNNING" in result.stdout and "service: running" not in result.stdout


def test_pending_retry_without_a_service_or_for_an_unknown_id_fails(
    tmp_path: Path, server: ServerThread
) -> None:
    st = single_converter(tmp_path, server, retry={"initial_s": 60, "max_s": 600})
    config = ["--config", str(st.config_path)]
    alone = cli("pending", "retry", *config)
    assert alone.returncode == 3 and "no service is running" in alone.stderr
    assert "asked the service" not in alone.stdout
    server.stop_listening()
    st.start()
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 1)
    wait_until(lambda: len(st.files("pending", "*.queued")) == 1, 30, "pending", st)
    unknown = cli("pending", "retry", "NOSUCHID", *config)
    assert unknown.returncode == 1 and "no pending report 'NOSUCHID'" in unknown.stderr
    report_id = st.files("pending", "*.queued")[0].name.split(".")[0]
    server.resume_listening()
    known = cli("pending", "retry", report_id, *config)
    assert known.returncode == 0 and f"retrying {report_id} now" in known.stdout
    wait_until(lambda: server.store.count() == 1, 15, "sent after retry", st)
    assert st.stop() == 0


def test_ready_is_503_while_the_server_cannot_be_reached(
    tmp_path: Path, server: ServerThread
) -> None:
    st = single_converter(tmp_path, server, health={"enabled": True, "port": 0})
    st.start()
    wait_until((tmp_path / "status.json").exists, 30, "status written", st)
    url = json.loads((tmp_path / "status.json").read_text())["health_url"]
    with urllib.request.urlopen(url + "/ready", timeout=10) as response:
        assert json.load(response)["ready"] is True
    server.stop_listening()
    TestFileGenerator.generate_batch(st.folder("watch"), "csv", 1)
    wait_until(lambda: len(st.files("pending", "*.queued")) == 1, 30, "pending", st)

    def not_ready() -> str:
        try:
            urllib.request.urlopen(url + "/ready", timeout=10).close()
        except urllib.error.HTTPError as exc:
            return str(exc.code) + exc.read().decode()
        return ""

    wait_until(lambda: "server unavailable" in not_ready(), 10, "not ready", st)
    assert not_ready().startswith("503")
    server.resume_listening()
    wait_until(lambda: server.store.count() == 1, 30, "delivered once back", st)
    wait_until(lambda: not_ready() == "", 10, "ready again", st)
    assert st.stop() == 0
