"""The WSJF UUT report and its step tree, with the fluent builder converters use (spec §1).

Field names are the wire names. Parsing (`UUTReport.from_wsjf`) checks types, codes and length
limits with the field path in every message; `finalize()` (in `finalize.py`) fills in what a
converter may leave out and checks the structural rules; `to_wsjf()` emits only fields that are set.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_serializer
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from wats_converter.errors import FileTooLarge, ReportValidationError
from wats_converter.report.compare import (
    NUMERIC_OPS,
    SINGLE_LIMIT_OPS,
    CompOp,
    parse_comp_op,
)
from wats_converter.report.parts import (
    LIMIT_RULES,
    AdditionalData,
    Asset,
    AssetStats,
    Attachment,
    BinaryData,
    BooleanMeas,
    CallExe,
    Chart,
    DateTime,
    Finite,
    Int32,
    Loop,
    MeasStatus,
    MessagePopup,
    MiscInfo,
    NumericMeas,
    OutputOnly,
    ReportResult,
    ReportType,
    SeqCall,
    StepGroup,
    StepStatus,
    Str100,
    Str200,
    StringMeas,
    SubUnit,
    UURInfo,
    UUTInfo,
    WsjfModel,
    output_only_fields,
)
from wats_converter.report.readings import nan_note, nan_status
from wats_converter.validation import validation_problems

ROOT_NAME = "MainSequence Callback"
NOTE_DESCRIPTION = "wats-converter note"
"""The miscInfo description of a conversion note (see `UUTReport.add_conversion_note`)."""
M = TypeVar("M", bound=BaseModel)


class Step(WsjfModel):
    """A node of the step tree. A step with `seqCall` is a sequence and may hold `steps`.

    Build children with the `add_*` methods; each returns the new step. Statuses left as `None`
    are computed from limits when the report is finalized.
    """

    id: Int32 | None = None
    group: StepGroup = "M"
    stepType: str | None = None
    name: Str100
    status: StepStatus | None = None
    start: DateTime | None = None
    totTime: Finite | None = None
    totTimeFormat: str | None = None
    errorCode: Int32 | None = None
    errorCodeFormat: str | None = None
    errorMessage: Str200 | None = None
    reportText: str | None = None
    causedSeqFailure: bool | None = None
    causedUUTFailure: bool | None = None
    tsGuid: str | None = None
    interactiveExeNum: Int32 | None = None
    interactiveExeNumFormat: str | None = None
    loop: Loop | None = None
    seqCall: SeqCall | None = None
    steps: list[Step] | None = None
    numericMeas: list[NumericMeas] | None = None
    stringMeas: list[StringMeas] | None = None
    booleanMeas: list[BooleanMeas] | None = None
    callExe: CallExe | None = None
    messagePopup: MessagePopup | None = None
    chart: Chart | None = None
    attachment: Attachment | None = None
    additionalResults: list[AdditionalData] | None = None

    def add_sequence(
        self, name: str, *, path: str | None = None, version: str | None = None, **step: Any
    ) -> Step:
        """Add a sequence call (a step that holds steps) and return it."""
        seq = SeqCall(name=name, path=path, version=version)
        return self._add(name, step, seqCall=seq, steps=[])

    def add_numeric_step(
        self,
        name: str,
        value: float | None,
        low: float | None = None,
        high: float | None = None,
        *,
        comp: str | CompOp | None = None,
        unit: str | None = None,
        meas_status: MeasStatus | None = None,
        **step: Any,
    ) -> Step:
        """Add a numeric-limit step with one measurement and return the step.

        Limits and operator (see `NumericMeas`): without `comp` the operator follows from the
        limits given: both GELE, `low` only GE, `high` only LE, none LOG. Give `comp` for
        strict or other forms; a single-limit operator (EQ NE GT GE LT LE) takes its one limit
        from `low` or `high`, whichever is given, and stores it in `lowLimit` as the schema
        wants. Limits that contradict the operator (LOG with a limit, GELE with one) raise
        `ReportValidationError` saying what to write instead.

        `value=math.nan` (a tester's "not a number") is kept as a measurement without a value:
        its status is F when it has limits (it cannot have passed) and the step's `reportText`
        says the reading was NaN. Statuses left out are computed when the report is finalized;
        `meas_status` sets the measurement's (P F S) and `status=` the step's (P F D S E T).
        Other keywords (`group`, `totTime`, `reportText`, ...) are `Step` fields.
        """
        meas, note = _numeric(None, value, low, high, comp, unit, meas_status)
        return self._add(name, _noted(step, note), numericMeas=[meas])

    def add_numeric_measurement(
        self,
        name: str | None,
        value: float | None,
        low: float | None = None,
        high: float | None = None,
        *,
        comp: str | CompOp | None = None,
        unit: str | None = None,
        meas_status: MeasStatus | None = None,
    ) -> NumericMeas:
        """Add a named numeric measurement to this step (a multiple numeric step).

        Limits, operator and NaN are handled as in `add_numeric_step`.
        """
        meas, note = _numeric(name, value, low, high, comp, unit, meas_status)
        if note:
            self.reportText = f"{self.reportText}\n{note}" if self.reportText else note
        self.numericMeas = _appended(self.numericMeas, meas)
        return meas

    def add_step(self, name: str, **step: Any) -> Step:
        """Add a step with no payload yet; give it named measurements with the
        `add_*_measurement` methods to make a multiple numeric, string or pass/fail step."""
        return self._add(name, step)

    def add_string_step(
        self,
        name: str,
        value: str,
        limit: str | None = None,
        *,
        comp: str | CompOp | None = None,
        meas_status: MeasStatus | None = None,
        **step: Any,
    ) -> Step:
        """Add a string-value step and return it.

        `comp` defaults to CASESENSIT with a `limit` and LOG without one; IGNORECASE compares
        case-insensitively. `meas_status` sets the measurement's status, `status=` the step's.
        """
        op = _string_op(comp, limit, name)
        meas = _build(StringMeas, name, compOp=op, value=value, limit=limit, status=meas_status)
        return self._add(name, step, stringMeas=[meas])

    def add_pass_fail_step(self, name: str, passed: bool, **step: Any) -> Step:
        """Add a pass/fail step whose single measurement is `passed`."""
        return self._add(name, step, booleanMeas=[BooleanMeas(status="P" if passed else "F")])

    def add_pass_fail_measurement(self, name: str | None, passed: bool) -> BooleanMeas:
        """Add a named pass/fail measurement to this step (a multiple pass/fail step)."""
        meas = _build(BooleanMeas, f"measurement {name}", name=name, status="P" if passed else "F")
        self.booleanMeas = _appended(self.booleanMeas, meas)
        return meas

    def add_string_measurement(
        self,
        name: str | None,
        value: str,
        limit: str | None = None,
        *,
        comp: str | CompOp | None = None,
        meas_status: MeasStatus | None = None,
    ) -> StringMeas:
        """Add a named string measurement to this step (a multiple string step)."""
        op = _string_op(comp, limit, name)
        meas = _build(
            StringMeas,
            f"measurement {name}",
            name=name,
            compOp=op,
            value=value,
            limit=limit,
            status=meas_status,
        )
        self.stringMeas = _appended(self.stringMeas, meas)
        return meas

    def add_action_step(self, name: str, *, status: StepStatus = "P", **step: Any) -> Step:
        """Add a step without measurements (an action); it passes unless told otherwise."""
        return self._add(name, {**step, "status": status})

    def add_call_exe_step(
        self, name: str, exit_code: float, *, status: StepStatus = "P", **step: Any
    ) -> Step:
        """Add a Call Executable step with the program's exit code."""
        return self._add(name, {**step, "status": status}, callExe=CallExe(exitCode=exit_code))

    def add_message_popup_step(
        self, name: str, response: str, button: int = 1, *, status: StepStatus = "P", **step: Any
    ) -> Step:
        """Add a Message Popup step with the operator's response and button."""
        popup = MessagePopup(response=response, button=button)
        return self._add(name, {**step, "status": status}, messagePopup=popup)

    def set_chart(
        self,
        series: Iterable[tuple[str, Iterable[float], Iterable[float] | None]],
        *,
        label: str | None = None,
        x_label: str | None = None,
        x_unit: str | None = None,
        y_label: str | None = None,
        y_unit: str | None = None,
        chart_type: str = "Line",
    ) -> Chart:
        """Attach an XY chart; each series is `(name, y_values, x_values or None)`."""
        rows = [
            {"name": n, "ydata": _join(ys), "xdata": None if xs is None else _join(xs)}
            for n, ys, xs in series
        ]
        self.chart = _build(
            Chart,
            f"{self.name}.chart",
            chartType=chart_type,
            label=label,
            xLabel=x_label,
            xUnit=x_unit,
            yLabel=y_label,
            yUnit=y_unit,
            series=rows,
        )
        return self.chart

    def attach(
        self, name: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        """Attach one file to this step (base64 on the wire)."""
        encoded = base64.b64encode(data).decode("ascii")
        self.attachment = _build(
            Attachment, f"{self.name}.attachment", name=name, contentType=content_type, data=encoded
        )

    def walk(self) -> Iterable[Step]:
        """This step and every step below it, depth first."""
        yield self
        for child in self.steps or ():
            yield from child.walk()

    def _add(self, name: str, step: dict[str, Any], **payload: Any) -> Step:
        if self.seqCall is None:
            raise ReportValidationError(
                [f"step {self.name!r}: only a sequence (add_sequence) can hold steps"]
            )
        budget = _STEP_BUDGET.get()
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise FileTooLarge(
                    f"the file makes more than {budget[1]:,} steps (setting max_steps): too "
                    "big for one conversion; split the file or raise max_steps"
                )
        child = _build(Step, f"step {name!r}", name=name, **step, **payload)
        self.steps = _appended(self.steps, child)
        return child


# Steps a converter may still build in this conversion (None: no limit). A report's memory is
# about 5 KB a step, so this bounds the memory one file can take, whatever its size on disk.
_STEP_BUDGET: ContextVar[list[int] | None] = ContextVar("wats_step_budget", default=None)


@contextmanager
def step_budget(limit: int) -> Iterator[None]:
    """Within the block, building more than `limit` steps raises `FileTooLarge`.

    The service converts every file inside one (the converter setting `max_steps`), so a huge
    file fails early with a clear error instead of exhausting the station's memory.
    """
    token = _STEP_BUDGET.set([limit, limit])
    try:
        yield
    finally:
        _STEP_BUDGET.reset(token)


def new_root() -> Step:
    """The conventional root sequence (`MainSequence Callback`)."""
    return Step(name=ROOT_NAME, stepType="SequenceCall", seqCall=SeqCall(name=ROOT_NAME), steps=[])


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
        infos = [_build(MiscInfo, "miscInfos", description=NOTE_DESCRIPTION, text=n) for n in notes]
        for info in infos:
            self.miscInfos = _appended(self.miscInfos, info)
        return infos[0]

    def conversion_notes(self) -> list[str]:
        """The texts of the conversion notes in this report."""
        return [m.text or "" for m in self.miscInfos or () if m.description == NOTE_DESCRIPTION]

    def add_misc_info(self, description: str, text: str) -> MiscInfo:
        """Add a searchable key/value to the header."""
        info = _build(MiscInfo, "miscInfos", description=description, text=text)
        self.miscInfos = _appended(self.miscInfos, info)
        return info

    def add_sub_unit(self, part_type: str, pn: str, sn: str, rev: str = "") -> SubUnit:
        """Add a sub-assembly for traceability."""
        unit = _build(SubUnit, "subUnits", partType=part_type, pn=pn, sn=sn, rev=rev)
        self.subUnits = _appended(self.subUnits, unit)
        return unit

    def add_asset(self, asset_sn: str, usage_count: int | None = None) -> Asset:
        """Record a piece of test equipment used."""
        asset = _build(Asset, "assets", assetSN=asset_sn, usageCount=usage_count)
        self.assets = _appended(self.assets, asset)
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


def _appended(items: list[M] | None, item: M) -> list[M]:
    """`items` with `item` added in place (building a 10,000-step report stays linear)."""
    if items is None:
        return [item]
    items.append(item)
    return items


def _numeric(
    name: str | None,
    value: float | None,
    low: float | None,
    high: float | None,
    comp: str | CompOp | None,
    unit: str | None,
    status: MeasStatus | None,
) -> tuple[NumericMeas, str | None]:
    """The measurement, and a note for the step when the reading was NaN."""
    where = f"measurement {name or ''}".strip()
    op, low, high = numeric_limits(comp, low, high, where)
    note = None
    if value is not None and math.isnan(value):
        value = None
        note = nan_note(name)
        status = nan_status(op, status)
    meas = _build(
        NumericMeas,
        where,
        compOp=op,
        name=name,
        value=value,
        lowLimit=low,
        highLimit=high,
        unit=unit,
        status=status,
    )
    return meas, note


def numeric_limits(
    comp: str | CompOp | None, low: float | None, high: float | None, where: str = "measurement"
) -> tuple[CompOp, float | None, float | None]:
    """The operator and the (lowLimit, highLimit) pair the schema wants for these limits.

    Without `comp`: both limits GELE, low only GE, high only LE, none LOG. A single-limit
    operator keeps its one limit in `lowLimit`. Raises `ReportValidationError` for limits the
    operator cannot use, so a value with limits can never silently become a logged value.
    """
    if not comp:
        if low is not None and high is not None:
            return CompOp.GELE, low, high
        if low is not None:
            return CompOp.GE, low, None
        if high is not None:
            return CompOp.LE, high, None
        return CompOp.LOG, None, None
    op = parse_comp_op(comp)  # ValueError names an unknown operator
    given = [x for x in (low, high) if x is not None]
    if op is CompOp.LOG:
        if given:
            raise ReportValidationError(
                [
                    f"{where}: comp LOG cannot have limits (low={low}, high={high}); "
                    "leave comp out to infer GELE/GE/LE from the limits, or drop the limits"
                ]
            )
        return op, None, None
    if op in SINGLE_LIMIT_OPS:
        if len(given) != 1:
            raise ReportValidationError(
                [f"{where}: comp {op} takes exactly one limit (low or high), got {len(given)}"]
            )
        return op, given[0], None
    if op in NUMERIC_OPS and len(given) != 2:
        raise ReportValidationError(
            [
                f"{where}: comp {op} needs both low and high limits; for one limit use GE, LE, "
                "GT or LT"
            ]
        )
    return op, low, high


def _string_op(comp: str | CompOp | None, limit: str | None, name: str | None) -> CompOp:
    if not comp:
        return CompOp.CASESENSIT if limit is not None else CompOp.LOG
    op = parse_comp_op(comp)
    if op is CompOp.LOG and limit is not None:
        raise ReportValidationError(
            [
                f"measurement {name or ''}: comp LOG cannot have a limit ({limit!r}); leave comp "
                "out to compare case-sensitively, or drop the limit"
            ]
        )
    return op


def _noted(step: dict[str, Any], note: str | None) -> dict[str, Any]:
    if not note:
        return step
    text = step.get("reportText")
    return {**step, "reportText": f"{text}\n{note}" if text else note}


def _join(values: Iterable[float]) -> str:
    return ";".join(repr(float(v)) for v in values)


def _build(model: type[M], where: str, **fields: Any) -> M:
    try:
        return model(**fields)
    except ValidationError as exc:
        raise ReportValidationError(describe_validation_error(exc, prefix=where)) from None


def describe_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """Pydantic's errors about a report as `path: message` lines a user can act on."""
    return validation_problems(
        exc,
        prefix,
        unknown="unknown field (not part of the WSJF schema)",
        limits=LIMIT_RULES,  # the schema has no lengths: say where the limit comes from
    )
