"""File identity, open-for-writing detection and names at the file system's limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wats_converter.storage.durable import NAME_MAX_BYTES, candidate_names, fit_name
from wats_converter.storage.identity import (
    SourceReplaced,
    check_unchanged,
    held_open_for_writing,
    identity_of,
    open_regular,
)


def test_a_replacement_with_the_same_size_and_mtime_is_another_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"A" * 10)
    first = identity_of(path)
    assert first is not None
    other = tmp_path / ".new"
    other.write_bytes(b"B" * 10)
    os.utime(other, ns=(first.mtime_ns, first.mtime_ns))
    os.replace(other, path)
    with pytest.raises(SourceReplaced):
        check_unchanged(path, first)
    with pytest.raises(SourceReplaced):
        open_regular(path, first)


def test_symlinks_have_no_identity_and_are_not_opened(tmp_path: Path) -> None:
    target = tmp_path / "target.csv"
    target.write_text("x")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert identity_of(link) is None
    with pytest.raises(SourceReplaced):
        open_regular(link)


@pytest.mark.skipif(
    sys.platform != "linux",
    reason="the open-for-writing check uses Linux read leases (F_SETLEASE); on other systems "
    "settle_s alone decides (docs/reliability.md)",
)
def test_a_file_open_for_writing_in_another_process_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "half.csv"
    path.write_text("pn,P\n")
    writer = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(path)!r}, 'a'); import time; time.sleep(30)"]
    )
    try:
        deadline = time.monotonic() + 10
        while not held_open_for_writing(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held_open_for_writing(path) is True
    finally:
        writer.kill()
        writer.wait()
    assert held_open_for_writing(path) is False


def test_long_names_keep_their_extension_and_whole_characters() -> None:
    name = "é" * 126 + ".csv"  # 256 bytes: one too many once a suffix is added
    fitted = fit_name(name, len(".error"))
    raw = os.fsencode(fitted)
    assert fitted.endswith(".csv") and len(raw) + len(".error") <= NAME_MAX_BYTES
    raw.decode("utf-8")  # no character cut in two
    names = candidate_names(Path("/x"), name, 6)
    next(names)
    for n in range(1, 12):
        suffixed = next(names).name
        assert len(os.fsencode(suffixed)) + 6 <= NAME_MAX_BYTES
        assert suffixed.endswith(f"_{n}.csv")
