"""WSJFConverter: a file that already is a WATS report in JSON (spec §3.1).

Test (UUT) and repair (UUR) reports are both read. Output-only fields of a server export are
accepted and not sent on (the model decides which they are); NaN readings follow the NaN
policy (`wats_converter.report.readings`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wats_converter.converters.api import ConverterBase, ConverterSettings
from wats_converter.errors import ConversionError
from wats_converter.report import UURReport, UUTReport
from wats_converter.report.fast import read_wsjf
from wats_converter.report.readings import apply_nan_policy_tree


class WSJFSettings(ConverterSettings):
    ignore_unknown_fields: bool = False
    """Drop fields that are not in the WSJF schema instead of rejecting the file."""


class WSJFConverter(ConverterBase):
    """Reads `*.json` WSJF reports; keeps every schema field and the file's `id`."""

    name = "WSJFConverter"
    supported_extensions = (".json",)
    Settings = WSJFSettings

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        return self.read(content)

    def read(self, content: str, *, fast: bool = True) -> list[UUTReport]:
        """The reports in WSJF `content`. A valid test report takes the fast path
        (`wats_converter.report.fast`); anything it refuses, the careful one, which repairs
        what it can (NaN readings) and explains the rest. `fast=False` forces the careful path
        (the tests hold the two to identical output)."""
        if fast and not self.settings.ignore_unknown_fields:
            quick = read_wsjf(content)
            if quick is not None:
                return [quick]
        if content.lstrip().startswith("{") and not self.settings.ignore_unknown_fields:
            try:  # validated straight from the text (about twice as fast as the dict path)
                report = UUTReport.model_validate_json(content)
                if report.type == "R":
                    report = UURReport.model_validate_json(content)
            except ValidationError:
                pass  # the careful path below explains (or repairs) what is wrong
            else:
                if report.id is not None and report.id.int == 0:
                    report.id = None
                return [report]
        try:
            data = json.loads(content)  # reads the NaN literal TestStand writes, too
        except json.JSONDecodeError as exc:
            raise ConversionError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
            ) from None
        items = data if isinstance(data, list) else [data]
        return [self._report(item, i if len(items) > 1 else None) for i, item in enumerate(items)]

    def _report(self, data: Any, index: int | None) -> UUTReport:
        where = "" if index is None else f"report [{index}]: "
        if not isinstance(data, dict):
            raise ConversionError(
                f"{where}expected a JSON object (a WSJF report), got {type(data).__name__}"
            )
        if data.get("type", "T") not in ("T", "R"):
            raise ConversionError(
                f"{where}type {data.get('type')!r}: a WSJF report is type T (test) or R (repair)"
            )
        if data.get("id") in ("", "00000000-0000-0000-0000-000000000000"):
            del data["id"]
        if isinstance(data.get("root"), dict):
            apply_nan_policy_tree(data["root"])
        if self.settings.ignore_unknown_fields:
            data = {k: v for k, v in data.items() if k in UUTReport.model_fields}
        return UUTReport.from_wsjf(data)
