"""Shared set-up of fault scenarios: a four-action station and the files dropped into it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.judge import Dropped
from tests.service.harness import Station
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import TestFileGenerator, write_atomically


@contextlib.contextmanager
def tiny_tmpfs(folder: Path, size: str = "256k") -> Iterator[Path]:
    """`folder` as a tmpfs of `size`: a real file system that really fills up (ENOSPC).

    Mounting needs root. CI runs as root, so these tests run there; elsewhere they skip and
    say why, since a full disk cannot be faked honestly (an injected error is not the kernel's).
    """
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip(
            "a real ENOSPC needs a small tmpfs, and mounting one needs root; "
            "CI runs as root, so it runs there"
        )
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"the kernel refused to mount a tmpfs ({mounted.stderr.strip()}); "
            "without it there is no real full disk to test against"
        )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


ACTIONS = {"MOVE": "json", "ZIP": "csv", "KEEP": "json", "DELETE": "csv"}
CLASSES = {"json": "WSJFConverter", "csv": "CSVConverter"}


def four_action_station(root: Path, server: ServerThread, **settings: object) -> Station:
    converters = [
        {
            "name": action.lower(),
            "class_name": CLASSES[ext],
            "watch_folder": f"watch/{action.lower()}",
            "done_folder": "done",
            "error_folder": "error",
            "post_process_action": action,
            "priority": 5,
        }
        for action, ext in ACTIONS.items()
    ]
    return Station(root, server, converters, **settings)


def drop(station: Station, per_action: int, tag: str, *, broken: int = 1) -> list[Dropped]:
    """Write `per_action` good files per action plus `broken` files that must be quarantined."""
    dropped = []
    for action, ext in ACTIONS.items():
        folder = station.folder(f"watch/{action.lower()}")
        for i in range(per_action):
            sn = f"{tag}-{action}-{i}".upper()
            content = TestFileGenerator.render(ext, sn, seed=i)
            write_atomically(folder / f"{sn.lower()}.{ext}", content)
            dropped.append(Dropped(f"{sn.lower()}.{ext}", content, sn, action))
    for i in range(broken):
        path = station.folder("watch/move") / f"{tag}-broken-{i}.json"
        content = f'{{"pn": "P", "sn": "{tag}-{i}", '.encode()
        path.write_bytes(content)
        past = time.time() - 60  # old: a broken old file is not "still being written"
        os.utime(path, (past, past))
        dropped.append(Dropped(path.name, content, "", "ERROR"))
    return dropped
