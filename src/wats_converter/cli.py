"""The `wats-converter` command.

Exit codes: 0 ok, 1 work failed, 2 bad usage or config, 3 service not running (`status`,
`pending retry`), 4 missing watch folders, 5 server unreachable, 6 server refused this client
(`check-config --connect`). docs/operations.md lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click
from pydantic import ValidationError

from wats_converter import __version__, admin, systemd, winsw
from wats_converter.config import (
    EMBEDDED,
    Config,
    ConverterEntry,
    StationConfig,
    check_runnable,
    embedded_config,
    ensure_folders,
    load_config,
    missing_watch_folders,
)
from wats_converter.converters.api import (
    ConverterBase,
    RetryLater,
    SkipFile,
)
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.converters.loading import (
    build_converter,
    known_converter_names,
    use_converter_paths,
)
from wats_converter.converters.registry import (
    build_slots,
    builtin_slots,
    choose,
    folder_patterns,
    watch_summary,
)
from wats_converter.embedded import ADDRESS_FILE, load_address
from wats_converter.errors import (
    ConfigError,
    ServerUnavailable,
    SubmissionPaused,
    WatsConverterError,
)
from wats_converter.logs import setup_logging
from wats_converter.pipeline.conversion import convert_path
from wats_converter.pipeline.error_folder import count_error_files
from wats_converter.pipeline.scanner import ScanStats, Unmatched, output_folders, scan
from wats_converter.progress import PeriodicSummary, TerminalBar
from wats_converter.server.app import LocalServer
from wats_converter.server.faults import FaultPlan, Faults
from wats_converter.server.store import ReportStore
from wats_converter.service import RunResult, Service
from wats_converter.status import STATUS_FILE, Status, read_status, request_retry
from wats_converter.storage.instance_lock import holder_running
from wats_converter.wats_client import ServerProbe, WatsClient

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_MISSING_FOLDERS = 4
EXIT_UNREACHABLE = 5
EXIT_REFUSED = 6
CLOCK_SKEW_WARN_S = 60.0
CLOCK_RESOLUTION_S = 2.0  # the Date header has whole seconds, and the answer takes time
STALE_STATUS_S = 5.0  # the service rewrites status.json every second
RETRY_TAKEN_S = 5.0  # and looks for a retry request as often


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"{click.style('error:', fg='red', bold=True)} {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wats-converter")
def main() -> None:
    """Watch folders of test results, convert them to WATS reports and deliver them."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--converter", "converter_name", help="Converter to use (config entry name or class name)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use the converters (and settings) of this config file.",
)
@click.option("--pretty", is_flag=True, help="Indent the JSON.")
def convert(file: Path, converter_name: str | None, config_path: Path | None, pretty: bool) -> None:
    """Convert FILE and print its WSJF report(s) on stdout, without submitting anything."""
    try:
        converter, why = pick_converter(file, converter_name, config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    if config_path is not None or converter.sniffs_content:
        click.echo(f"{file}: converter {converter.display_name}: {why}", err=True)
    try:
        conversion = convert_path(converter, file)
    except SkipFile as exc:
        fail(f"{file}: {converter.display_name}: skipped: {exc.reason}")
    except RetryLater as exc:
        fail(f"{file}: {converter.display_name}: not complete yet: {exc.reason}")
    except (WatsConverterError, ValueError, OSError) as exc:
        fail(f"{file}: {converter.display_name}: {type(exc).__name__}: {exc}")
    except Exception as exc:  # a converter's own bug: still one line, never a traceback
        fail(f"{file}: {converter.display_name}: converter crashed: {type(exc).__name__}: {exc}")
    docs = [r.to_dict() for r in conversion.reports]
    output = docs[0] if len(docs) == 1 else docs
    click.echo(json.dumps(output, indent=2 if pretty else None, ensure_ascii=False))


def pick_converter(
    file: Path, name: str | None, config_path: Path | None
) -> tuple[ConverterBase, str]:
    """The converter for `file` and why: by name; else the one the service would give it
    (`registry.choose`: with a config, its enabled converters and their patterns; without,
    every built-in converter, those that recognise the file by content first)."""
    config = load_config(config_path) if config_path is not None else None
    if name is None:
        slots = build_slots(config) if config is not None else builtin_slots()
        choice = choose(slots, file.resolve())
        return choice.slot.converter, choice.reason
    if config is not None:
        use_converter_paths(config.converter_paths)
        entries = list(config.converters)  # a disabled one too, when named
    else:
        entries = [
            ConverterEntry(name=cls, class_name=cls, watch_folder=Path("."))
            for cls in BUILTIN_CONVERTERS
        ]
    named = [e for e in entries if name in (e.name, e.class_name)]
    if not named:
        raise ConfigError(_no_converter_named(name, entries, config_path))
    station = config.station if config is not None else StationConfig()
    converter = build_converter(named[0], station, f"converter {named[0].name!r}")
    return converter, "named with --converter"


def _no_converter_named(name: str, entries: list[ConverterEntry], config: Path | None) -> str:
    if config is not None:
        names = ", ".join(sorted({e.name for e in entries} | {e.class_name for e in entries}))
        return f"{config} has no converter named {name!r}; its converters are {names or 'none'}"
    return (
        f"no converter named {name!r}; without --config the known converters are "
        f"{', '.join(known_converter_names())}. To use a converter of your own, register it in "
        "a config file (`converter_paths: [folder of your module]` and a `converters:` entry "
        "with `module_path` and `class_name`) and run `wats-converter convert FILE --config "
        "CONFIG`, or install it with an entry point in the `wats_converter.converters` group "
        "(see docs/converters/writing-a-converter.md)"
    )


@main.command("check-config")
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("wats-server.sqlite"),
    show_default=True,
    help="SQLite file of reports.",
)
@click.option("--token", help="Accept only 'Authorization: Basic TOKEN' (default: accept any).")
@click.option("--admin", is_flag=True, help="Serve /_admin/ (fault injection, counters) for tests.")
@click.option(
    "--faults",
    "faults_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON fault plan to apply to the next report posts (implies nothing else).",
)
@click.option("--max-body-mb", default=10.0, show_default=True, help="Largest request body.")
def serve(
    host: str,
    port: int,
    db_path: Path,
    token: str | None,
    admin: bool,
    faults_path: Path | None,
    max_body_mb: float,
) -> None:
    """Run the local WATS-compatible server with its report browser at /."""
    faults = Faults()
    if faults_path is not None:
        try:
            faults.load(FaultPlan.validate_json(faults_path.read_bytes()))
        except ValidationError as exc:
            fail(f"{faults_path}: bad fault plan: {exc}", EXIT_USAGE)
    asyncio.run(_serve(ReportStore(db_path), host, port, token, admin, faults, max_body_mb))


