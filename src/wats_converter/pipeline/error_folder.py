"""Quarantine: move a file into an error folder next to a JSON `.error` file that says why.

The `.error` file is written first (atomically, under a name of its own), then linked under the
chosen name, then the file is moved beside it, so an `.error` never describes a different file.
Names never overwrite (unique suffix).
"""

from __future__ import annotations

import dataclasses
import json
import os
import traceback as tb
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from wats_converter.config import Config
from wats_converter.storage.durable import (
    candidate_names,
    finish_interrupted_move,
    fsync_dir,
    move_no_overwrite,
    temp_path,
    write_atomic,
)

ERROR_SUFFIX = ".error"


@dataclass(frozen=True)
class ErrorInfo:
    """What a user needs to understand and fix a failed file (the `.error` file's content).

    `converter` is always the config entry's `name` (the one `status`, the logs and the metrics
    use); `converter_class` is the class that ran, when one did."""

    file: str
    converter: str
    error_type: str
    exception: str
    hint: str
    attempts: int = 1
    traceback: str = ""
    line: int | None = None
    field: str | None = None
    report_id: str | None = None
    source_folder: str | None = None
    converter_class: str | None = None
    timestamp: str = dataclasses.field(default_factory=lambda: datetime.now(UTC).isoformat())

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        *,
        file: Path,
        converter: str,
        hint: str,
        attempts: int = 1,
        with_traceback: bool = True,
    ) -> ErrorInfo:
        return cls(
            file=file.name,
            converter=converter,
            error_type=type(exc).__name__,
            exception=str(exc) or repr(exc),
            hint=hint,
            attempts=attempts,
            traceback="".join(tb.format_exception(exc)) if with_traceback else "",
            line=getattr(exc, "line", None),
            field=getattr(exc, "field", None),
            source_folder=str(file.parent),
        )


def quarantine(source: Path, folder: Path, info: ErrorInfo, *, name: str | None = None) -> Path:
    """Move `source` into `folder` (as `name`) with `<name>.error` beside it; return its path.

    The pair's name is reserved by linking the finished `.error` file under it (no overwrite),
    so two same-named files quarantined at once never share, or swap, their reasons.
    """
    text = json.dumps({k: v for k, v in asdict(info).items() if v is not None}, indent=2)
    folder.mkdir(parents=True, exist_ok=True)
    base = name or source.name
    earlier = finish_interrupted_move(source, folder, base, reserve=len(ERROR_SUFFIX))
    if earlier is not None:  # quarantined before a crash: refresh its reason, keep one copy
        write_atomic(earlier.with_name(earlier.name + ERROR_SUFFIX), text.encode())
        return earlier
    reason = temp_path(folder, base + ERROR_SUFFIX)
    write_atomic(reason, text.encode())
    try:
        for candidate in candidate_names(folder, base, len(ERROR_SUFFIX)):
            if os.path.lexists(candidate):
                continue
            error_file = candidate.with_name(candidate.name + ERROR_SUFFIX)
            try:
                os.link(reason, error_file)
            except FileExistsError:
                continue
            try:
                moved = move_no_overwrite(source, folder, name=candidate.name)
            except BaseException:
                error_file.unlink(missing_ok=True)
                raise
            if moved != candidate:  # a file without a reason took the name meanwhile
                os.replace(error_file, moved.with_name(moved.name + ERROR_SUFFIX))
            fsync_dir(folder)
            return moved
    finally:
        reason.unlink(missing_ok=True)
    raise AssertionError("unreachable")


def error_folders(config: Config) -> list[Path]:
    """The error folders of a config that exist (the top-level one and the converters')."""
    folders = {config.error_folder}
    folders |= {c.error_folder for c in config.converters if c.error_folder is not None}
    return sorted(f for f in folders if f.is_dir())


def count_error_files(config: Config) -> int:
    """How many `.error` files the error folders hold (one per failed file or report)."""
    return sum(1 for folder in error_folders(config) for _ in folder.glob(f"*{ERROR_SUFFIX}"))


def read_error(path: Path) -> dict[str, object]:
    """The content of an `.error` file."""
    return dict(json.loads(path.read_text(encoding="utf-8")))
