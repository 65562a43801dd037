"""A converter that misbehaves on command, for the runner tests: the file's first word says how.

OK SN             a report for serial SN
SLOW SECONDS SN   the same, after sleeping SECONDS
SEGV              dereferences NULL (the process dies with SIGSEGV)
EXIT              os._exit(3)
HANG              sleeps for an hour
LINE              ConversionError at line 7, field "Volts"
INVALID           a report the server would reject (ReportValidationError)
RETRY             RetryLater after 42 s
SKIP              SkipFile
CUSTOM            an exception class that cannot be rebuilt from its message
NOISY SN          logs a warning, then converts
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from wats_converter.converters import ConversionError, ConverterBase, RetryLater, SkipFile
from wats_converter.errors import ReportValidationError
from wats_converter.report import UUTReport

log = logging.getLogger(__name__)


class StationFault(ValueError):
    """Needs two arguments: pickle cannot rebuild it from its message alone."""

    def __init__(self, code: int, text: str) -> None:
        self.code = code
        super().__init__(f"station fault {code}: {text}")


class CrashyConverter(ConverterBase):
    name = "CrashyConverter"
    supported_extensions = (".crashy",)
    cpu_heavy = True

    def convert(self, content: str, file_path: Path) -> UUTReport:
        word, *rest = content.split()
        if word == "SLOW":
            time.sleep(float(rest[0]))
            rest = rest[1:]
        self._misbehave(word)
        if word == "NOISY":
            log.warning("odd header in %s", file_path.name)
        report = UUTReport(pn="CRASHY", sn=rest[0] if rest else file_path.stem, start=START)
        report.root.add_numeric_step("VCC", 5.0, 4.9, 5.1, unit="V")
        return report

    def _misbehave(self, word: str) -> None:
        if word == "SEGV":
            ctypes.string_at(0)
        elif word == "EXIT":
            os._exit(3)
        elif word == "HANG":
            time.sleep(3600)
        elif word == "LINE":
            raise ConversionError("not a number: 'five'", line=7, field="Volts")
        elif word == "INVALID":
            raise ReportValidationError(["root.steps[0].name: too long", "uut.sn: missing"])
        elif word == "RETRY":
            raise RetryLater("the end marker is missing", after_s=42.0)
        elif word == "SKIP":
            raise SkipFile("a calibration log")
        elif word == "CUSTOM":
            raise StationFault(17, "fixture open")


START = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
