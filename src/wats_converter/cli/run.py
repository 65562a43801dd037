"""`run`: the service in the foreground, reloaded on SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import click

from wats_converter.cli.exits import EXIT_USAGE, fail
from wats_converter.cli.options import config_options, load_or_fail
from wats_converter.config import EMBEDDED, Config, check_runnable, load_config
from wats_converter.converters.registry import watch_summary
from wats_converter.errors import ConfigError, WatsConverterError
from wats_converter.logs import setup_logging
from wats_converter.pipeline.error_folder import count_error_files
from wats_converter.progress import PeriodicSummary, TerminalBar
from wats_converter.service import Service
from wats_converter.stats import RunResult


@click.command()
@config_options
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
    config = load_or_fail(config_path, data_dir)
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
