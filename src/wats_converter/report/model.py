"""The WSJF UUT report: header, sub-units, assets, conversion notes (spec §1). Its step tree and
the builder converters use are in `step.py` (re-exported here).

Field names are the wire names. Parsing (`UUTReport.from_wsjf`) checks types, codes and length
limits with the field path in every message; `finalize()` (in `finalize.py`) fills in what a
converter may leave out and checks the structural rules; `to_wsjf()` emits only fields that are set.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, ValidationError, model_serializer
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from wats_converter.errors import ReportValidationError
from wats_converter.report.parts import (
    AdditionalData,
    Asset,
    AssetStats,
    BinaryData,
    DateTime,
    MiscInfo,
    OutputOnly,
    ReportResult,
    ReportType,
    Str100,
    SubUnit,
    UURInfo,
    UUTInfo,
    WsjfModel,
    output_only_fields,
)
from wats_converter.report.rules import Walked, walk_steps
from wats_converter.report.step import ROOT_NAME as ROOT_NAME
from wats_converter.report.step import Step as Step
from wats_converter.report.step import appended
from wats_converter.report.step import new_root as new_root
from wats_converter.report.step import step_budget as step_budget
from wats_converter.report.validation import build
from wats_converter.report.validation import describe_validation_error as describe_validation_error
from wats_converter.report.validation import format_path as format_path

NOTE_DESCRIPTION = "wats-converter note"
"""The miscInfo description of a conversion note (see `UUTReport.add_conversion_note`)."""


class UUTReport(WsjfModel):
    """A WATS report: every property of the schema's `Report` class.

    A test (UUT) report has `type` "T", a `root` step tree and `uut`; a repair (UUR) report has
    `type` "R" and `uur` (see `UURReport`). Parsing with `from_wsjf` returns a `UURReport` for
    type "R", so one call reads either kind.

    Example:
        >>> from datetime import datetime, timezone
        >>> r = UUTReport(pn="PCBA-1", sn="SN1", rev="A",
        ...               start=datetime(2025, 3, 4, 9, 15, tzinfo=timezone.utc))
        >>> step = r.root.add_numeric_step("VCC", 5.02, 4.9, 5.1, comp="GELE", unit="V")
    """

    type: ReportType = "T"
    id: uuid.UUID | None = None
    pn: Str100 = Field(min_length=1)
    sn: Str100 = Field(min_length=1)
    rev: Str100 = ""
    processCode: int | None = Field(default=None, ge=0, le=32767)
    processName: str | None = None
    processCodeFormat: str | None = None
    result: ReportResult | None = None
    machineName: Str100 | None = None
    location: Str100 | None = None
    purpose: Str100 | None = None
    start: DateTime | None = None
    startUTC: DateTime | None = None
    root: Step = Field(default_factory=new_root)
    uut: UUTInfo = Field(default_factory=UUTInfo)
    uur: UURInfo | None = None
    miscInfos: list[MiscInfo] | None = None
    subUnits: list[SubUnit] | None = None
    assets: list[Asset] | None = None
    additionalData: list[AdditionalData] | None = None
    binaryData: list[BinaryData] | None = None
    """Only in repair reports: files attached to the repaired unit."""
    productName: str | None = OutputOnly()
    origin: str | None = OutputOnly()
    assetStats: list[AssetStats] | None = OutputOnly()

    @property
    def is_repair(self) -> bool:
        """Whether this is a repair (UUR, type "R") report."""
        return self.type == "R"

    @model_serializer(mode="wrap")
    def _drop_test_parts(self, handler: SerializerFunctionWrapHandler) -> Any:
        # a repair report has no step tree: the defaults a UUT needs are not written for it
        data = handler(self)
        if self.type == "R" and isinstance(data, dict):
            for name in ("root", "uut"):
                if name not in self.model_fields_set:
                    data.pop(name, None)
        return data

    @classmethod
    def from_wsjf(cls, data: bytes | str | dict[str, Any]) -> UUTReport:
        """Parse a WSJF report (a `UURReport` for type "R"); raise `ReportValidationError`
        naming each bad field."""
        try:
            if isinstance(data, dict):
                kind = UURReport if data.get("type") == "R" else cls
                return kind.model_validate(data)
            report = cls.model_validate_json(data)
            if report.type == "R" and not isinstance(report, UURReport):
                return UURReport.model_validate_json(data)
            return report
        except ValidationError as exc:
            raise ReportValidationError(describe_validation_error(exc)) from None

    def step_tree(self) -> Step:
        """The root step as `finalize` checks and completes it: `root`, or for a report read by
        the fast path (`report.fast`) its decoded step tree, which has the same attributes."""
        return self.root

    def walk_steps(self) -> Walked | None:
        """The steps of the tree depth first, checked by the quick pass of `finalize`
        (`rules.walk_steps`), or None if a step has a problem. A report read by the fast path
        answers from the pass it made when it was read."""
        return walk_steps(self.root)

    def to_wsjf(self) -> bytes:
        """Serialise as WSJF JSON (UTF-8), omitting unset fields."""
        return self.model_dump_json(exclude_none=True).encode()

    def to_dict(self) -> dict[str, Any]:
        """The WSJF JSON object as plain Python data."""
        return self.model_dump(mode="json", exclude_none=True)

    def add_conversion_note(self, text: str) -> MiscInfo:
        """Record something the converter could not carry over (a field it did not read, a
        reading it could not keep), as a miscInfo described "wats-converter note", so the
        report itself says what is missing; long texts are split into 100-character notes."""
        notes = [text[i : i + 100] for i in range(0, max(len(text), 1), 100)]
        infos = [build(MiscInfo, "miscInfos", description=NOTE_DESCRIPTION, text=n) for n in notes]
        for info in infos:
            self.miscInfos = appended(self.miscInfos, info)
        return infos[0]

    def conversion_notes(self) -> list[str]:
        """The texts of the conversion notes in this report."""
        return [m.text or "" for m in self.miscInfos or () if m.description == NOTE_DESCRIPTION]

    def add_misc_info(self, description: str, text: str) -> MiscInfo:
        """Add a searchable key/value to the header."""
        info = build(MiscInfo, "miscInfos", description=description, text=text)
        self.miscInfos = appended(self.miscInfos, info)
        return info

    def add_sub_unit(self, part_type: str, pn: str, sn: str, rev: str = "") -> SubUnit:
        """Add a sub-assembly for traceability."""
        unit = build(SubUnit, "subUnits", partType=part_type, pn=pn, sn=sn, rev=rev)
        self.subUnits = appended(self.subUnits, unit)
        return unit

    def add_asset(self, asset_sn: str, usage_count: int | None = None) -> Asset:
        """Record a piece of test equipment used."""
        asset = build(Asset, "assets", assetSN=asset_sn, usageCount=usage_count)
        self.assets = appended(self.assets, asset)
        return asset

    def start_utc(self) -> datetime | None:
        """`start` as a UTC instant (what `startUTC` must say)."""
        return self.start.astimezone(UTC) if self.start is not None else None


class UURReport(UUTReport):
    """A WATS repair (UUR) report: `type` "R", the `uur` header, the repaired unit as
    `subUnits[idx=0]` with its `failures`, and report-level `binaryData`.

    It is a `UUTReport` (same class of header fields, as in the schema), so every part of the
    project that moves reports moves repairs too; `root` and `uut` are not written unless set.
    """

    type: ReportType = "R"
    uur: UURInfo = Field(default_factory=UURInfo)


OUTPUT_ONLY: dict[str, frozenset[str]] = {
    "report": output_only_fields(UUTReport),
    "uut": output_only_fields(UUTInfo),
}
"""Output-only field names by object ("report", "uut"), read from the `OutputOnly()` markers."""
