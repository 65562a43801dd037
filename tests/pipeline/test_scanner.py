"""The scan over real folders: which files each converter claims, oldest first."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wats_converter.config import Config
from wats_converter.converters.registry import build_slots
from wats_converter.pipeline.scanner import DirMemo, ScanStats, scan

PICKY = textwrap.dedent("""\
    from wats_converter.converters.builtin.csv import CSVConverter

    class PickyConverter(CSVConverter):
        def matches_file(self, file_path):
            return file_path.name.startswith("ok_") and super().matches_file(file_path)
    """)


@pytest.fixture
def picky_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "picky_converter.py").write_text(PICKY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "picky_converter"
    sys.modules.pop("picky_converter", None)


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for age, name in enumerate(reversed(names)):  # the first name is the oldest
        (folder / name).write_text("x")
        then = 1_700_000_000 - age * 60
        os.utime(folder / name, (then, then))


def scanned(tmp_path: Path, **entry: Any) -> list[str]:
    config = Config.model_validate(
        {"server": {"url": "http://127.0.0.1:1"}, "converters": [{"name": "c", **entry}]}
    )
    found = scan(build_slots(config), {tmp_path / "watch" / "done"}, ScanStats())
    return [str(c.path.relative_to(tmp_path / "watch")) for c in found]


def test_a_default_converter_claims_its_extensions_oldest_first(tmp_path: Path) -> None:
    watch = tmp_path / "watch"
    touch(watch, "b.CSV", "a.csv", ".hidden.csv", "c.csv.tmp", "notes.txt", "~$lock.csv")
    touch(watch / "line2", "d.csv")
    touch(watch / "done", "old.csv")
    entry = {"class_name": "CSVConverter", "watch_folder": str(watch), "recursive": True}
    assert scanned(tmp_path, **entry) == ["b.CSV", "a.csv", "line2/d.csv"]
    assert scanned(tmp_path, **{**entry, "recursive": False}) == ["b.CSV", "a.csv"]


def test_a_converter_that_refines_matches_file_is_asked_unless_patterns_are_explicit(
    tmp_path: Path, picky_module: str
) -> None:
    touch(tmp_path / "watch", "ok_1.csv", "no_2.csv", "ok_3.txt")
    entry = {
        "class_name": "PickyConverter",
        "module_path": picky_module,
        "watch_folder": str(tmp_path / "watch"),
    }
    assert scanned(tmp_path, **entry) == ["ok_1.csv"]
    assert scanned(tmp_path, **entry, patterns=["*.csv"]) == ["ok_1.csv", "no_2.csv"]


def age(*folders: Path) -> None:
    """Make folders look settled (modified a minute ago), as a quiet station's folders are."""
    then = time.time() - 60
    for folder in folders:
        os.utime(folder, (then, then))


def test_a_rescan_with_a_memo_lists_only_changed_folders_and_still_finds_every_new_file(
    tmp_path: Path,
) -> None:
    watch = tmp_path / "watch"
    touch(watch, "a.csv")
    touch(watch / "l1", "b.csv")
    touch(watch / "l1" / "deep", "c.csv")
    age(watch, watch / "l1", watch / "l1" / "deep")
    config = Config.model_validate(
        {
            "server": {"url": "http://127.0.0.1:1"},
            "converters": [
                {
                    "name": "c",
                    "class_name": "CSVConverter",
                    "watch_folder": str(watch),
                    "recursive": True,
                },
                {
                    "name": "w",
                    "class_name": "WSJFConverter",
                    "watch_folder": str(watch),
                    "recursive": True,
                },
            ],
        }
    )
    slots, memo = build_slots(config), DirMemo()

    def names(stats: ScanStats | None = None, *, full: bool = False) -> list[str]:
        found = scan(slots, set(), stats or ScanStats(), memo, full=full)
        return sorted(str(c.path.relative_to(watch)) for c in found)

    assert names(full=True) == ["a.csv", "l1/b.csv", "l1/deep/c.csv"]
    quiet = ScanStats()
    assert names(quiet) == [] and quiet.unchanged_folders == 6 and quiet.scanned == 0
    # new files in a deep folder, for both converters sharing it, are found: that folder is
    # listed again (the queue and the journal know its older files), the others are not
    (watch / "l1" / "deep" / "d.csv").write_text("x")
    (watch / "l1" / "deep" / "e.json").write_text("{}")
    assert names() == ["l1/deep/c.csv", "l1/deep/d.csv", "l1/deep/e.json"]
    # a file rewritten in place without a watcher event waits for the next full scan
    age(watch / "l1" / "deep")
    names()
    (watch / "a.csv").write_text("rewritten")
    assert names() == []
    assert "a.csv" in names(full=True)
