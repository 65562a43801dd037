"""The public surface converter authors build on: changing it must be a deliberate act."""

from __future__ import annotations

import enum
import inspect
from types import ModuleType

import pydantic
import pytest

import wats_converter.converters as converters
import wats_converter.report as report
import wats_converter.testing as testing


def test_converter_api() -> None:
    assert set(converters.__all__) == {
        "ConversionContext",
        "ConversionError",
        "ConvertResult",
        "ConverterBase",
        "ConverterSettings",
        "RetryLater",
        "SkipFile",
        "StationDefaults",
        "decode_text",
        "parse_number",
        "parse_status",
        "parse_time",
        "read_limited",
        "LocalTime",
        "localize",
        "elapsed_s",
        "parse_local_time",
        "station_zone",
        "zone",
        "OHM",
        "is_nan_reading",
        "parse_si",
        "parse_reading",
        "round_noise",
        "unit_symbol",
        "unit_id",
        "ArchiveLimits",
        "check_member_name",
        "read_members",
        "ComponentClass",
        "component_class",
        "HeaderSettings",
        "GrowingLogSettings",
        "keep_verdict",
        "log_not_finished",
        "steps_status",
        "HEAD_BYTES",
        "Recognition",
        "XmlHead",
        "read_head",
        "recognize_xml",
        "xml_head",
        "parse_xml",
    }
    assert all(hasattr(converters, name) for name in converters.__all__)


def test_report_api() -> None:
    assert {
        "UUTReport",
        "Step",
        "finalize",
        "check",
        "CompOp",
        "ReportValidationError",
        "NumericMeas",
        "StringMeas",
        "BooleanMeas",
        "MiscInfo",
        "SubUnit",
        "Asset",
        "Chart",
        "Attachment",
        "Loop",
        "UURReport",
        "Failure",
        "BinaryData",
        "UURInfo",
        "Timestamp",
        "OUTPUT_ONLY",
        "is_nan_reading",
        "nan_status",
        "nan_note",
    } <= set(report.__all__)
    assert {"add_conversion_note", "conversion_notes", "is_repair"} <= set(dir(report.UUTReport))
    assert all(hasattr(report, name) for name in report.__all__)
    builder = {
        "add_sequence",
        "add_step",
        "add_numeric_step",
        "add_numeric_measurement",
        "add_string_step",
        "add_string_measurement",
        "add_pass_fail_step",
        "add_pass_fail_measurement",
        "add_action_step",
        "add_call_exe_step",
        "add_message_popup_step",
        "set_chart",
        "attach",
        "walk",
    }
    assert builder <= set(dir(report.Step))


def test_testing_api() -> None:
    assert set(testing.__all__) == {
        "FakeRunner",
        "ManualClock",
        "ServerProcess",
        "ServerThread",
        "TestFileGenerator",
        "assert_valid_wsjf",
        "convert_file",
        "local_server",
        "minimal_report",
        "rich_report",
        "settle",
        "station_config",
        "write_atomically",
    }
    assert all(hasattr(testing, name) for name in testing.__all__)


# What converter authors call, exactly: a rename, a parameter renamed, reordered, added without a
# default or made keyword-only fails here. Change a table on purpose, with a CHANGELOG line.


def surface(module: ModuleType) -> dict[str, str]:
    """Every public name of `module` with what a caller depends on: a function's signature, a
    class's public methods (signatures) and a model's fields, an enum's members."""
    found: dict[str, str] = {}
    for name in sorted(module.__all__):
        obj = getattr(module, name)
        if isinstance(obj, type):
            found.update(_class_surface(name, obj))
        elif callable(obj):
            found[name] = str(inspect.signature(obj))
        else:
            found[name] = type(obj).__name__
    return found


