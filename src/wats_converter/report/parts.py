"""The leaves of a WSJF report: measurements, step payloads, header collections and the repair
(UUR) parts, each named and typed exactly as the server's schema (`wsjf-schema.json`, spec §1).

Fields marked `OutputOnly` are ones the server computes and exports (`productName`, `origin`,
`assetStats`, `uut.stepIdCausedUUTFailure`, `uut.refUURs`): they are accepted and checked on
input, like WATS does, but never serialised, so a converter never sends them on. This marker is
the one place that decides which fields are output only (`output_only_fields()` lists them).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)
from pydantic.fields import FieldInfo

from wats_converter.report.compare import CompOp, parse_comp_op
from wats_converter.report.timestamps import DateTime as DateTime
from wats_converter.report.timestamps import Timestamp as Timestamp
from wats_converter.report.timestamps import wsjf_time as wsjf_time

# Length limits the schema does not state; each has evidence in the spec (§1.7). The reason
# is part of the error message (see `LIMIT_RULES` and `model.describe_validation_error`).
Str20 = Annotated[str, Field(max_length=20)]
Str30 = Annotated[str, Field(max_length=30)]
Str50 = Annotated[str, Field(max_length=50)]
Str100 = Annotated[str, Field(max_length=100)]
Str200 = Annotated[str, Field(max_length=200)]
Str500 = Annotated[str, Field(max_length=500)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]

# field name -> why the project limits its length (the schema states no lengths)
LIMIT_RULES = {
    "pn": "String (100) in the WATS REST documentation (spec §1.7)",
    "sn": "String (100) in the WATS REST documentation (spec §1.7)",
    "rev": "String (100) in the WATS REST documentation (spec §1.7)",
    "machineName": "String (100) in the WATS REST documentation (spec §1.7)",
    "location": "String (100) in the WATS REST documentation (spec §1.7)",
    "purpose": "String (100) in the WATS REST documentation (spec §1.7)",
    "name": "names: steps and measurements 100 (community schema), seqCall 200 (spec §1.7)",
    "description": "miscInfo description is 100 in the community schema (spec §1.7)",
    "text": "miscInfo text is 100 in the community schema (spec §1.7)",
    "typedef": "miscInfo typedef is 30 in the community schema (spec §1.7)",
    "partType": "subUnit partType is 50 in the community schema (spec §1.7)",
    "user": "the operator name is 100 in Virinco's libraries (spec §1.7)",
    "fixtureId": "fixtureId is 100 in Virinco's libraries (spec §1.7)",
    "batchSN": "batchSN is 100 in Virinco's libraries (spec §1.7)",
    "comment": "uut.comment limits disagree between sources; 500 is the smallest (spec §1.7)",
    "errorMessage": "a server export truncates step errorMessage at 200 (spec §1.7)",
    "path": "seqCall path is 500 in Virinco's Python library (spec §1.7)",
    "version": "seqCall version is 30 in Virinco's Python library (spec §1.7)",
    "label": "chart label limits of Virinco's Python library (spec §1.4.5)",
    "xLabel": "chart label limits of Virinco's Python library (spec §1.4.5)",
    "yLabel": "chart label limits of Virinco's Python library (spec §1.4.5)",
    "xUnit": "chart unit limits of Virinco's Python library (spec §1.4.5)",
    "yUnit": "chart unit limits of Virinco's Python library (spec §1.4.5)",
    "assetSN": "asset serial numbers are 100 like every serial number (spec §1.7)",
    "series": "about 10 series per chart in the WSTF converter (spec §1.4.5)",
}

ReportType = Literal["T", "R"]
ReportResult = Literal["P", "F", "E", "T"]
StepStatus = Literal["P", "F", "D", "S", "E", "T", "U"]
MeasStatus = Literal["P", "F", "S"]
StepGroup = Literal["S", "M", "C"]


def OutputOnly() -> Any:
    """A field the server computes: accepted and checked on input, never serialised."""
    return Field(default=None, exclude=True, json_schema_extra={"outputOnly": True})


def is_output_only(info: FieldInfo) -> bool:
    """Whether a model field is one the server computes (declared with `OutputOnly()`)."""
    extra = info.json_schema_extra
    return isinstance(extra, dict) and extra.get("outputOnly") is True


class WsjfModel(BaseModel):
    """Shared settings: unknown fields are errors, so a typo never silently loses data."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class NumericMeas(WsjfModel):
    """One numeric-limit measurement. Single-limit operators use `lowLimit` only."""

    compOp: CompOp = CompOp.LOG
    name: Str100 | None = None
    status: MeasStatus | None = None
    unit: str | None = None
    value: Finite | None = None
    lowLimit: Finite | None = None
    highLimit: Finite | None = None
    valueFormat: str | None = None
    lowLimitFormat: str | None = None
    highLimitFormat: str | None = None

    _op = field_validator("compOp", mode="before")(parse_comp_op)


