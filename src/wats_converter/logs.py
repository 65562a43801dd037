"""Logging set-up: plain lines for people, JSON lines for collectors, the same records for both.

A file's story is told by records that carry fields (`extra=file_fields(...)`): `file`,
`converter`, `report_id`, `duration_ms` and `outcome`. The plain format shows them in the
message; the JSON format (python-json-logger) adds them as keys, with an RFC 3339 time that has
the UTC offset and milliseconds, so a collector can filter without parsing the message.
"""

from __future__ import annotations

import logging
import logging.handlers
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from wats_converter.logsafe import EscapeControls

PLAIN = "%(asctime)s %(levelname)-7s %(message)s"
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_COUNT = 5
FIELDS = ("file", "converter", "report_id", "duration_ms", "outcome")


class FileOutcome(StrEnum):
    """Where a file or a report ended up (the `outcome` field of its log record)."""

    SUBMITTED = "submitted"
    """Accepted by the server."""
    PENDING = "pending"
    """Durable in pending/, sent from there."""
    SKIPPED = "skipped"
    """Left in place: its converter said it is not a result file (`SkipFile`)."""
    FAILED = "failed"
    """Moved to the error folder with a `.error` file."""
    REJECTED = "rejected"
    """A report the server refused, moved to the error folder."""


def file_fields(
    *,
    file: Path | str | None = None,
    converter: str | None = None,
    report_id: str | list[str] | None = None,
    duration_s: float | None = None,
    outcome: FileOutcome,
) -> dict[str, Any]:
    """The `extra=` of a record about one file or report (only the fields that are known)."""
    fields: dict[str, Any] = {"outcome": str(outcome)}
    if file is not None:
        fields["file"] = str(file)
    if converter is not None:
        fields["converter"] = converter
    if report_id is not None:
        fields["report_id"] = report_id
    if duration_s is not None:
        fields["duration_ms"] = round(duration_s * 1000, 1)
    return fields


class Rfc3339JsonFormatter(JsonFormatter):
    """One JSON object per line: time (RFC 3339, local offset, ms), level, logger, message,
    then the record's fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone()
        return moment.isoformat(timespec="milliseconds")


class PerFileFilter(logging.Filter):
    """Drops the INFO line of each file (records with an `outcome`) from one handler: off a
    terminal, `run --once` shows a periodic summary instead of thousands of lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and hasattr(record, "outcome"))


def setup_logging(
    level: str,
    *,
    as_json: bool = False,
    file: Path | None = None,
    console: logging.Handler | None = None,
    quiet_per_file: bool = False,
) -> None:
    """Log to the console (or the given handler) and, if `file`, to a rotating log file."""
    console = console or logging.StreamHandler()
    if as_json:
        console.setFormatter(Rfc3339JsonFormatter())
    elif console.formatter is None:
        console.setFormatter(logging.Formatter(PLAIN, datefmt="%H:%M:%S"))
    if quiet_per_file and not as_json:
        console.addFilter(PerFileFilter())
    handlers: list[logging.Handler] = [console]
    if file is not None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            rotating = logging.handlers.RotatingFileHandler(
                file,
                maxBytes=LOG_FILE_BYTES,
                backupCount=LOG_FILE_COUNT,
                encoding="utf-8",
                errors="backslashreplace",
            )
        except OSError as exc:  # the start-up checks explain an unwritable state folder
            logging.basicConfig(level=level.upper(), handlers=handlers, force=True)
            logging.getLogger(__name__).warning(
                "no log file (%s: %s); logging to the console", exc.strerror, file
            )
        else:
            rotating.setFormatter(Rfc3339JsonFormatter() if as_json else logging.Formatter(PLAIN))
            handlers.append(rotating)
    for handler in handlers:  # file names in messages cannot forge lines or break a handler
        handler.addFilter(EscapeControls())
    logging.basicConfig(level=level.upper(), handlers=handlers, force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch at INFO