async def _serve(
    store: ReportStore,
    host: str,
    port: int,
    token: str | None,
    admin: bool,
    faults: Faults,
    max_body_mb: float,
) -> None:
    server = LocalServer(
        store,
        token=token,
        admin=admin,
        faults=faults,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
    )
    try:
        url = await server.start(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port", EXIT_USAGE)
    click.echo(f"Local WATS server listening on {url} (reports page: {url}/)", nl=True)
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    store.close()


def _load(config_path: Path | None, data_dir: Path) -> Config:
    try:
        return load_config(config_path) if config_path else embedded_config(data_dir)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def _config_options(f: Callable[..., None]) -> Callable[..., None]:
    """`--config FILE` and `--data DIR` (the folder of zero-config mode) for a command."""
    f = click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("wats-data"),
        show_default=True,
        help="Data folder of zero-config mode (used without --config).",
    )(f)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="YAML config (default: zero-config mode in --data with the local server).",
    )(f)


@main.command()
@_config_options
@click.option("--once", is_flag=True, help="Process what is there, submit it, and exit.")
@click.option(
    "--once-timeout",
    default=120.0,
    show_default=True,
    help="With --once: how long to keep trying to deliver before giving up (s).",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option("--log-json", is_flag=True, help="Log JSON lines on the console.")
def run(
    config_path: Path | None,
    data_dir: Path,
    once: bool,
    once_timeout: float,
    log_level: str,
    log_json: bool,
) -> None:
    """Watch, convert, submit and post-process until stopped (Ctrl+C)."""
    config = _load(config_path, data_dir)
    try:
        check_runnable(config, str(config_path or "embedded defaults"))
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    log_file = config.state_dir / "wats-converter.log" if config.log_file else None
    progress = _progress_display(config, once, log_json)
    setup_logging(
        log_level,
        as_json=log_json,
        file=log_file,
        console=progress.log_handler if isinstance(progress, TerminalBar) else None,
        quiet_per_file=isinstance(progress, PeriodicSummary),
    )
    try:
        service = Service(config, on_progress=progress.update if progress else None)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    if config.server.url == EMBEDDED:
        click.echo("Drop result files into:")
        for line in watch_summary(service.slots):
            click.echo(f"  {line}")
    try:
        with progress or contextlib.nullcontext():
            result = asyncio.run(_run_service(service, once, once_timeout, config_path))
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except (WatsConverterError, OSError) as exc:  # never a traceback for a disk or state problem
        fail(f"{type(exc).__name__}: {exc}")
    if once:
        unmatched = (
            f", {result.unmatched} unmatched (no converter claims them: "
            "`wats-converter unmatched` lists them)"
            if result.unmatched
            else ""
        )
        click.echo(
            f"done: {result.converted} converted, {result.failed} failed, "
            f"{result.pending} still pending{unmatched}",
            err=True,
        )
        sys.exit(result.exit_code)


async def _run_service(
    service: Service, once: bool, once_timeout: float, config_path: Path | None = None
) -> RunResult:
    """Run the service; on SIGHUP reload the config (a bad one is refused, the old one runs on)."""
    loop = asyncio.get_running_loop()
    reload = Reloader(config_path)
    while True:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C raises instead
                loop.add_signal_handler(sig, reload.stop_for_good, service)
        if config_path is not None and hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, reload.request, service)
        result = await service.run(once=once, once_timeout_s=once_timeout)
        if reload.next_service is None:
            return result
        service, reload.next_service = reload.next_service, None
        logging.getLogger(__name__).info("configuration reloaded from %s", config_path)


