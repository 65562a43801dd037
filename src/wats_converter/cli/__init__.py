"""The `wats-converter` command: one module per command (or command group).

Exit codes: 0 ok, 1 work failed, 2 bad usage or config, 3 service not running (`status`,
`pending retry`), 4 missing watch folders, 5 server unreachable, 6 server refused this client
(`check-config --connect`). docs/operations.md lists them; `cli.exits` names them.
"""

from __future__ import annotations

import click

from wats_converter import __version__
from wats_converter.cli import (
    check_config,
    convert,
    errors,
    init,
    install_service,
    pending,
    run,
    serve,
    status,
    unmatched,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wats-converter")
def main() -> None:
    """Watch folders of test results, convert them to WATS reports and deliver them."""


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"wats-converter {__version__}")


for command in (
    convert.convert,
    check_config.check_config,
    serve.serve,
    run.run,
    status.status,
    unmatched.unmatched,
    init.init,
    errors.errors,
    pending.pending,
    install_service.install_service,
):
    main.add_command(command)
