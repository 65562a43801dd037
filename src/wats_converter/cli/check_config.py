"""`check-config`: can this config run, and (with `--connect`) reach its server?"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from wats_converter.cli.exits import (
    EXIT_MISSING_FOLDERS,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    fail,
)
from wats_converter.config import (
    EMBEDDED,
    Config,
    check_runnable,
    ensure_folders,
    load_config,
    missing_watch_folders,
)
from wats_converter.converters.registry import build_slots
from wats_converter.errors import ConfigError, ServerUnavailable, SubmissionPaused
from wats_converter.wats_client import ServerProbe, WatsClient

CLOCK_SKEW_WARN_S = 60.0
CLOCK_RESOLUTION_S = 2.0  # the Date header has whole seconds, and the answer takes time


@click.command("check-config")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The YAML config file to check.",
)
@click.option(
    "--create-folders", is_flag=True, help="Create missing watch folders instead of refusing."
)
@click.option(
    "--connect",
    is_flag=True,
    help="Also reach the server: an authenticated call checks the URL, token and clock.",
)
def check_config(config_path: Path, create_folders: bool, connect: bool) -> None:
    """Check that a config can run: valid, converters load, token set, folders there.

    Exit codes: 0 OK, 2 invalid, 4 missing watch folders, 5 server unreachable, 6 server
    refuses the URL or token (with --connect).
    """
    try:
        config = load_config(config_path)
        build_slots(config)
        check_runnable(config, str(config_path))
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    missing = missing_watch_folders(config)
    if missing and not create_folders:
        fail(
            f"{config_path}: watch folder {', '.join(map(str, missing))} does not exist "
            "(a typo?); create it, or run again with --create-folders",
            EXIT_MISSING_FOLDERS,
        )
    try:
        ensure_folders(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    enabled = config.enabled_converters()
    click.echo(f"{config_path}: OK, {len(enabled)} of {len(config.converters)} converters enabled")
    for entry in enabled:
        click.echo(
            f"  {entry.name}: {entry.class_name} priority {entry.priority}, "
            f"watching {entry.watch_folder}, then {entry.post_process_action}"
        )
    for folder in missing:
        click.echo(f"  created watch folder {folder}")
    if connect:
        _check_connection(config)


def _check_connection(config: Config) -> None:
    server = config.server
    if server.url == EMBEDDED:
        click.echo("server: embedded (the local server that `run` starts); nothing to reach")
        return
    try:
        probe = asyncio.run(_probe(config))
    except SubmissionPaused as exc:
        fail(f"server {server.url} refuses this client: {exc}", EXIT_REFUSED)
    except ServerUnavailable as exc:
        fail(f"server {server.url} cannot be reached: {exc}", EXIT_UNREACHABLE)
    token = "token accepted" if server.resolved_token() else "no token sent, none asked"
    click.echo(
        f"server {server.url}: version {probe.version}, {token}, "
        f"answered in {probe.round_trip_s * 1000:.0f} ms"
    )
    if probe.clock_skew_s is None:
        click.echo("clock: the server sent no Date header; skew unknown")
    elif abs(probe.clock_skew_s) > CLOCK_SKEW_WARN_S:
        click.secho(
            f"clock: this PC is {abs(probe.clock_skew_s):.0f} s "
            f"{'behind' if probe.clock_skew_s > 0 else 'ahead of'} the server; report start "
            "times will be off: fix the PC's time sync (NTP)",
            fg="yellow",
        )
    elif abs(probe.clock_skew_s) < CLOCK_RESOLUTION_S:
        click.echo(f"clock: within {CLOCK_RESOLUTION_S:.0f} s of the server")
    else:
        click.echo(f"clock: {probe.clock_skew_s:+.0f} s from the server")


async def _probe(config: Config) -> ServerProbe:
    server = config.server
    client = WatsClient(
        server.url,
        server.resolved_token(),
        connect_timeout_s=server.connect_timeout_s,
        timeout_s=min(server.timeout_s, 30.0),
        verify_tls=server.verify_tls,
        max_connections=1,
    )
    try:
        return await client.probe()
    finally:
        await client.aclose()
