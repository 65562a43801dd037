"""Exit codes of the `wats-converter` command (docs/operations.md lists them) and the one-line
failure every command ends with."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_MISSING_FOLDERS = 4
EXIT_UNREACHABLE = 5
EXIT_REFUSED = 6


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print `error: MESSAGE` on stderr and exit with `code`: never a traceback."""
    click.echo(f"{click.style('error:', fg='red', bold=True)} {message}", err=True)
    sys.exit(code)