def _class_surface(name: str, cls: type) -> dict[str, str]:
    found: dict[str, str] = {}
    if issubclass(cls, enum.Enum):
        found[name] = "enum: " + " ".join(cls.__members__)
        return found
    if issubclass(cls, pydantic.BaseModel):
        found[name] = "fields: " + " ".join(cls.model_fields)
    inherited = set(dir(pydantic.BaseModel)) | set(dir(Exception))
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("wats_converter"):
            continue
        for attr, member in vars(klass).items():
            public = not attr.startswith("_") and attr not in inherited
            if not (public or attr == "__init__"):
                continue
            if isinstance(member, property):
                found[f"{name}.{attr}"] = "property"
            elif isinstance(member, (staticmethod, classmethod)) or inspect.isfunction(member):
                found[f"{name}.{attr}"] = str(inspect.signature(getattr(cls, attr)))
            elif public:  # a class attribute a converter sets (`supported_extensions`, ...)
                found[f"{name}.{attr}"] = "attribute"
    return found


CONVERTER_SURFACE = {
    "ArchiveLimits.__init__": "(self, max_archive_bytes: 'int' = 67108864, max_entries: 'int' = "
    "1000, max_member_bytes: 'int' = 33554432, max_total_bytes: 'int' = "
    "134217728, max_ratio: 'float' = 200.0, max_name_length: 'int' = "
    "255) -> None",
    "ArchiveLimits.max_archive_bytes": "attribute",
    "ArchiveLimits.max_entries": "attribute",
    "ArchiveLimits.max_member_bytes": "attribute",
    "ArchiveLimits.max_name_length": "attribute",
    "ArchiveLimits.max_ratio": "attribute",
    "ArchiveLimits.max_total_bytes": "attribute",
    "ComponentClass.__init__": "(self, prefix: 'str', name: 'str') -> None",
    "ConversionContext.__init__": "(self, station: 'StationDefaults' = <factory>, logger: "
    "'logging.Logger' = <factory>) -> None",
    "ConversionError.__init__": "(self, message: 'str', *, line: 'int | None' = None, field: 'str "
    "| None' = None) -> 'None'",
    "ConvertResult": "UnionType",
    "ConverterBase.Settings": "attribute",
    "ConverterBase.__init__": "(self, settings: 'dict[str, Any] | None' = None, context: "
    "'ConversionContext | None' = None) -> 'None'",
    "ConverterBase.convert": "(self, content: 'str', file_path: 'Path') -> 'ConvertResult'",
    "ConverterBase.convert_file": "(self, file_path: 'Path', context: 'ConversionContext') -> "
    "'ConvertResult'",
    "ConverterBase.cpu_heavy": "attribute",
    "ConverterBase.detects_unfinished_files": "attribute",
    "ConverterBase.display_name": "property",
    "ConverterBase.is_complete": "(self, file_path: 'Path') -> 'bool'",
    "ConverterBase.matches_file": "(self, file_path: 'Path') -> 'bool'",
    "ConverterBase.name": "attribute",
    "ConverterBase.recognizes": "(self, head: 'bytes', file_path: 'Path') -> 'Recognition | None'",
    "ConverterBase.sniffs_content": "property",
    "ConverterBase.supported_extensions": "attribute",
    "ConverterSettings": "fields: encoding fallback_encoding max_file_size_bytes process_code "
    "incomplete_timeout_s max_steps",
    "GrowingLogSettings": "fields: encoding fallback_encoding max_file_size_bytes process_code "
    "incomplete_timeout_s max_steps timezone part_number revision "
    "sequence_version operator convert_before_end retry_after_s",
    "HEAD_BYTES": "int",
    "HeaderSettings": "fields: encoding fallback_encoding max_file_size_bytes process_code "
    "incomplete_timeout_s max_steps timezone part_number revision "
    "sequence_version operator",
    "LocalTime.__init__": "(self, time: 'datetime', problem: 'str | None' = None) -> None",
    "LocalTime.note_on": "(self, report: '_Notable') -> 'datetime'",
    "LocalTime.problem": "attribute",
    "OHM": "str",
    "Recognition.__init__": "(self, accepted: 'bool', reason: 'str') -> None",
    "RetryLater.__init__": "(self, reason: 'str', after_s: 'float' = 5.0) -> 'None'",
    "SkipFile.__init__": "(self, reason: 'str') -> 'None'",
    "StationDefaults.__init__": "(self, name: 'str' = 'wats-converter', location: 'str' = "
    "'Unknown', purpose: 'str' = 'Production', operator: 'str' = "
    "'oper') -> None",
    "StationDefaults.location": "attribute",
    "StationDefaults.name": "attribute",
    "StationDefaults.operator": "attribute",
    "StationDefaults.purpose": "attribute",
    "XmlHead.__init__": "(self, namespace: 'str', name: 'str', attributes: 'dict[str, str]', "
    "children: 'tuple[tuple[str, str], ...]') -> None",
    "XmlHead.describe": "(self) -> 'str'",
    "check_member_name": "(name: 'str', max_length: 'int' = 255) -> 'None'",
    "component_class": "(reference: 'str') -> 'ComponentClass'",
    "decode_text": "(raw: 'bytes', encoding: 'str' = 'auto', fallback: 'str' = 'cp1252') -> 'str'",
    "elapsed_s": "(start: 'datetime', end: 'datetime', timezone: 'str | tzinfo | None') -> 'float'",
    "is_nan_reading": "(value: 'object') -> 'bool'",
    "keep_verdict": "(report: 'UUTReport', verdict: 'ReportResult') -> 'None'",
    "localize": "(naive: 'datetime', timezone: 'str | tzinfo | None', *, strict: 'bool' = False, "
    "field: 'str' = 'start', line: 'int | None' = None) -> 'LocalTime'",
    "log_not_finished": "(what: 'str', settings: 'GrowingLogSettings') -> 'RetryLater'",
    "parse_local_time": "(text: 'str', formats: 'Sequence[str]', timezone: 'str | tzinfo | None', "
    "*, strict: 'bool' = False, line: 'int | None' = None, field: 'str' = "
    "'start') -> 'LocalTime'",
    "parse_number": "(text: 'str', decimal: 'str' = '.', *, line: 'int', field: 'str') -> 'float'",
    "parse_reading": "(text: 'str', decimal: 'str' = '.', *, line: 'int', field: 'str') -> 'float'",
    "parse_si": "(text: 'str', *, m_means: \"Literal['mega', 'milli']\" = 'mega', line: "
    "'int | None' = None, field: 'str | None' = None) -> 'float'",
    "parse_status": "(text: 'str', *, line: 'int', field: 'str', allowed: 'str') -> 'str'",
    "parse_time": "(text: 'str', zone: 'str | None', *, line: 'int', field: 'str' = 'start') -> "
    "'datetime'",
    "parse_xml": "(raw: 'bytes', encoding: 'str' = 'auto', fallback: 'str' = 'cp1252') -> "
    "'ET.Element'",
    "read_head": "(path: 'Path', limit: 'int' = 16384) -> 'bytes'",
    "read_limited": "(path: 'Path', max_bytes: 'int') -> 'bytes'",
    "read_members": "(path: 'Path', limits: 'ArchiveLimits | None' = None, wanted: "
    "'Callable[[str], bool] | None' = None) -> 'dict[str, bytes]'",
    "recognize_xml": "(head: 'bytes', judge: 'Callable[[XmlHead], Recognition]') -> 'Recognition'",
    "round_noise": "(value: 'float', digits: 'int' = 12) -> 'float'",
    "station_zone": "() -> 'tzinfo'",
    "steps_status": "(step: 'Step') -> 'str'",
    "unit_id": "(converter_name: 'str', *parts: 'object') -> 'uuid.UUID'",
    "unit_symbol": "(text: 'str | None') -> 'str | None'",
    "xml_head": "(head: 'bytes') -> 'XmlHead'",
    "zone": "(name: 'str | None') -> 'tzinfo'",
}


