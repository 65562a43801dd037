"""The leaves of a WSJF report: measurements, step payloads and header collections (spec §1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wats_converter.report.compare import CompOp, parse_comp_op

Str20 = Annotated[str, Field(max_length=20)]
Str30 = Annotated[str, Field(max_length=30)]
Str50 = Annotated[str, Field(max_length=50)]
Str100 = Annotated[str, Field(max_length=100)]
Str200 = Annotated[str, Field(max_length=200)]
Str500 = Annotated[str, Field(max_length=500)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]

ReportResult = Literal["P", "F", "E", "T"]
StepStatus = Literal["P", "F", "D", "S", "E", "T", "U"]
MeasStatus = Literal["P", "F", "S"]
StepGroup = Literal["S", "M", "C"]


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


class Attachment(WsjfModel):
    name: Str100
    contentType: str = "application/octet-stream"
    data: str


class AdditionalProp(WsjfModel):
    """A TestStand-like property; `props` for type Obj, `array` for type Array."""

    name: str | None = None
    type: str | None = None
    flags: int | None = None
    value: Any = None
    numFormat: str | None = None
    comment: str | None = None
    props: list[AdditionalProp] | None = None
    array: dict[str, Any] | None = None


class AdditionalData(WsjfModel):
    name: str
    props: list[AdditionalProp] | None = None


class MiscInfo(WsjfModel):
    description: Str100
    text: Str100 | None = None
    numeric: Int32 | None = None
    numericFormat: str | None = None
    typedef: Str30 | None = None


class SubUnit(WsjfModel):
    partType: Str50 | None = None
    pn: Str100 | None = None
    rev: Str100 | None = None
    sn: Str100 | None = None
    position: Int32 | None = None


class Asset(WsjfModel):
    assetSN: Str100
    usageCount: Int32 | None = None
    usageCountFormat: str | None = None


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
