"""The public surface converter authors build on: changing it must be a deliberate act."""

from __future__ import annotations

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
