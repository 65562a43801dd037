"""systemd's notify protocol (Type=notify): READY, STOPPING and the watchdog, without libsystemd.

Inert when the service is not started by systemd (no NOTIFY_SOCKET).
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send `state` (e.g. "READY=1") to systemd; False when not run under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())
    return True


def watchdog_interval_s() -> float | None:
    """Half of systemd's WatchdogSec, the interval to send WATCHDOG=1 at, if a watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or os.environ.get("WATCHDOG_PID", str(os.getpid())) != str(os.getpid()):
        return None
    return int(usec) / 2_000_000


UNIT = """\
[Unit]
Description=wats-converter: test results to WATS
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
ExecStart={exe} run --config {config}
ExecReload=/bin/kill -HUP $MAINPID
WorkingDirectory={workdir}
Restart=on-failure
RestartSec=5
WatchdogSec=60
TimeoutStopSec=60
{user}
[Install]
WantedBy={wanted_by}
"""


def unit_text(exe: str, config: str, workdir: str, *, user: str | None, system: bool) -> str:
    return UNIT.format(
        exe=exe,
        config=config,
        workdir=workdir,
        user=f"User={user}\n" if user else "",
        wanted_by="multi-user.target" if system else "default.target",
    )