class Reloader:
    """SIGHUP: validate the config file again; if it is good, restart the service with it.

    Files waiting in watch folders and reports in pending/ are on disk, so a restart loses
    nothing; a config with an error is refused and the running service carries on.
    """

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.next_service: Service | None = None

    def request(self, current: Service) -> None:
        log = logging.getLogger(__name__)
        assert self.config_path is not None
        try:
            self.next_service = Service(load_config(self.config_path))
        except ConfigError as exc:
            log.error("reload refused, the running configuration stays: %s", exc)
            return
        current.stop()

    def stop_for_good(self, current: Service) -> None:
        self.next_service = None
        current.stop()


def _progress_display(
    config: Config, once: bool, log_json: bool
) -> TerminalBar | PeriodicSummary | None:
    """`run --once` shows its progress: a live bar on a terminal, a summary line elsewhere."""
    if not once or log_json:
        return None
    if sys.stderr.isatty():
        return TerminalBar()

    def counts() -> tuple[int, int]:
        pending = sum(1 for _ in config.pending_folder.glob("*.queued"))
        return pending, count_error_files(config)

    return PeriodicSummary(counts)


@main.command()
@_config_options
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
@click.option("--watch", is_flag=True, help="Refresh every second until Ctrl+C.")
def status(config_path: Path | None, data_dir: Path, as_json: bool, watch: bool) -> None:
    """Show what a running service is doing (queue, pending, errors, last submit).

    Exit code 0 while the service runs, 3 when it does not (like `systemctl status`).
    """
    config = _load(config_path, data_dir)
    if not watch:
        sys.exit(_show_status(config, as_json))
    try:
        while True:
            click.clear()
            _show_status(config, as_json)
            click.echo(f"(refreshing every second; Ctrl+C to leave) {time.strftime('%H:%M:%S')}")
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass


