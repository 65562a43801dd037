"""A shared XML folder survives a file whose declared encoding expat cannot read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.converters.test_content_choice import SAMPLES, xml_converters
from tests.service.harness import Station
from wats_converter.server.fixture import ServerThread


def test_a_multibyte_xml_declaration_does_not_stop_the_scan(
    tmp_path: Path, server: ServerThread
) -> None:
    station = Station(
        tmp_path,
        server,
        xml_converters(done_folder="done", error_folder="error", post_process_action="MOVE"),
    )
    watch = station.folder("watch")
    shutil.copy(SAMPLES["ts-with.xml"], watch / "good.xml")
    (watch / "jp.xml").write_bytes(
        '<?xml version="1.0" encoding="Shift_JIS"?>\n<TSReport/>\n'.encode("shift_jis")
    )
    station.run_once(timeout=60)
    assert server.store.count() == 1  # the scan went on: the good file is delivered
    assert [p.name for p in station.files("done")] == ["good.xml"]
    # not lost either: in the error folder, with its .error
    assert json.loads((tmp_path / "error" / "jp.xml.error").read_text())["exception"]
