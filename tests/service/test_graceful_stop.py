"""A stop finishes the work in flight: a report the server is answering is not cut off before
its source is post-processed; what cannot finish within `shutdown_grace_s` stays for the next
start and is never lost."""

from __future__ import annotations

import time
from pathlib import Path

from ruamel.yaml import YAML

from tests.service import yaml_writer
from tests.service.harness import single_converter, wait_until, write_settled
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def test_a_stop_while_the_server_answers_slowly_finishes_the_file(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server)  # the default grace: 10 s
    watch = station.folder("watch")
    server.faults.add(mode="delay", ms=2000)
    station.start()
    write_settled(watch / "slow.csv", TestFileGenerator.render("csv", "SLOW-1").decode())
    wait_until(lambda: not server.faults.pending(), 30, "the POST to arrive", station)
    started = time.monotonic()
    assert station.stop() == 0
    took = time.monotonic() - started
    assert [p.name for p in station.files("done")] == ["slow.csv"]
    assert station.files("watch") == [] and station.files("pending") == []
    assert list(server.store.receive_counts().values()) == [1]
    assert took < 10, f"the stop waited {took:.1f} s for a 2 s answer"
    assert "Traceback" not in station.log()


def test_a_stop_with_a_server_that_never_answers_ends_within_the_grace_and_loses_nothing(
    tmp_path: Path, server: ServerThread
) -> None:
    # the client would wait 30 s for an answer; the stop waits 1 s, then cancels the POST
    station = single_converter(tmp_path, server, shutdown_grace_s=1)
    config = YAML(typ="safe").load(station.config_path.read_text())
    config["server"]["timeout_s"] = 30
    station.config_path.write_text(yaml_writer.dump(config))
    watch = station.folder("watch")
    server.faults.add(mode="delay", ms=15000)
    station.start()
    write_settled(watch / "stuck.csv", TestFileGenerator.render("csv", "STUCK-1").decode())
    wait_until(lambda: not server.faults.pending(), 30, "the POST to arrive", station)
    started = time.monotonic()
    assert station.stop() == 0
    took = time.monotonic() - started
    # well short of the answer: the stop did not wait for it (a loaded machine adds seconds)
    assert took < 10, f"the stop took {took:.1f} s with a grace of 1 s"
    assert [p.name for p in station.files("watch")] == ["stuck.csv"]  # stays for the next start
    assert station.files("done") == []
    assert "converted again by the next start" in station.log()
    # the next start converts it again: one report, stored under the same id
    station.start()
    wait_until(lambda: station.files("done") != [], 30, "the file post-processed", station)
    assert station.stop() == 0
    assert server.store.serial_counts() == {"STUCK-1": 1}
    assert station.files("watch") == []