def _show_status(config: Config, as_json: bool) -> int:
    """Print the status; return 0 while a service holds the lock, 3 when none does."""
    path = config.state_dir / STATUS_FILE
    running = holder_running(config.state_dir)
    data = read_status(config.state_dir)
    if data is None:
        if as_json:
            click.echo(json.dumps({"running": running}))
        else:
            what = "running, but no status yet" if running else "NOT RUNNING"
            click.secho(f"service: {what} (no status in {path})", fg=None if running else "red")
        return 0 if running else EXIT_NOT_RUNNING
    if as_json:
        click.echo(json.dumps({**data.to_dict(), "running": running}, indent=2))
        return 0 if running else EXIT_NOT_RUNNING
    age = time.time() - data.updated_at
    if not running:
        state = click.style(
            f"NOT RUNNING (last seen {_age(age)} ago as pid {data.pid})", fg="red", bold=True
        )
    elif age < STALE_STATUS_S:
        state = click.style("running", fg="green") + f", pid {data.pid}"
    else:
        state = click.style(
            f"running (pid {data.pid}) but its status is {_age(age)} old: hung?",
            fg="yellow",
            bold=True,
        )
    click.echo(f"service: {state}, server {data.server_url}")
    embedded = load_address(config.state_dir) if config.server.url == EMBEDDED else None
    if embedded is not None:
        click.echo(
            f"reports page{'' if running else ' (while it runs)'}: {embedded.url}/ "
            f"(port and token kept in {config.state_dir / ADDRESS_FILE})"
        )
    _show_status_details(data)
    return 0 if running else EXIT_NOT_RUNNING


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _show_status_details(data: Status) -> None:
    # click drops the colours when the output is not a terminal (piped, redirected)
    if data.paused:
        click.secho(f"SUBMISSION PAUSED: {data.paused_reason}", fg="red", bold=True)
    if data.storage_blocked:
        click.secho(f"DISK PROBLEM: {data.storage_blocked}", fg="red", bold=True)
    click.echo(f"queued files: {data.queued} (+{data.in_work} converting)")
    click.echo(f"pending reports: {data.pending} (oldest {data.pending_oldest_age_s:.0f} s)")
    click.echo(
        f"submitted: {data.submitted}, rejected: {data.rejected}, last result: "
        f"{data.last_submit_result or '-'}"
    )
    for name, c in data.converters.items():
        click.echo(
            f"  {name}: discovered {c.discovered}, converted {c.converted}, "
            f"failed {c.failed}, skipped {c.skipped}"
        )
    if data.unmatched:
        click.secho(
            f"unmatched files: {data.unmatched} (no converter claims them; "
            "`wats-converter unmatched` lists them)",
            fg="yellow",
        )
    if data.last_error:
        click.secho(f"last error: {data.last_error}", fg="yellow")
    if data.health_url:
        click.echo(f"metrics: {data.health_url}/metrics, readiness: {data.health_url}/ready")


@main.command()
@_config_options
def unmatched(config_path: Path | None, data_dir: Path) -> None:
    """List the files in watch folders that no converter claims (they are never converted)."""
    config = _load(config_path, data_dir)
    try:
        slots = build_slots(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    strays: dict[str, Unmatched] = {}
    scan(slots, output_folders(config), ScanStats(), unmatched=strays)
    for stray in sorted(strays.values(), key=lambda u: str(u.path)):
        folder = stray.slot.entry.watch_folder
        click.echo(f"{stray.path}  ({folder} takes {folder_patterns(slots, folder)})")
    click.echo(f"{len(strays)} files no converter claims", err=True)


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"wats-converter {__version__}")


@main.command()
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default=Path("converters.yaml")
)
def init(path: Path) -> None:
    """Write a commented starter config (default ./converters.yaml) and create its folders."""
    station = os.uname().nodename if hasattr(os, "uname") else "station"
    try:
        admin.write_starter_config(path, station)
    except FileExistsError as exc:
        fail(str(exc), EXIT_USAGE)
    config = _load(path, Path())
    ensure_folders(config)
    click.echo(
        f"wrote {path}; edit server.url and server.token, then run:\n"
        f"  wats-converter check-config --config {path}\n"
        f"  wats-converter run --config {path}"
    )


