"""The composition root stops everything it started, however the run ends."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.service.harness import single_converter
from wats_converter.config import load_config
from wats_converter.server.fixture import ServerThread
from wats_converter.service import Service
from wats_converter.testing import TestFileGenerator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_run_that_fails_still_stops_its_health_server(
    tmp_path: Path, server: ServerThread
) -> None:
    """Bug 5: the health server was stopped only after a clean end of the TaskGroup, so a run
    that raised left its port bound, and the next start on the same config (a restart in the
    same process, a reload) failed with "address already in use"."""
    port = free_port()
    station = single_converter(tmp_path, server, health={"enabled": True, "port": port})
    TestFileGenerator.generate_batch(station.folder("watch"), "csv", 2)
    config = load_config(station.config_path)

    def broken_display(done: int, total: int) -> None:
        raise RuntimeError("the progress display broke")

    failing = Service(config, on_progress=broken_display)
    with pytest.raises(ExceptionGroup) as caught:
        await failing.run(once=True, once_timeout_s=30)
    assert caught.value.subgroup(RuntimeError) is not None
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
    # the same config starts again, on the same port, and finishes the work
    result = await Service(config).run(once=True, once_timeout_s=30)
    assert (result.converted, result.failed, result.pending) == (2, 0, 0)