class StringMeas(WsjfModel):
    """One string-value measurement (operators LOG, EQ, NE, CASESENSIT, IGNORECASE)."""

    compOp: CompOp = CompOp.LOG
    name: Str100 | None = None
    status: MeasStatus | None = None
    value: str | None = None
    limit: str | None = None

    _op = field_validator("compOp", mode="before")(parse_comp_op)


class BooleanMeas(WsjfModel):
    """One pass/fail measurement: the status is the outcome."""

    name: Str100 | None = None
    status: MeasStatus


class SeqCall(WsjfModel):
    path: Str500 | None = None
    name: Str200 | None = None
    version: Str30 | None = None


class Loop(WsjfModel):
    """Loop summary (`num`, `passed`, `failed`, `endingIndex`) or one iteration (`idx`)."""

    idx: Int32 | None = None
    num: Int32 | None = None
    endingIndex: Int32 | None = None
    passed: Int32 | None = None
    failed: Int32 | None = None


class CallExe(WsjfModel):
    exitCode: Finite | None = None
    exitCodeFormat: str | None = None


class MessagePopup(WsjfModel):
    response: str | None = None
    button: Int32 | None = None
    buttonFormat: str | None = None


class ChartSeries(WsjfModel):
    dataType: str = "XYG"
    name: Str100 | None = None
    xdata: str | None = None
    ydata: str


