"""The WSJF UUT report model: build, parse, finalize, serialise.

Converter authors need `UUTReport` and the `Step.add_*` builder methods; `finalize` is applied by
the service after a converter returns.
"""

from wats_converter.errors import ReportValidationError
from wats_converter.report.compare import CompOp, numeric_passes, string_passes
from wats_converter.report.finalize import check, finalize, infer_step_type
from wats_converter.report.model import ROOT_NAME, Step, UUTReport, new_root
from wats_converter.report.parts import (
    AdditionalData,
    AdditionalProp,
    Asset,
    Attachment,
    BooleanMeas,
    CallExe,
    Chart,
    ChartSeries,
    Loop,
    MessagePopup,
    MiscInfo,
    NumericMeas,
    SeqCall,
    StringMeas,
    SubUnit,
    UUTInfo,
)

__all__ = [
    "ROOT_NAME",
    "AdditionalData",
    "AdditionalProp",
    "Asset",
    "Attachment",
    "BooleanMeas",
    "CallExe",
    "Chart",
    "ChartSeries",
    "CompOp",
    "Loop",
    "MessagePopup",
    "MiscInfo",
    "NumericMeas",
    "ReportValidationError",
    "SeqCall",
    "Step",
    "StringMeas",
    "SubUnit",
    "UUTInfo",
    "UUTReport",
    "check",
    "finalize",
    "infer_step_type",
    "new_root",
    "numeric_passes",
    "string_passes",
]
