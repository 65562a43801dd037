"""Small helpers shared by tests (comparing WSJF documents the way the spec allows)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from wats_converter.report import OUTPUT_ONLY as REPORT_OUTPUT_ONLY

OUTPUT_ONLY = REPORT_OUTPUT_ONLY["report"] | REPORT_OUTPUT_ONLY["uut"]


def normalise(value: Any, key: str = "") -> Any:
    """Remove what the spec lets differ: number notation, time-zone notation, id and op case."""
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in value.items() if k not in OUTPUT_ONLY}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and key in ("start", "startUTC"):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    if isinstance(value, str) and key in ("compOp", "id", "refUUT", "parent"):
        return value.upper()
    return value


def cli(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `wats-converter` command in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "wats_converter", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@contextmanager
def tmux(command: str, width: int, height: int, prefix: str = "wats") -> Iterator[str]:
    """Run `command` in a detached tmux session (a real terminal of `width` x `height`); the
    session's name, for `screen_when`. The session is killed at the end."""
    session = f"{prefix}{os.getpid()}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command],
        check=True,
    )
    try:
        yield session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def screen_when(session: str, done: Callable[[str], bool], tries: int) -> str:
    """The tmux session's screen once `done(screen)`, looked at every 0.1 s up to `tries`
    times (the last screen when it never is)."""
    screen = ""
    for _ in range(tries):
        time.sleep(0.1)
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if done(screen):
            break
    return screen