class Chart(WsjfModel):
    chartType: str = "Line"
    label: Str100 | None = None
    xLabel: Str50 | None = None
    xUnit: Str20 | None = None
    yLabel: Str50 | None = None
    yUnit: Str20 | None = None
    series: list[ChartSeries] = Field(default_factory=list, max_length=10)

    @model_serializer(mode="wrap")
    def _as_read(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not self.series and "series" not in self.model_fields_set and isinstance(data, dict):
            data.pop("series", None)  # a chart read without series is written without them
        return data


class Attachment(WsjfModel):
    name: Str100
    contentType: str = "application/octet-stream"
    data: str


class BinaryData(WsjfModel):
    """A file attached to a repair report or to one of its failures (base64 `data`)."""

    name: str | None = None
    contentType: str | None = None
    data: str | None = None
    id: uuid.UUID | None = None


class AdditionalProp(WsjfModel):
    """A TestStand-like property; `props` for type Obj, `array` for type Array.

    `value` is text, as in the schema: TestStand writes numbers as strings with a `numFormat`.
    """

    name: str | None = None
    type: str | None = None
    flags: Int32 | None = None
    value: str | None = None
    numFormat: str | None = None
    comment: str | None = None
    props: list[AdditionalProp] | None = None
    array: AdditionalArray | None = None


class AdditionalArrayIndex(WsjfModel):
    """One element of an Array property: its position and its value."""

    indexes: list[Int32] | None = None
    text: str | None = None
    value: AdditionalProp | None = None


class AdditionalArray(WsjfModel):
    """The elements of an Array property (`dimension`, element `type`, `indexes`)."""

    dimension: Int32 | None = None
    indexes: list[AdditionalArrayIndex] | None = None
    type: str | None = None


class AdditionalData(WsjfModel):
    name: str | None = None
    props: list[AdditionalProp] | None = None


class MiscInfo(WsjfModel):
    description: Str100
    text: Str100 | None = None
    numeric: Int32 | None = None
    numericFormat: str | None = None
    typedef: Str30 | None = None
    id: uuid.UUID | None = None
    """Only in repair reports."""


class Failure(WsjfModel):
    """A failure found and fixed in a repair: a fail code from the repair type's code tree."""

    category: str | None = None
    code: str | None = None
    comRef: str | None = None
    comment: str | None = None
    funcBlock: str | None = None
    artNumber: str | None = None
    artRev: str | None = None
    artVendor: str | None = None
    artDescription: str | None = None
    refStepId: Int32 | None = None
    refStepName: str | None = None
    attachments: list[BinaryData] | None = None


class SubUnit(WsjfModel):
    """A sub assembly. `idx`, `parentIdx`, `replacedIdx` and `failures` are repair-only: in a
    repair report `idx` 0 is the repaired unit itself."""

    partType: Str50 | None = None
    pn: Str100 | None = None
    rev: Str100 | None = None
    sn: Str100 | None = None
    position: Int32 | None = None
    idx: Int32 | None = None
    parentIdx: Int32 | None = None
    replacedIdx: Int32 | None = None
    failures: list[Failure] | None = None


class Asset(WsjfModel):
    assetSN: Str100
    usageCount: Int32 | None = None
    usageCountFormat: str | None = None


class AssetStats(WsjfModel):
    """Output only: calibration and usage figures the server computes for an asset."""

    assetSN: str | None = None
    calibrationDaysOverdue: float | None = None
    daysSinceCalibration: float | None = None
    daysSinceMaintenance: float | None = None
    isDaysSinceCalibrationUnknown: bool | None = None
    isDaysSinceMaintenanceUnknown: bool | None = None
    maintenanceDaysOverdue: float | None = None
    message: str | None = None
    runningCount: Int32 | None = None
    runningCountExceeded: Int32 | None = None
    totalCount: Int32 | None = None
    totalCountExceeded: Int32 | None = None


class ReferencedByUUR(WsjfModel):
    """Output only: a repair report that references this test report."""

    id: uuid.UUID | None = None
    start: DateTime | None = None


class UUTInfo(WsjfModel):
    """The `uut` header object (operator, fixture, batch, ...)."""

    user: Str100 | None = None
    comment: Str500 | None = None
    execTime: Finite | None = None
    execTimeFormat: str | None = None
    testSocketIndex: Int32 | None = None
    testSocketIndexFormat: str | None = None
    batchSN: Str100 | None = None
    fixtureId: Str100 | None = None
    errorCode: Int32 | None = None
    errorCodeFormat: str | None = None
    errorMessage: str | None = None
    batchFailCount: Int32 | None = None
    batchFailCountFormat: str | None = None
    batchLoopIndex: Int32 | None = None
    batchLoopIndexFormat: str | None = None
    stepIdCausedUUTFailure: Int32 | None = OutputOnly()
    refUURs: list[ReferencedByUUR] | None = OutputOnly()


class UURInfo(WsjfModel):
    """The `uur` header object of a repair report."""

    user: Str100 | None = None
    comment: str | None = None
    processCode: Int32 | None = None
    """The test operation that found the fault (the report's own `processCode` is the repair)."""
    processCodeFormat: str | None = None
    processName: str | None = None
    refUUT: uuid.UUID | None = None
    """The id of the failed test report this repair is for."""
    confirmDate: DateTime | None = None
    finalizeDate: DateTime | None = None
    execTime: Finite | None = None
    parent: uuid.UUID | None = None
    children: list[uuid.UUID] | None = None


def output_only_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of `model`'s fields that are output only."""
    return frozenset(n for n, f in model.model_fields.items() if is_output_only(f))
