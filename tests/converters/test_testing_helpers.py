"""`wats_converter.testing` for converter authors: convert_file and station_config."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.service.session_log import SessionLogConverter
from wats_converter.converters import RetryLater
from wats_converter.errors import ConfigError
from wats_converter.server.fixture import ServerThread
from wats_converter.service import Service
from wats_converter.testing import convert_file, station_config

LOG = "BOARD sn=A start=2026-03-04T09:00:00+01:00\nVCC 5.3 4.9 5.1 V\nEND SESSION\n"


def test_convert_file_gives_finished_reports_with_settings_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(LOG)
    (report,) = convert_file(SessionLogConverter, path, {"part_number": "PCBA-9"})
    assert (report.pn, report.sn, report.result) == ("PCBA-9", "A", "F")  # 5.3 > 5.1
    assert report.id is not None and report.startUTC is not None  # finalized
    assert report.machineName == "wats-converter"  # the station default
    step = report.root.steps[0]
    assert (step.numericMeas[0].compOp, step.status) == ("GELE", "F")  # type: ignore[index]


def test_convert_file_names_a_bad_setting(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(LOG)
    with pytest.raises(ConfigError, match=r"settings\.part_numbr: unknown key"):
        convert_file(SessionLogConverter, path, {"part_numbr": "x"})


def test_convert_file_says_when_the_file_is_not_complete(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(LOG.replace("END SESSION\n", ""))
    with pytest.raises(RetryLater, match="not complete"):
        convert_file(SessionLogConverter(), path)


def test_station_config_runs_a_service_against_the_local_server(
    tmp_path: Path, server: ServerThread
) -> None:
    config = station_config(
        tmp_path,
        {
            "class_name": "SessionLogConverter",
            "module_path": "tests.service.session_log",
            "settings": {"part_number": "PCBA-7"},
        },
        server={"url": server.url, "token": server.token},
    )
    (tmp_path / "watch").mkdir()
    (tmp_path / "watch" / "s.log").write_text(LOG)
    result = asyncio.run(Service(config).run(once=True, once_timeout_s=30))
    assert (result.converted, result.failed, result.pending) == (1, 0, 0)
    assert server.store.serial_counts() == {"A": 1}
    assert (tmp_path / "done" / "s.log").exists()
