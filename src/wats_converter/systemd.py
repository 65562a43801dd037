"""systemd's notify protocol (Type=notify): READY, STOPPING and the watchdog, without libsystemd.

Inert when the service is not started by systemd (no NOTIFY_SOCKET).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


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


# Sandboxing that needs no privileges of its own (seccomp, no new privileges): user units too.
COMMON_HARDENING = """\
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
UMask=0027
"""

# Mount and capability sandboxing: a system unit's. The service needs its folders, the network
# (to the WATS server, and loopback for the embedded server and metrics), nothing else.
SYSTEM_HARDENING = """\
ProtectSystem=strict
ProtectHome={protect_home}
PrivateTmp={private_tmp}
PrivateDevices=yes
DevicePolicy=closed
PrivateUsers=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
CapabilityBoundingSet=
AmbientCapabilities=
RemoveIPC=yes
PrivateMounts=yes
KeyringMode=private
"""

UNIT = """\
[Unit]
Description=wats-converter: test results to WATS
Documentation=file://{config}
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
{account}EnvironmentFile=-{env_file}
ExecStartPre={exe} check-config --config {config}
ExecStart={exe} run --config {config}
ExecReload=/bin/kill -HUP $MAINPID
WorkingDirectory={workdir}
{state}Restart=on-failure
RestartSec=5
WatchdogSec=60
TimeoutStopSec=60

{hardening}
[Install]
WantedBy={wanted_by}
"""

STATE_DIRECTORY = "wats-converter"
"""`StateDirectory=`: /var/lib/wats-converter, made and owned for the service's user."""
ENV_FILE = "wats-converter.env"


def unit_text(
    exe: str,
    config: str,
    *,
    user: str | None,
    system: bool,
    group: str | None = None,
    folders: list[str] | None = None,
) -> str:
    """The systemd unit for one config: hardened, checked before each start, token from a file.

    The service runs in the config's folder, and `EnvironmentFile=` is `wats-converter.env`
    beside the config: `WATS_TOKEN=...` lives there for `server.token_env`, readable by root
    only.

    Args:
        user, group: the account of a system unit (`User=`, `Group=`; group defaults to user).
        folders: the config's data folders, the only places a system unit may write.
    """
    if user and not system:
        raise ValueError("User= belongs in a system unit: a user unit runs as its user")
    folders = sorted(set(folders or []))
    hardening = COMMON_HARDENING
    if system:
        under_home = any(f.startswith(("/home/", "/root/", "/run/user/")) for f in folders)
        # a private /tmp would hide data folders that live in the real one
        under_tmp = any(f.startswith(("/tmp/", "/var/tmp/")) for f in folders)
        hardening += SYSTEM_HARDENING.format(
            protect_home="read-only" if under_home else "yes",
            private_tmp="no" if under_tmp else "yes",
        )
        # "-": a folder that is not there yet does not stop the unit; check-config reports it
        hardening += "".join(f"ReadWritePaths=-{f}\n" for f in folders)
    account = ""
    if user:
        account = f"User={user}\nGroup={group or user}\n"
    return UNIT.format(
        exe=exe,
        config=config,
        workdir=str(Path(config).parent),
        account=account,
        env_file=str(Path(config).parent / ENV_FILE),
        state=f"StateDirectory={STATE_DIRECTORY}\nStateDirectoryMode=0750\n" if system else "",
        hardening=hardening,
        wanted_by="multi-user.target" if system else "default.target",
    )
