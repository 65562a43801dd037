"""Run one converter on one file and turn what it returns into finished reports.

This is plain synchronous code: a runner (`pipeline.runners`) runs it in a worker thread or a
worker process.
A report without an id of its own gets a deterministic one derived from that unit alone (the
converter's name, the hash of the unit's WSJF as the converter built it, and how many earlier
reports of the same file had the very same content), never from the whole file: converting the
same file again, after a crash, a re-drop or after the station appended more units to it, gives
every unit the id it had before, so the server overwrites instead of duplicating.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wats_converter.converters.api import ConverterBase, ConvertResult, RetryLater
from wats_converter.converters.ids import unit_id
from wats_converter.converters.text import too_large
from wats_converter.failpoints import failpoint
from wats_converter.report import UUTReport, finalize
from wats_converter.report.model import step_budget


@dataclass(frozen=True)
class Conversion:
    """The finished reports of one file."""

    reports: list[UUTReport]


@dataclass(frozen=True)
class Converted:
    """The spool-ready result of one file: `(report id, WSJF body)` pairs (what crosses back
    from a worker process: plain strings and bytes)."""

    reports: list[tuple[str, bytes]]


def convert_to_bodies(converter: ConverterBase, path: Path) -> Converted:
    """Convert `path` (`convert_path`) and serialise every report once."""
    conversion = convert_path(converter, path)
    return Converted([(str(r.id), r.to_wsjf()) for r in conversion.reports])


def report_id(converter_name: str, unit_sha256: str, occurrence: int) -> uuid.UUID:
    """The deterministic id of a unit whose own WSJF content hashes to `unit_sha256`.

    `occurrence` tells apart units of one file whose content is identical (0 for the first,
    1 for the second...), so two such units are never merged into one report, while appending
    units to the file changes the id of none of those already in it.
    """
    return unit_id(converter_name, unit_sha256, occurrence)


def unit_sha256(report: UUTReport) -> str:
    """SHA-256 of the unit's WSJF exactly as the converter built it (no defaults, no id)."""
    return hashlib.sha256(report.to_wsjf()).hexdigest()


def convert_path(converter: ConverterBase, path: Path) -> Conversion:
    """Convert `path`, fill defaults, assign ids and finalize every report.

    Raises whatever the converter raises (the pool classifies it) and
    `ReportValidationError` for a report the server would reject.
    """
    limit = converter.settings.max_file_size_bytes
    if path.stat().st_size > limit:  # refuse before reading (or hashing) a single byte
        raise too_large(limit)
    if not converter.is_complete(path):
        raise RetryLater(f"{converter.display_name} says the file is not complete yet")
    failpoint("after_read")
    with step_budget(converter.settings.max_steps):
        reports = _as_reports(converter.convert_file(path, converter.context))
    failpoint("mid_convert")
    occurrences: Counter[str] = Counter()
    for report in reports:
        if report.id is None:
            # the unit as the converter built it: station defaults (config) must not change it
            content = unit_sha256(report)
            report.id = report_id(converter.display_name, content, occurrences[content])
            occurrences[content] += 1
        _fill_defaults(report, converter)
        finalize(report)
    return Conversion(reports)


def _as_reports(result: ConvertResult) -> list[UUTReport]:
    if isinstance(result, UUTReport | dict):
        items: Sequence[UUTReport | dict[str, object]] = [result]
    else:
        items = result
    reports = [r if isinstance(r, UUTReport) else UUTReport.from_wsjf(dict(r)) for r in items]
    if not reports:
        raise ValueError("the converter returned no report (raise SkipFile to skip a file)")
    return reports


def _fill_defaults(report: UUTReport, converter: ConverterBase) -> None:
    # only what is missing is set: a model's attribute assignment is not free, and most
    # reports carry their station fields themselves
    station = converter.context.station
    if not report.machineName:
        report.machineName = station.name
    if not report.location:
        report.location = station.location
    if not report.purpose:
        report.purpose = station.purpose
    if not report.uut.user:
        report.uut.user = station.operator
    if report.processCode is None:
        report.processCode = converter.settings.process_code