REPORT_SURFACE = {
    "AdditionalArray": "fields: dimension indexes type",
    "AdditionalArrayIndex": "fields: indexes text value",
    "AdditionalData": "fields: name props",
    "AdditionalProp": "fields: name type flags value numFormat comment props array",
    "Asset": "fields: assetSN usageCount usageCountFormat",
    "AssetStats": "fields: assetSN calibrationDaysOverdue daysSinceCalibration "
    "daysSinceMaintenance isDaysSinceCalibrationUnknown "
    "isDaysSinceMaintenanceUnknown maintenanceDaysOverdue message runningCount "
    "runningCountExceeded totalCount totalCountExceeded",
    "Attachment": "fields: name contentType data",
    "BinaryData": "fields: name contentType data id",
    "BooleanMeas": "fields: name status",
    "CallExe": "fields: exitCode exitCodeFormat",
    "Chart": "fields: chartType label xLabel xUnit yLabel yUnit series",
    "ChartSeries": "fields: dataType name xdata ydata",
    "CompOp": "enum: LOG EQ NE GT GE LT LE GTLT GELE GELT GTLE LTGT LEGE LEGT LTGE CASESENSIT "
    "IGNORECASE",
    "Failure": "fields: category code comRef comment funcBlock artNumber artRev artVendor "
    "artDescription refStepId refStepName attachments",
    "Loop": "fields: idx num endingIndex passed failed",
    "MessagePopup": "fields: response button buttonFormat",
    "MiscInfo": "fields: description text numeric numericFormat typedef id",
    "NAN_NOTE": "str",
    "NOTE_DESCRIPTION": "str",
    "NumericMeas": "fields: compOp name status unit value lowLimit highLimit valueFormat "
    "lowLimitFormat highLimitFormat",
    "OUTPUT_ONLY": "dict",
    "ROOT_NAME": "str",
    "ReferencedByUUR": "fields: id start",
    "ReportValidationError.__init__": "(self, problems: 'list[str]') -> 'None'",
    "SeqCall": "fields: path name version",
    "Step": "fields: id group stepType name status start totTime totTimeFormat errorCode "
    "errorCodeFormat errorMessage reportText causedSeqFailure causedUUTFailure tsGuid "
    "interactiveExeNum interactiveExeNumFormat loop seqCall steps numericMeas stringMeas "
    "booleanMeas callExe messagePopup chart attachment additionalResults",
    "Step.add_action_step": "(self, name: 'str', *, status: 'StepStatus' = 'P', **step: 'Any') -> "
    "'Step'",
    "Step.add_call_exe_step": "(self, name: 'str', exit_code: 'float', *, status: 'StepStatus' = "
    "'P', **step: 'Any') -> 'Step'",
    "Step.add_message_popup_step": "(self, name: 'str', response: 'str', button: 'int' = 1, *, "
    "status: 'StepStatus' = 'P', **step: 'Any') -> 'Step'",
    "Step.add_numeric_measurement": "(self, name: 'str | None', value: 'float | None', low: "
    "'float | None' = None, high: 'float | None' = None, *, comp: "
    "'str | CompOp | None' = None, unit: 'str | None' = None, "
    "meas_status: 'MeasStatus | None' = None) -> 'NumericMeas'",
    "Step.add_numeric_step": "(self, name: 'str', value: 'float | None', low: 'float | None' = "
    "None, high: 'float | None' = None, *, comp: 'str | CompOp | None' = "
    "None, unit: 'str | None' = None, meas_status: 'MeasStatus | None' = "
    "None, **step: 'Any') -> 'Step'",
    "Step.add_pass_fail_measurement": "(self, name: 'str | None', passed: 'bool') -> 'BooleanMeas'",
    "Step.add_pass_fail_step": "(self, name: 'str', passed: 'bool', **step: 'Any') -> 'Step'",
    "Step.add_sequence": "(self, name: 'str', *, path: 'str | None' = None, version: 'str | None' "
    "= None, **step: 'Any') -> 'Step'",
    "Step.add_step": "(self, name: 'str', **step: 'Any') -> 'Step'",
    "Step.add_string_measurement": "(self, name: 'str | None', value: 'str', limit: 'str | None' "
    "= None, *, comp: 'str | CompOp | None' = None, meas_status: "
    "'MeasStatus | None' = None) -> 'StringMeas'",
    "Step.add_string_step": "(self, name: 'str', value: 'str', limit: 'str | None' = None, *, "
    "comp: 'str | CompOp | None' = None, meas_status: 'MeasStatus | None' "
    "= None, **step: 'Any') -> 'Step'",
    "Step.attach": "(self, name: 'str', data: 'bytes', content_type: 'str' = "
    "'application/octet-stream') -> 'None'",
    "Step.set_chart": "(self, series: 'Iterable[tuple[str, Iterable[float], Iterable[float] | "
    "None]]', *, label: 'str | None' = None, x_label: 'str | None' = None, "
    "x_unit: 'str | None' = None, y_label: 'str | None' = None, y_unit: 'str | "
    "None' = None, chart_type: 'str' = 'Line') -> 'Chart'",
    "Step.walk": "(self) -> 'Iterable[Step]'",
    "StringMeas": "fields: compOp name status value limit",
    "SubUnit": "fields: partType pn rev sn position idx parentIdx replacedIdx failures",
    "Timestamp.astimezone": "(self, tz: 'Any' = None) -> 'Timestamp'",
    "Timestamp.parse": "(text: 'str') -> 'Timestamp'",
    "Timestamp.ticks": "property",
    "UURInfo": "fields: user comment processCode processCodeFormat processName refUUT confirmDate "
    "finalizeDate execTime parent children",
    "UURReport": "fields: type id pn sn rev processCode processName processCodeFormat result "
    "machineName location purpose start startUTC root uut uur miscInfos subUnits "
    "assets additionalData binaryData productName origin assetStats",
    "UURReport.add_asset": "(self, asset_sn: 'str', usage_count: 'int | None' = None) -> 'Asset'",
    "UURReport.add_conversion_note": "(self, text: 'str') -> 'MiscInfo'",
    "UURReport.add_misc_info": "(self, description: 'str', text: 'str') -> 'MiscInfo'",
    "UURReport.add_sub_unit": "(self, part_type: 'str', pn: 'str', sn: 'str', rev: 'str' = '') -> "
    "'SubUnit'",
    "UURReport.conversion_notes": "(self) -> 'list[str]'",
    "UURReport.from_wsjf": "(data: 'bytes | str | dict[str, Any]') -> 'UUTReport'",
    "UURReport.is_repair": "property",
    "UURReport.start_utc": "(self) -> 'datetime | None'",
    "UURReport.step_tree": "(self) -> 'Step'",
    "UURReport.walk_steps": "(self) -> 'Walked | None'",
    "UURReport.to_dict": "(self) -> 'dict[str, Any]'",
    "UURReport.to_wsjf": "(self) -> 'bytes'",
    "UUTInfo": "fields: user comment execTime execTimeFormat testSocketIndex "
    "testSocketIndexFormat batchSN fixtureId errorCode errorCodeFormat errorMessage "
    "batchFailCount batchFailCountFormat batchLoopIndex batchLoopIndexFormat "
    "stepIdCausedUUTFailure refUURs",
    "UUTReport": "fields: type id pn sn rev processCode processName processCodeFormat result "
    "machineName location purpose start startUTC root uut uur miscInfos subUnits "
    "assets additionalData binaryData productName origin assetStats",
    "UUTReport.add_asset": "(self, asset_sn: 'str', usage_count: 'int | None' = None) -> 'Asset'",
    "UUTReport.add_conversion_note": "(self, text: 'str') -> 'MiscInfo'",
    "UUTReport.add_misc_info": "(self, description: 'str', text: 'str') -> 'MiscInfo'",
    "UUTReport.add_sub_unit": "(self, part_type: 'str', pn: 'str', sn: 'str', rev: 'str' = '') -> "
    "'SubUnit'",
    "UUTReport.conversion_notes": "(self) -> 'list[str]'",
    "UUTReport.from_wsjf": "(data: 'bytes | str | dict[str, Any]') -> 'UUTReport'",
    "UUTReport.is_repair": "property",
    "UUTReport.start_utc": "(self) -> 'datetime | None'",
    "UUTReport.step_tree": "(self) -> 'Step'",
    "UUTReport.walk_steps": "(self) -> 'Walked | None'",
    "UUTReport.to_dict": "(self) -> 'dict[str, Any]'",
    "UUTReport.to_wsjf": "(self) -> 'bytes'",
    "check": "(report: 'UUTReport') -> 'list[str]'",
    "finalize": "(report: 'UUTReport') -> 'UUTReport'",
    "infer_step_type": "(step: 'Step') -> 'str'",
    "is_nan_reading": "(value: 'object') -> 'bool'",
    "nan_note": "(measurement_name: 'str | None') -> 'str'",
    "nan_status": "(comp_op: 'object', status: 'MeasStatus | None' = None) -> 'MeasStatus | None'",
    "new_root": "() -> 'Step'",
    "numeric_passes": "(op: 'CompOp', x: 'float', low: 'float | None', high: 'float | None') -> "
    "'bool'",
    "string_passes": "(op: 'CompOp', value: 'str', limit: 'str | None') -> 'bool'",
}