@main.group()
def errors() -> None:
    """Files in the error folders: list, show, requeue."""


@errors.command("list")
@_config_options
def errors_list(config_path: Path | None, data_dir: Path) -> None:
    """One line per failed file: when, file, converter, why."""
    failed = admin.failed_files(_load(config_path, data_dir))
    for f in failed:
        d = f.detail
        click.echo(
            f"{str(d.get('timestamp', ''))[:19]}  {f.name}  {d.get('converter', '')}  "
            f"{d.get('error_type', '')}: {str(d.get('exception', '')).splitlines()[0][:100]}"
        )
    click.echo(f"{len(failed)} files in the error folders", err=True)


@errors.command("show")
@click.argument("name")
@_config_options
def errors_show(name: str, config_path: Path | None, data_dir: Path) -> None:
    """Everything the .error file says about NAME."""
    try:
        failed = admin.find_failed(_load(config_path, data_dir), name)
    except LookupError as exc:
        fail(str(exc))
    for key, value in failed.detail.items():
        if key != "traceback":
            click.echo(f"{key}: {value}")
    if failed.detail.get("traceback"):
        click.echo(f"traceback:\n{failed.detail['traceback']}")


@errors.command("requeue")
@click.argument("name", required=False)
@click.option("--all", "requeue_all", is_flag=True, help="Requeue every failed file.")
@_config_options
def errors_requeue(
    name: str | None, requeue_all: bool, config_path: Path | None, data_dir: Path
) -> None:
    """Give NAME (or --all) another try: back to its watch folder, or to pending/ for a report
    the server rejected. Fix the cause first."""
    config = _load(config_path, data_dir)
    if not name and not requeue_all:
        fail("name a file (see `errors list`) or use --all", EXIT_USAGE)
    try:
        targets = (
            admin.failed_files(config) if requeue_all else [admin.find_failed(config, name or "")]
        )
    except LookupError as exc:
        fail(str(exc))
    for failed in targets:
        click.echo(f"{failed.name} -> {admin.requeue(config, failed)}")


@main.group()
def pending() -> None:
    """Reports waiting for the server: list, retry."""


@pending.command("list")
@_config_options
def pending_list(config_path: Path | None, data_dir: Path) -> None:
    """One line per pending report, oldest first."""
    reports = admin.pending_reports(_load(config_path, data_dir))
    for path, age, header in reports:
        click.echo(
            f"{path.name.split('.')[0]}  {age:8.0f} s  sn={header.get('sn')}  "
            f"pn={header.get('pn')}  result={header.get('result')}"
        )
    click.echo(f"{len(reports)} reports pending", err=True)


@pending.command("retry")
@click.argument("report_id", required=False)
@_config_options
def pending_retry(report_id: str | None, config_path: Path | None, data_dir: Path) -> None:
    """Ask the running service to send REPORT_ID (or every pending report) now.

    Exit code 3 when no service runs (it sends them when it starts), 1 for an unknown id.
    """
    config = _load(config_path, data_dir)
    if not holder_running(config.state_dir):
        fail(
            f"no service is running on {config.state_dir}; pending reports are sent when it "
            "starts (`wats-converter run`)",
            EXIT_NOT_RUNNING,
        )
    if report_id is not None and not admin.is_pending(config, report_id):
        fail(f"no pending report {report_id!r}; `pending list` shows them")
    path = request_retry(config.state_dir, report_id)
    deadline = time.monotonic() + RETRY_TAKEN_S
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if path.exists():
        fail(f"the service did not take the request within {RETRY_TAKEN_S:.0f} s ({path})")
    click.echo(f"the service is retrying {report_id or 'every pending report'} now")


@main.command("install-service")
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
def install_service(
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
        str(config_path.parent),
        user=run_as,
        group=group,
        system=system_wide,
        folders=[str(f) for f in service_folders(config)],
        env_file=str(env_file),
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
