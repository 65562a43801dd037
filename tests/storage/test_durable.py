"""Crash-safe file operations on real folders."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from wats_converter.errors import StorageError
from wats_converter.pipeline.error_folder import ErrorInfo, quarantine
from wats_converter.pipeline.post_process import zip_file
from wats_converter.storage.durable import move_no_overwrite, unique_path, write_atomic
from wats_converter.storage.identity import identity_of
from wats_converter.storage.journal import Journal


def test_moves_never_overwrite(tmp_path: Path) -> None:
    done = tmp_path / "done"
    names = []
    for content in ("one", "two", "three"):
        source = tmp_path / "result.tar.gz"
        source.write_text(content)
        names.append(move_no_overwrite(source, done).name)
    assert names == ["result.tar.gz", "result_1.tar.gz", "result_2.tar.gz"]
    assert (done / "result_1.tar.gz").read_text() == "two"


def test_a_move_interrupted_after_the_link_is_finished_not_repeated(tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    source = tmp_path / "r.json"
    source.write_text("x")
    os.link(source, done / "r.json")  # the crash happened between link and unlink
    assert move_no_overwrite(source, done) == done / "r.json"
    assert not source.exists()
    assert [p.name for p in done.iterdir()] == ["r.json"]


def test_unique_path_respects_sidecars(tmp_path: Path) -> None:
    (tmp_path / "a.csv.error").write_text("{}")
    assert unique_path(tmp_path, "a.csv", sidecar=".error").name == "a_1.csv"


def test_write_atomic_leaves_no_temp_and_reports_storage_errors(tmp_path: Path) -> None:
    write_atomic(tmp_path / "x.json", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    with pytest.raises(StorageError, match="cannot write"):
        write_atomic(tmp_path / "missing" / "x.json", b"{}")


def test_zip_holds_the_file_and_removes_the_source(tmp_path: Path) -> None:
    source = tmp_path / "watch" / "r.csv"
    source.parent.mkdir()
    source.write_text("pn,P\n")
    identity = identity_of(source)
    assert identity is not None
    archive = zip_file(source, tmp_path / "archive", identity)
    with zipfile.ZipFile(archive) as z:
        assert z.read("r.csv") == b"pn,P\n"
    assert not source.exists()
    assert [p.name for p in (tmp_path / "archive").iterdir()] == ["r.csv.zip"]


def test_quarantine_pairs_file_and_error_even_on_collisions(tmp_path: Path) -> None:
    error = tmp_path / "error"
    for i in range(3):
        source = tmp_path / "bad.csv"
        source.write_text(f"v{i}")
        info = ErrorInfo.from_exception(
            ValueError(f"bad {i}"), file=source, converter="CSV", hint="fix it"
        )
        moved = quarantine(source, error, info)
        detail = json.loads(moved.with_name(moved.name + ".error").read_text())
        assert detail["exception"] == f"bad {i}" and moved.read_text() == f"v{i}"
    assert sorted(p.name for p in error.iterdir()) == [
        "bad.csv",
        "bad.csv.error",
        "bad_1.csv",
        "bad_1.csv.error",
        "bad_2.csv",
        "bad_2.csv.error",
    ]


def test_journal_remembers_kept_files_and_attempts_across_reopen(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    kept, poison, gone = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    poison.write_text("x")
    journal.keep(kept, (10, 123), "KEEP", "csv")
    assert journal.start_attempts([poison]) == [1]
    assert journal.start_attempts([poison]) == [2]
    journal.start_attempts([gone])  # a file that will be gone by the next start
    journal.close()
    again = Journal(tmp_path / "j.sqlite")
    assert again.is_kept(kept, (10, 123))
    assert not again.is_kept(kept, (11, 123))  # same name, new content
    assert again.attempts(poison) == 2
    assert again.attempts(gone) == 0  # pruned: nothing left to protect against
    again.clear_attempts(poison)
    assert again.attempts(poison) == 0
    again.close()
    assert Journal(tmp_path / "j.sqlite").attempts(poison) == 0  # the clear was written on close


def test_keeping_a_file_ends_its_attempt_even_across_a_crash(tmp_path: Path) -> None:
    kept = tmp_path / "k.json"
    kept.write_text("{}")
    journal = Journal(tmp_path / "j.sqlite")
    journal.start_attempts([kept])
    journal.clear_attempts(kept)  # lazily written ...
    journal.keep(kept, (2, 1), "KEEP", "json")  # ... but keeping ends it in the same commit
    # no close(): a crash right here must not leave an unfinished attempt behind
    reopened = Journal(tmp_path / "j.sqlite")
    assert reopened.attempts(kept) == 0 and reopened.is_kept(kept, (2, 1))
