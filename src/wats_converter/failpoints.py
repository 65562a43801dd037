"""Failpoints: named places in a file's life where the fault suite can crash the service.

Inert unless the environment variable `WATS_CONVERTER_FAILPOINTS` arms them, e.g.

    WATS_CONVERTER_FAILPOINTS="after_spool_rename=kill"
    WATS_CONVERTER_FAILPOINTS="mid_move=raise,after_2xx=sleep:5"
    WATS_CONVERTER_FAILPOINTS="after_detect=kill@3"      (on the 3rd hit)

Modes: `kill` (SIGKILL this process: no cleanup, like a power cut for the process), `raise`
(an OSError, like a failing disk), `sleep:SECONDS`. Names are listed in `FAILPOINTS`.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
import time

ENV = "WATS_CONVERTER_FAILPOINTS"
FAILPOINTS = (
    "after_detect",  # a worker took the file, nothing read yet
    "after_read",  # the file passed its size and completeness checks, not converted yet
    "mid_convert",  # the converter returned, the report is not finished
    "spool_before_rename",  # the report's temp file is written and fsynced, not renamed
    "after_spool_rename",  # the report is in pending/, not yet queued; the source untouched
    "before_post_process",  # the source is about to be moved/zipped/deleted/kept
    "mid_move",  # the file is linked into its new folder, the source not removed
    "mid_zip",  # the archive's temp file is written, not linked into place
    "after_request_sent",  # the server answered, the answer is not looked at
    "after_2xx",  # the server accepted the report; its .queued file (if any) or source remain
)


class _Armed:
    def __init__(self, spec: str) -> None:
        self.points: dict[str, tuple[str, float, int]] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        for item in filter(None, (p.strip() for p in spec.split(","))):
            name, _, action = item.partition("=")
            action, _, nth = action.partition("@")
            mode, _, arg = action.partition(":")
            if name not in FAILPOINTS or mode not in ("kill", "raise", "sleep"):
                raise ValueError(f"{ENV}: bad failpoint {item!r}; names: {', '.join(FAILPOINTS)}")
            self.points[name] = (mode, float(arg or 0), int(nth or 1))


_armed = _Armed(os.environ[ENV]) if os.environ.get(ENV) else None


def failpoint(name: str) -> None:
    """Trigger the failpoint `name` if it is armed; otherwise do nothing (one global check)."""
    if _armed is None or name not in _armed.points:
        return
    mode, arg, nth = _armed.points[name]
    with _armed.lock:
        _armed.hits[name] = hit = _armed.hits.get(name, 0) + 1
    if hit != nth and mode != "sleep":
        return
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "raise":
        raise OSError(errno.EIO, f"failpoint {name}")
    else:
        time.sleep(arg)
