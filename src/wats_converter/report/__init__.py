"""The WSJF report model (test and repair reports): build, parse, finalize, serialise.

Converter authors need `UUTReport` and the `Step.add_*` builder methods; `finalize` is applied by
the service after a converter returns. `UURReport` is a repair report; `add_conversion_note`
records what a converter could not carry over; `readings` holds the NaN policy.
"""

from wats_converter.errors import ReportValidationError
from wats_converter.report.compare import CompOp, numeric_passes, string_passes
from wats_converter.report.finalize import check, finalize, infer_step_type
from wats_converter.report.model import (
    NOTE_DESCRIPTION,
    OUTPUT_ONLY,
    ROOT_NAME,
    Step,
    UURReport,
    UUTReport,
    new_root,
)
from wats_converter.report.parts import (
    AdditionalArray,
    AdditionalArrayIndex,
    AdditionalData,
    AdditionalProp,
    Asset,
    AssetStats,
    Attachment,
    BinaryData,
    BooleanMeas,
    CallExe,
    Chart,
    ChartSeries,
    Failure,
    Loop,
    MessagePopup,
    MiscInfo,
    NumericMeas,
    ReferencedByUUR,
    SeqCall,
    StringMeas,
    SubUnit,
    Timestamp,
    UURInfo,
    UUTInfo,
)
from wats_converter.report.readings import NAN_NOTE, is_nan_reading, nan_note, nan_status

__all__ = [
    "NAN_NOTE",
    "NOTE_DESCRIPTION",
    "OUTPUT_ONLY",
    "ROOT_NAME",
    "AdditionalArray",
    "AdditionalArrayIndex",
    "AdditionalData",
    "AdditionalProp",
    "Asset",
    "AssetStats",
    "Attachment",
    "BinaryData",
    "BooleanMeas",
    "CallExe",
    "Chart",
    "ChartSeries",
    "CompOp",
    "Failure",
    "Loop",
    "MessagePopup",
    "MiscInfo",
    "NumericMeas",
    "ReferencedByUUR",
    "ReportValidationError",
    "SeqCall",
    "Step",
    "StringMeas",
    "SubUnit",
    "Timestamp",
    "UURInfo",
    "UURReport",
    "UUTInfo",
    "UUTReport",
    "check",
    "finalize",
    "infer_step_type",
    "is_nan_reading",
    "nan_note",
    "nan_status",
    "new_root",
    "numeric_passes",
    "string_passes",
]
