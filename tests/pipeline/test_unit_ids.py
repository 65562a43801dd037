"""Report ids come from each unit, never from the whole file (architecture invariant 3)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.service.session_log import SessionLogConverter
from wats_converter.converters import StationDefaults
from wats_converter.testing import convert_file, minimal_report


def _board(sn: str, start: str = "2026-03-04T09:00:00+01:00", vcc: str = "5.01") -> str:
    return f"BOARD sn={sn} start={start}\nVCC {vcc} 4.9 5.1 V\n"


def _ids(path: Path, **kw: object) -> list[uuid.UUID | None]:
    return [r.id for r in convert_file(SessionLogConverter, path, **kw)]  # type: ignore[arg-type]


def test_appending_units_changes_the_id_of_none_already_there(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(_board("A") + _board("B") + "END SESSION\n")
    before = _ids(path)
    assert before == _ids(path)  # the same file twice: the same ids
    path.write_text(_board("A") + _board("B") + _board("C") + "END SESSION\n")
    after = _ids(path)
    assert after[:2] == before and after[2] not in before


def test_two_different_units_with_the_same_serial_and_start_get_two_ids(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(_board("A", vcc="5.01") + _board("A", vcc="5.02") + "END SESSION\n")
    first, second = _ids(path)
    assert first != second


def test_two_identical_units_in_one_file_stay_two_reports(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(_board("A") * 2 + "END SESSION\n")
    first, second = _ids(path)
    assert first != second
    path.write_text(_board("A") * 3 + "END SESSION\n")
    assert _ids(path)[:2] == [first, second]


def test_station_defaults_do_not_change_a_units_id(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(_board("A") + "END SESSION\n")
    here = _ids(path, station=StationDefaults(name="ST-1"))
    there = _ids(path, station=StationDefaults(name="ST-2", operator="someone"))
    assert here == there


def test_an_id_the_file_carries_wins(tmp_path: Path) -> None:
    from wats_converter.converters.builtin.wsjf import WSJFConverter

    own = uuid.UUID("0b5c9e7a-1111-4222-8333-444455556666")
    with_id, without = minimal_report("A"), minimal_report("B")
    with_id.id, without.id = own, None
    path = tmp_path / "two.json"
    path.write_text(json.dumps([with_id.to_dict(), without.to_dict()]))
    ids = [r.id for r in convert_file(WSJFConverter, path)]
    assert ids[0] == own and ids[1] is not None and ids[1] != own
