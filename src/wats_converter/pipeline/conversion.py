"""Run one converter on one file and turn what it returns into finished reports.

This is plain synchronous code: the converter pool runs it in a worker thread or process.
Each report gets a deterministic id (converter + content hash + index), so converting the same
file again, after a crash or a re-drop, yields the same id and the server overwrites, never
duplicates.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wats_converter.converters.api import ConverterBase, ConvertResult
from wats_converter.converters.ids import unit_id
from wats_converter.converters.text import too_large
from wats_converter.failpoints import failpoint
from wats_converter.report import UUTReport, finalize

HASH_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Conversion:
    """The finished reports of one file, and the content hash they were derived from."""

    reports: list[UUTReport]
    sha256: str


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks so a huge file is never held in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def report_id(converter_name: str, sha256: str, index: int) -> uuid.UUID:
    """The deterministic id of the `index`-th report converted from content `sha256`."""
    return unit_id(converter_name, sha256, index)


def convert_path(converter: ConverterBase, path: Path) -> Conversion:
    """Convert `path`, fill defaults, assign ids and finalize every report.

    Raises whatever the converter raises (the pool classifies it) and
    `ReportValidationError` for a report the server would reject.
    """
    limit = converter.settings.max_file_size_bytes
    if path.stat().st_size > limit:  # refuse before reading (or hashing) a single byte
        raise too_large(limit)
    digest = file_sha256(path)
    failpoint("after_read")
    reports = _as_reports(converter.convert_file(path, converter.context))
    failpoint("mid_convert")
    for index, report in enumerate(reports):
        _fill_defaults(report, converter)
        if report.id is None:
            report.id = report_id(converter.display_name, digest, index)
        finalize(report)
    return Conversion(reports, digest)


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
    station = converter.context.station
    report.machineName = report.machineName or station.name
    report.location = report.location or station.location
    report.purpose = report.purpose or station.purpose
    report.uut.user = report.uut.user or station.operator
    if report.processCode is None:
        report.processCode = converter.settings.process_code
