"""The Windows service route: a WinSW service definition for one config.

WinSW (github.com/winsw/winsw, MIT) is a small, maintained executable that runs any program as
a Windows service: it starts the program at boot, restarts it when it fails, rolls its log, and
stops it with Ctrl+C, which `wats-converter run` handles as a clean stop. `install-service
--windows` writes `wats-converter-service.xml`; the WinSW executable, renamed to
`wats-converter-service.exe` beside it, reads that file (`install`, `start`, `stop`,
`uninstall`, `status`).
"""

from __future__ import annotations

from pathlib import PureWindowsPath
from xml.etree import ElementTree as ET

SERVICE_ID = "wats-converter"
XML_NAME = "wats-converter-service.xml"
EXE_NAME = "wats-converter-service.exe"
LOG_ROLL_KB = 10 * 1024
LOG_KEEP = 5


def service_xml(
    exe: str,
    config: str,
    workdir: str,
    *,
    account: str | None = None,
    log_dir: str | None = None,
) -> str:
    """The WinSW XML for `exe run --config config`.

    Args:
        exe: the full path of `wats-converter.exe` (in the venv's `Scripts` folder).
        account: run as this account (e.g. `NT AUTHORITY\\LocalService` or `.\\wats`); the
            password of a real account is given at `install /p`. None: LocalSystem, WinSW's
            default.
        log_dir: where WinSW keeps the console output (default: `logs` beside the config).
    """
    service = ET.Element("service")
    for tag, text in (
        ("id", SERVICE_ID),
        ("name", "wats-converter"),
        ("description", "Converts test-station result files to WATS reports and delivers them."),
        ("executable", exe),
        ("arguments", f'run --config "{config}"'),
        ("workingdirectory", workdir),
        ("startmode", "Automatic"),
        ("delayedAutoStart", "true"),
        # WinSW sends Ctrl+C first; the service finishes the files in work within this time
        ("stopparentprocessfirst", "true"),
        ("stoptimeout", "60 sec"),
        ("resetfailure", "1 hour"),
        ("logpath", log_dir or str(PureWindowsPath(config).parent / "logs")),
    ):
        ET.SubElement(service, tag).text = text
    for delay in ("10 sec", "30 sec", "60 sec"):
        ET.SubElement(service, "onfailure", action="restart", delay=delay)
    log = ET.SubElement(service, "log", mode="roll-by-size")
    ET.SubElement(log, "sizeThreshold").text = str(LOG_ROLL_KB)
    ET.SubElement(log, "keepFiles").text = str(LOG_KEEP)
    # only the token variable's name is in the file; its value is the machine's environment
    ET.SubElement(service, "env", name="PYTHONUNBUFFERED", value="1")
    if account:
        # WinSW 2.x form (3.x reads it too); a real account's password is asked at `install /p`
        domain, _, user = account.rpartition("\\")
        element = ET.SubElement(service, "serviceaccount")
        ET.SubElement(element, "domain").text = domain or "."
        ET.SubElement(element, "user").text = user
        ET.SubElement(element, "allowservicelogon").text = "true"
    ET.indent(service)
    return ET.tostring(service, encoding="unicode") + "\n"


def needs_password(account: str | None) -> bool:
    """A real account (not LocalSystem, LocalService or NetworkService) logs on with one."""
    return bool(account) and not str(account).upper().startswith("NT AUTHORITY\\")


def next_steps(folder: str, account: str | None = None) -> str:
    """What to do after the XML is written, as commands for an administrator's prompt."""
    where = PureWindowsPath(folder)
    exe = where / EXE_NAME
    install = "install /p" if needs_password(account) else "install"
    return (
        f"next (as administrator): put WinSW-x64.exe (from the WinSW releases page) in {where}\n"
        f"  as {EXE_NAME}, then:\n"
        f"  {exe} {install}\n"
        f"  {exe} start\n"
        f"  {exe} status"
    )
