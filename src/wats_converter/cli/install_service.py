"""`install-service`: a systemd unit or a WinSW definition for a config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from wats_converter import systemd, winsw
from wats_converter.cli.exits import EXIT_MISSING_FOLDERS, EXIT_USAGE, fail
from wats_converter.config import Config, check_runnable, load_config, missing_watch_folders
from wats_converter.converters.registry import build_slots
from wats_converter.errors import ConfigError


@click.command("install-service")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
)
@click.option(
    "--system",
    "system_wide",
    is_flag=True,
    help="A system unit (/etc/systemd/system, needs root) instead of a user unit.",
)
@click.option("--user", "run_as", help="--system: the account to run as; --windows: likewise.")
@click.option("--group", help="With --system: the group to run as (default: the user's name).")
@click.option(
    "--windows", is_flag=True, help="Write a WinSW service definition instead of a systemd unit."
)
@click.option(
    "--dir",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write (default: /etc/systemd/system, ~/.config/systemd/user, or with "
    "--windows the config's folder).",
)
@click.option("--exe", help="The wats-converter executable the service runs (default: this one).")
@click.option("--print", "just_print", is_flag=True, help="Print the unit instead of writing it.")
def install_service(  # noqa: PLR0913 - click passes one parameter per command-line option
    config_path: Path,
    system_wide: bool,
    run_as: str | None,
    group: str | None,
    windows: bool,
    out_dir: Path | None,
    exe: str | None,
    just_print: bool,
) -> None:
    """Write a service for this config: a hardened systemd unit, or with --windows a WinSW one.

    The config must pass `check-config` first; the systemd unit runs it again before each start.
    """
    if run_as and not (system_wide or windows):
        fail("--user NAME needs --system: a user unit always runs as its own user", EXIT_USAGE)
    if group and not system_wide:
        fail("--group NAME needs --system", EXIT_USAGE)
    if system_wide and not run_as:
        fail("--system needs --user NAME, the account the service runs as", EXIT_USAGE)
    config_path = config_path.resolve()
    env_file = config_path.parent / systemd.ENV_FILE
    config = _config_for_service(config_path, env_file)
    # the same installation as this command (never another wats-converter found on PATH);
    # the config's converter_paths make its own converters importable without PYTHONPATH
    script = Path(sys.executable).with_name("wats-converter")
    exe = exe or (str(script) if script.is_file() else f"{sys.executable} -m wats_converter")
    if windows:
        _install_windows(config_path, exe, run_as, out_dir, just_print)
        return
    text = systemd.unit_text(
        exe,
        str(config_path),
        user=run_as,
        group=group,
        system=system_wide,
        folders=[str(f) for f in service_folders(config)],
    )
    if just_print:
        click.echo(text, nl=False)
        return
    folder = out_dir or (
        Path("/etc/systemd/system") if system_wide else Path.home() / ".config" / "systemd" / "user"
    )
    folder.mkdir(parents=True, exist_ok=True)
    unit = folder / "wats-converter.service"
    unit.write_text(text)
    scope = "" if system_wide else "--user "
    click.echo(
        f"wrote {unit}\n"
        f"token: put WATS_TOKEN=... (for server.token_env) in {env_file}, mode 0600\n"
        f"next: systemctl {scope}daemon-reload && systemctl {scope}enable --now wats-converter"
    )


def _config_for_service(config_path: Path, env_file: Path) -> Config:
    """The config, refused unless `check-config` would pass it with the service's environment."""
    saved = dict(os.environ)
    os.environ.update(_read_env_file(env_file))  # what systemd's EnvironmentFile= will set
    try:
        config = load_config(config_path)
        build_slots(config)
        check_runnable(config, str(config_path))
    except ConfigError as exc:
        fail(f"{exc} (install-service writes a service only for a config that checks)", EXIT_USAGE)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    missing = missing_watch_folders(config)
    if missing:
        fail(
            f"{config_path}: watch folder {', '.join(map(str, missing))} does not exist; "
            "`check-config --create-folders` creates it",
            EXIT_MISSING_FOLDERS,
        )
    return config


def _read_env_file(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def service_folders(config: Config) -> list[Path]:
    """Every folder the service writes to: the only ones a hardened unit can write."""
    folders = {config.pending_folder, config.archive_folder, config.error_folder, config.state_dir}
    for entry in config.enabled_converters():
        folders |= {f for f in (entry.watch_folder, entry.done_folder, entry.error_folder) if f}
    return sorted(folders)


def _install_windows(
    config_path: Path, exe: str, account: str | None, out_dir: Path | None, just_print: bool
) -> None:
    text = winsw.service_xml(exe, str(config_path), str(config_path.parent), account=account)
    if just_print:
        click.echo(text, nl=False)
        return
    folder = out_dir or config_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / winsw.XML_NAME
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}\n{winsw.next_steps(str(folder), account)}")
