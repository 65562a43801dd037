"""`install-service`: a hardened systemd unit (each directive checked, scored by systemd-analyze
when it is there), refused for a config that does not check; the WinSW definition for Windows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.helpers import cli
from wats_converter import systemd

CONFIG = """\
server:
  url: https://wats.example.com
  token_env: WATS_TOKEN
pending_folder: /var/lib/wats-converter/pending
state_folder: /var/lib/wats-converter
archive_folder: data/archive
error_folder: data/error
converters:
  - name: csv
    class_name: CSVConverter
    watch_folder: data/watch
    done_folder: data/done
    post_process_action: MOVE
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "converters.yaml"
    path.write_text(CONFIG)
    (tmp_path / "data" / "watch").mkdir(parents=True)
    (tmp_path / "wats-converter.env").write_text("WATS_TOKEN=secret\n")
    return path


def directives(unit: str) -> dict[str, list[str]]:
    """{"Section.Key": [values]} of a unit file."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in unit.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(f"{section}.{key}", []).append(value)
    return out


def system_unit(config: Path, *extra: str) -> str:
    result = cli(
        "install-service", "--config", str(config), "--system", "--user", "wats", "--print", *extra
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_system_unit_checks_the_config_first_and_is_hardened(config: Path) -> None:
    d = directives(system_unit(config))
    cfg = str(config.resolve())
    assert d["Service.Type"] == ["notify"] and d["Service.Restart"] == ["on-failure"]
    assert d["Service.User"] == ["wats"] and d["Service.Group"] == ["wats"]
    [pre] = d["Service.ExecStartPre"]
    assert pre.endswith(f"check-config --config {cfg}")
    assert d["Service.ExecStart"][0].endswith(f"run --config {cfg}")
    assert d["Service.EnvironmentFile"] == [f"-{config.parent.resolve()}/wats-converter.env"]
    assert d["Service.StateDirectory"] == ["wats-converter"]
    assert d["Service.WatchdogSec"] == ["60"] and d["Service.ExecReload"] == [
        "/bin/kill -HUP $MAINPID"
    ]
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateDevices": "yes",
        "PrivateUsers": "yes",
        "PrivateMounts": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "ProtectProc": "invisible",
        "ProcSubset": "pid",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "RestrictSUIDSGID": "yes",
        "RestrictRealtime": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "UMask": "0027",
        "RemoveIPC": "yes",
        "DevicePolicy": "closed",
    }
    for key, value in expected.items():
        assert d[f"Service.{key}"] == [value], key
    assert d["Service.SystemCallFilter"] == ["@system-service", "~@privileged"]
    base = config.parent.resolve()
    assert sorted(d["Service.ReadWritePaths"]) == sorted(
        f"-{p}"
        for p in (
            "/var/lib/wats-converter",
            "/var/lib/wats-converter/pending",
            base / "data/archive",
            base / "data/error",
            base / "data/watch",
            base / "data/done",
        )
    )
    assert d["Install.WantedBy"] == ["multi-user.target"]


def test_data_under_home_makes_home_read_only_not_hidden(tmp_path: Path, config: Path) -> None:
    text = CONFIG.replace("/var/lib/wats-converter", "/home/wats/data")
    config.write_text(text)
    assert directives(system_unit(config))["Service.ProtectHome"] == ["read-only"]


def test_data_in_the_real_tmp_keeps_tmp_shared(config: Path) -> None:
    # the test's own folders are under /tmp: a private /tmp would hide them from the service
    assert str(config.resolve()).startswith("/tmp/")
    assert directives(system_unit(config))["Service.PrivateTmp"] == ["no"]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="scoring the unit needs systemd-analyze (Debian's systemd package); the unit's "
    "directives are checked one by one by the other tests",
)
def test_systemd_analyze_scores_the_unit_3_or_less(tmp_path: Path, config: Path) -> None:
    unit = tmp_path / "wats-converter.service"
    unit.write_text(system_unit(config))
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(
        r"Overall exposure level for wats-converter.service: (\d+\.\d+)", result.stdout
    )
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 3.0, result.stdout


def test_a_user_unit_has_no_account_and_the_sandboxing_a_user_may_set(config: Path) -> None:
    result = cli("install-service", "--config", str(config), "--print")
    assert result.returncode == 0, result.stderr
    d = directives(result.stdout)
    assert "Service.User" not in d and "Service.Group" not in d
    assert "Service.StateDirectory" not in d and "Service.ProtectSystem" not in d
    assert d["Service.NoNewPrivileges"] == ["yes"] and d["Service.ExecStartPre"]
    assert d["Install.WantedBy"] == ["default.target"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "wats"], "--user NAME needs --system"),
        (["--group", "wats"], "--group NAME needs --system"),
        (["--system"], "--system needs --user NAME"),
    ],
)
def test_contradictory_options_are_refused(config: Path, args: list[str], message: str) -> None:
    result = cli("install-service", "--config", str(config), "--print", *args)
    assert result.returncode == 2 and message in result.stderr and not result.stdout


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (("https://wats.example.com", "htp//host"), 2, "server.url"),
        (("token_env: WATS_TOKEN", "token_env: WATS_OTHER"), 2, "WATS_OTHER is not set"),
        (("data/watch", "data/wacth"), 4, "does not exist"),
    ],
)
def test_a_config_that_does_not_check_gets_no_service(
    tmp_path: Path, config: Path, change: tuple[str, str], code: int, message: str
) -> None:
    config.write_text(CONFIG.replace(*change))
    for windows in ([], ["--windows"]):
        result = cli(
            "install-service", "--config", str(config), "--dir", str(tmp_path / "out"), *windows
        )
        assert result.returncode == code and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_the_windows_route_writes_a_winsw_definition(tmp_path: Path, config: Path) -> None:
    exe = r"C:\wats\venv\Scripts\wats-converter.exe"

    def install(user: str, folder: str) -> subprocess.CompletedProcess[str]:
        args = [
            "--config",
            str(config),
            "--exe",
            exe,
            "--user",
            user,
            "--dir",
            str(tmp_path / folder),
        ]
        return cli("install-service", "--windows", *args)

    result = install(r"NT AUTHORITY\LocalService", "svc")
    assert result.returncode == 0, result.stderr
    assert "wats-converter-service.exe install" in result.stdout
    xml = ET.parse(tmp_path / "svc" / "wats-converter-service.xml").getroot()
    assert xml.tag == "service" and xml.findtext("id") == "wats-converter"
    assert xml.findtext("executable") == exe
    assert xml.findtext("arguments") == f'run --config "{config.resolve()}"'
    assert xml.findtext("startmode") == "Automatic"
    assert xml.findtext("stopparentprocessfirst") == "true"  # Ctrl+C: a clean stop
    assert xml.findtext("stoptimeout") == "60 sec"
    assert [f.get("action") for f in xml.findall("onfailure")] == ["restart"] * 3
    assert xml.find("log").get("mode") == "roll-by-size"  # type: ignore[union-attr]
    assert xml.findtext("serviceaccount/domain") == "NT AUTHORITY"
    assert xml.findtext("serviceaccount/user") == "LocalService"
    assert "install /p" not in result.stdout  # a built-in account has no password
    assert "secret" not in (tmp_path / "svc" / "wats-converter-service.xml").read_text()
    local = install(r".\wats", "svc2")
    assert "wats-converter-service.exe install /p" in local.stdout  # asks for its password
    account = ET.parse(tmp_path / "svc2" / "wats-converter-service.xml").getroot()
    assert account.findtext("serviceaccount/domain") == "."
    assert account.findtext("serviceaccount/user") == "wats"
    printed = cli("install-service", "--windows", "--config", str(config), "--exe", exe, "--print")
    bare = ET.fromstring(printed.stdout)  # LocalSystem, WinSW's default: no account element
    assert bare.find("serviceaccount") is None and bare.findtext("executable") == exe


def test_data_away_from_tmp_gets_a_private_tmp() -> None:
    unit = systemd.unit_text(
        "/opt/w/bin/wats-converter",
        "/etc/wats-converter/converters.yaml",
        user="wats",
        system=True,
        folders=["/var/lib/wats-converter/pending", "/srv/stations/watch"],
    )
    d = directives(unit)
    assert d["Service.PrivateTmp"] == ["yes"] and d["Service.ProtectHome"] == ["yes"]
    assert d["Service.ReadWritePaths"] == [
        "-/srv/stations/watch",
        "-/var/lib/wats-converter/pending",
    ]
