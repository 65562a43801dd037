"""A converter that misbehaves on command (the file's first word): HANG, RAISE, KILL or OK."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from wats_converter.converters import ConverterBase
from wats_converter.report import UUTReport


class MoodyConverter(ConverterBase):
    name = "MoodyConverter"
    supported_extensions = (".mood",)

    def convert(self, content: str, file_path: Path) -> UUTReport:
        word, _, sn = content.strip().partition(" ")
        if word == "HANG":
            time.sleep(3600)
        elif word == "RAISE":
            raise RuntimeError("the converter has a bug")
        elif word == "KILL":
            os.kill(os.getpid(), signal.SIGKILL)
        report = UUTReport(
            pn="MOOD", sn=sn or file_path.stem, start=datetime(2025, 1, 1, tzinfo=UTC)
        )
        report.root.add_pass_fail_step("ok", True)
        return report
