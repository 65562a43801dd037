"""One answer to "which converter takes this file": `convert FILE --config C` gives the file to
the converter the service would give it (enabled entries, their patterns, content choice)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import cli
from tests.service.yaml_writer import dump
from wats_converter.cli.convert import pick_converter
from wats_converter.config import load_config
from wats_converter.converters.registry import build_slots, route
from wats_converter.testing import TestFileGenerator


def write_config(folder: Path, converters: list[dict[str, Any]]) -> Path:
    path = folder / "converters.yaml"
    entries = [{"watch_folder": "watch", "post_process_action": "KEEP", **c} for c in converters]
    path.write_text(dump({"converters": entries}))
    (folder / "watch").mkdir(exist_ok=True)
    return path


def services_choice(config: Path, file: Path) -> str | None:
    slot = route(build_slots(load_config(config)), file)
    return None if slot is None else slot.converter.display_name


def test_convert_honours_the_patterns_the_service_uses(tmp_path: Path) -> None:
    # the station writes `.dat` files; the config says they are CSV tables
    config = write_config(
        tmp_path, [{"name": "tables", "class_name": "CSVConverter", "patterns": ["*.dat"]}]
    )
    for file in (tmp_path / "watch" / "run.dat", tmp_path / "copy-elsewhere.dat"):
        file.write_bytes(TestFileGenerator.render("csv", "DAT-1"))
        result = cli("convert", str(file), "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["sn"] == "DAT-1"
        assert "converter CSVConverter: its name matches *.dat" in result.stderr
    assert services_choice(config, tmp_path / "watch" / "run.dat") == "CSVConverter"


def test_convert_never_picks_a_disabled_converter(tmp_path: Path) -> None:
    # the old CSV entry is switched off; the station now writes SPEA logs under the same name
    config = write_config(
        tmp_path,
        [
            {"name": "old tables", "class_name": "CSVConverter", "enabled": False},
            {"name": "spea", "class_name": "SPEAConverter"},
        ],
    )
    file = tmp_path / "watch" / "board.csv"
    file.write_bytes(TestFileGenerator.render("csv", "TABLE-1"))
    converter, why = pick_converter(file, None, config)
    assert converter.display_name == services_choice(config, file) == "SPEAConverter"
    assert why == "its name matches *.csv"
    # named explicitly, a disabled entry is still there to try
    converter, why = pick_converter(file, "old tables", config)
    assert (converter.display_name, why) == ("CSVConverter", "named with --converter")


def test_a_file_outside_the_watch_folders_goes_where_it_would_if_dropped_in(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path,
        [
            {"name": "json", "class_name": "WSJFConverter"},
            {"name": "csv", "class_name": "CSVConverter", "watch_folder": "csv"},
        ],
    )
    (tmp_path / "csv").mkdir()
    file = tmp_path / "somewhere" / "r.csv"
    file.parent.mkdir()
    file.write_bytes(TestFileGenerator.render("csv", "ANY-1"))
    converter, _ = pick_converter(file, None, config)
    assert converter.display_name == services_choice(config, tmp_path / "csv" / "r.csv")