TESTING_SURFACE = {
    "FakeRunner.CRASH": "attribute",
    "FakeRunner.Convert": "attribute",
    "FakeRunner.HANG": "attribute",
    "FakeRunner.__init__": "(self, converters: 'Sequence[ConverterBase]') -> 'None'",
    "FakeRunner.close": "(self) -> 'None'",
    "FakeRunner.run": "(self, slot_index: 'int', path: 'Path', timeout_s: 'float') -> 'Converted'",
    "FakeRunner.runs": "(self, name: 'str') -> 'list[str]'",
    "FakeRunner.script": "(self, name: 'str', *outcomes: 'Outcome') -> 'None'",
    "ManualClock.__init__": "(self, start: 'float' = 1000.0) -> 'None'",
    "ManualClock.advance": "(self, seconds: 'float') -> 'None'",
    "ManualClock.now": "(self) -> 'float'",
    "ManualClock.sleep": "(self, seconds: 'float') -> 'None'",
    "ManualClock.sleepers": "property",
    "ServerProcess.__init__": "(self, db: 'Path', token: 'str' = 'test-token', port: 'int' = 0, "
    "*, processes: 'int' = 1) -> 'None'",
    "ServerProcess.close": "(self) -> 'None'",
    "ServerThread.__init__": "(self, db: 'Path | str' = ':memory:', token: 'str | None' = None, "
    "port: 'int' = 0, *, open_access: 'bool' = False) -> 'None'",
    "ServerThread.call": "(self, coro: 'Coroutine[Any, Any, T]') -> 'T'",
    "ServerThread.close": "(self) -> 'None'",
    "ServerThread.counters": "(self) -> 'dict[str, Any]'",
    "ServerThread.resume_listening": "(self) -> 'None'",
    "ServerThread.stop_listening": "(self) -> 'None'",
    "TestFileGenerator.csv_text": "(sn: 'str', rows: 'int' = 10, *, seed: 'int' = 0, fail: 'bool' "
    "= False) -> 'str'",
    "TestFileGenerator.generate_batch": "(output_dir: 'Path', extension: 'str', count: 'int', "
    "rows: 'int' = 10, *, prefix: 'str' = 'file', atomic: "
    "'bool' = True) -> 'list[Path]'",
    "TestFileGenerator.render": "(ext: 'str', sn: 'str', rows: 'int' = 10, *, seed: 'int' = 0) -> "
    "'bytes'",
    "assert_valid_wsjf": "(report: 'UUTReport | dict[str, Any] | bytes | str') -> 'None'",
    "convert_file": "(converter: 'ConverterBase | type[ConverterBase]', path: 'Path | str', "
    "settings: 'dict[str, Any] | None' = None, *, station: 'StationDefaults | "
    "None' = None) -> 'list[UUTReport]'",
    "local_server": "(db: 'Path | str' = ':memory:', token: 'str | None' = None, *, open_access: "
    "'bool' = False) -> 'Iterator[ServerThread]'",
    "minimal_report": "(sn: 'str' = 'SN000001', *, pn: 'str' = 'PCBA-1001', passed: 'bool' = "
    "True) -> 'UUTReport'",
    "rich_report": "(sn: 'str' = 'SN000001', *, seed: 'int' = 1, fail: 'bool' = True) -> "
    "'UUTReport'",
    "settle": "(rounds: 'int' = 20) -> 'None'",
    "station_config": "(folder: 'Path', *converters: 'dict[str, Any]', **top: 'Any') -> 'Config'",
    "write_atomically": "(path: 'Path', data: 'bytes') -> 'None'",
}


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (converters, CONVERTER_SURFACE),
        (report, REPORT_SURFACE),
        (testing, TESTING_SURFACE),
    ],
    ids=["converters", "report", "testing"],
)
def test_the_public_surface_is_exactly_as_pinned(
    module: ModuleType, expected: dict[str, str]
) -> None:
    assert surface(module) == expected
