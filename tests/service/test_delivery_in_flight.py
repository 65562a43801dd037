"""Many reports in flight at once (delivery decoupled from conversion, issue 17): a clean stop
post-processes every source whose report the server accepted, and each is stored once."""

from __future__ import annotations

from pathlib import Path

from tests.service.harness import single_converter, wait_until, write_settled
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator


def test_a_stop_with_many_reports_in_flight_finishes_every_one_the_server_accepts(
    tmp_path: Path, server: ServerThread
) -> None:
    station = single_converter(tmp_path, server)  # 4 workers, the default grace of 10 s
    watch = station.folder("watch")
    server.faults.add(mode="delay", ms=2500, count=24)
    station.start()
    for i in range(24):
        write_settled(watch / f"f{i:02}.csv", TestFileGenerator.render("csv", f"F-{i}").decode())
    wait_until(lambda: not server.faults.pending(), 60, "every POST to arrive", station)
    # the stop comes while some of them still wait for their answer
    assert server.store.count() < 24
    assert station.stop() == 0
    assert len(station.files("done")) == 24 and station.files("watch") == []
    assert station.files("pending") == []
    assert server.store.serial_counts() == {f"F-{i}": 1 for i in range(24)}
    assert "Traceback" not in station.log()
