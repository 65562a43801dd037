"""Test helpers for converter authors, the test suite and the benchmarks.

`TestFileGenerator.generate_batch(output_dir, extension, count, rows)` writes result files;
`rich_report()` builds a realistic report with every step kind and comparison operator;
`local_server()` runs the WATS-compatible server on a free loopback port for a test:

    from wats_converter.testing import local_server
    with local_server() as server:      # server.url, server.token, server.store, server.faults
        ...

For converter authors: `convert_file(MyConverter, path, settings)` converts one file exactly as
the service does and returns the finished reports; `station_config(folder, {...})` builds the
validated `Config` a test service runs with.

For tests of the service's decisions: `ManualClock` is a `wats_converter.clock.Clock` that moves
only when the test calls `advance(seconds)`, so backoff, settle times and deadlines are tested
without sleeping; `FakeRunner` is a runner scripted per file (skip, retry later, fail, crash,
hang, or convert for real), so the worker pool's every branch is reached in-process.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wats_converter.config import Config, build_config
from wats_converter.converters.api import ConversionContext, ConverterBase, StationDefaults
from wats_converter.converters.builtin.wstf_render import render_wstf
from wats_converter.converters.builtin.wsxf_render import render_wsxf
from wats_converter.converters.loading import create_converter
from wats_converter.pipeline.conversion import convert_path
from wats_converter.report import CompOp, Loop, UUTReport, finalize
from wats_converter.report.compare import DUAL_LIMIT_OPS, SINGLE_LIMIT_OPS
from wats_converter.report.schema import schema_problems
from wats_converter.server.fixture import ServerProcess, ServerThread, local_server
from wats_converter.testing.clock import ManualClock, settle
from wats_converter.testing.fake_runner import FakeRunner

__all__ = [
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
]


def assert_valid_wsjf(report: UUTReport | dict[str, Any] | bytes | str) -> None:
    """Fail (AssertionError listing every problem) unless `report` validates against the WATS
    server's WSJF schema, with unknown properties refused. Needs the `testing` extra
    (jsonschema)."""
    if isinstance(report, UUTReport):
        document = report.to_dict()
    elif isinstance(report, bytes | str):
        document = json.loads(report)
    else:
        document = report
    problems = schema_problems(document)
    if problems:
        raise AssertionError("not valid WSJF:\n" + "\n".join(problems[:50]))


CET = timezone(timedelta(hours=1))
# A value that passes and one that fails, for each numeric operator with limits (low, high).
NUMERIC_CASES = {
    CompOp.EQ: ((5.0, None), 5.0, 4.0),
    CompOp.NE: ((5.0, None), 4.0, 5.0),
    CompOp.GT: ((1.0, None), 2.0, 0.5),
    CompOp.GE: ((1.0, None), 1.0, 0.5),
    CompOp.LT: ((70.0, None), 41.5, 80.0),
    CompOp.LE: ((70.0, None), 70.0, 71.0),
    CompOp.GTLT: ((1.0, 2.0), 1.5, 2.0),
    CompOp.GELE: ((1.0, 2.0), 1.0, 2.5),
    CompOp.GELT: ((1.0, 2.0), 1.0, 2.0),
    CompOp.GTLE: ((1.0, 2.0), 2.0, 1.0),
    CompOp.LTGT: ((1.0, 2.0), 0.5, 1.5),
    CompOp.LEGE: ((1.0, 2.0), 1.0, 1.5),
    CompOp.LEGT: ((1.0, 2.0), 2.5, 2.0),
    CompOp.LTGE: ((1.0, 2.0), 2.0, 1.0),
}


def convert_file(
    converter: ConverterBase | type[ConverterBase],
    path: Path | str,
    settings: dict[str, Any] | None = None,
    *,
    station: StationDefaults | None = None,
) -> list[UUTReport]:
    """Convert one file exactly as the service does and return its finished reports.

    `converter` is a converter class (instantiated with `settings`, validated like a config
    entry's `settings:`; a bad one raises `ConfigError` naming the key) or an instance. The
    reports come out of the service's own code path (`pipeline.conversion.convert_path`): the
    converter's `is_complete`, the file read with its encoding settings, station defaults
    (`station`), per-unit ids, statuses computed and the WATS rules checked. Raises what the
    service acts on: `ConversionError` (error folder), `SkipFile`, `RetryLater`,
    `ReportValidationError`; and `AssertionError` for a report that breaks the WATS server's
    WSJF schema (`assert_valid_wsjf`).
    """
    if isinstance(converter, type):
        context = ConversionContext(station=station or StationDefaults())
        converter = create_converter(converter, settings or {}, context, converter.__name__)
    elif settings is not None or station is not None:
        raise TypeError("pass settings and station with a converter class, not an instance")
    reports = convert_path(converter, Path(path)).reports
    for report in reports:
        assert_valid_wsjf(report)
    return reports


def station_config(folder: Path, *converters: dict[str, Any], **top: Any) -> Config:
    """A validated `Config` for a test, as if read from a YAML file in `folder`.

    Each converter is a `converters:` entry; left out, `name` is the class name, `watch_folder`
    is `watch`, `done_folder` `done` and `error_folder` `error` (all relative to `folder`).
    `top` holds any other top-level keys (`server={"url": ..., "token": ...}`,
    `converter_paths=[...]`, ...). Pass the config to `wats_converter.service.Service`.
    """
    entries = [
        {
            "name": c.get("class_name", "converter"),
            "watch_folder": "watch",
            "done_folder": "done",
            "error_folder": "error",
            **c,
        }
        for c in converters
    ]
    data = {"pending_folder": "pending", "converters": entries, **top}
    return build_config(data, folder.resolve(), source="station_config")


def minimal_report(
    sn: str = "SN000001", *, pn: str = "PCBA-1001", passed: bool = True
) -> UUTReport:
    """A small finished report (header and three steps, about 1 KB of WSJF)."""
    report = UUTReport(
        pn=pn,
        sn=sn,
        rev="A",
        id=uuid.uuid4(),
        processCode=10,
        machineName="ST-01",
        location="Line 1",
        purpose="Production",
        start=datetime(2025, 3, 4, 9, 15, 30, 250000, tzinfo=CET),
    )
    report.uut.user = "operator1"
    report.root.add_numeric_step("VCC", 5.02 if passed else 5.5, 4.9, 5.1, unit="V")
    report.root.add_pass_fail_step("LED", True)
    report.root.add_string_step("FW version", "1.4.2", "1.4.2")
    return finalize(report)


def rich_report(sn: str = "SN000001", *, seed: int = 1, fail: bool = True) -> UUTReport:
    """A TestStand-like report of about 190 steps (about 56 KB) using every step kind.

    Every numeric operator appears passing (and, with `fail`, failing), every string operator,
    multi-measurement steps, loops, charts, an attachment, call-executable and message-popup
    steps, error codes, report texts and every header collection.
    """
    rng = random.Random(seed)
    start = datetime(2025, 3, 4, 9, 15, 30, 250000, tzinfo=CET)
    report = UUTReport(
        pn="PCBA-1001",
        sn=sn,
        rev="B",
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        processCode=10,
        machineName="FCT-02",
        location="Line 2",
        purpose="Production",
        start=start,
    )
    report.uut.user, report.uut.fixtureId, report.uut.batchSN = "operator1", "FX-9", "LOT-42"
    report.uut.comment, report.uut.execTime, report.uut.testSocketIndex = "nightly run", 42.5, -1
    report.add_misc_info("Firmware", "1.4.2")
    report.add_misc_info("Bootloader", "0.9")
    report.add_sub_unit("PSU", "PSU-200", "PSU-000778", "A")
    report.add_asset("DMM-0042", 17)
    _limits_sequence(report, fail)
    _mixed_sequence(report, rng, fail)
    _bulk_sequences(report, rng, count=150)
    cleanup = report.root.add_action_step("Power off", group="C", reportText="Supply disabled")
    cleanup.attach("log.txt", b"power off at 42.5 s\n", "text/plain")
    return finalize(report)


def _limits_sequence(report: UUTReport, fail: bool) -> None:
    seq = report.root.add_sequence("Limits", path="fct.seq", version="1.0.0")
    for op, ((low, high), good, bad) in NUMERIC_CASES.items():
        seq.add_numeric_step(f"{op} pass", good, low, high, comp=op, unit="V", totTime=0.01)
        if fail:
            seq.add_numeric_step(f"{op} fail", bad, low, high, comp=op, unit="V")
    seq.add_numeric_step("LOG only", 3.3, comp="LOG", unit="V")
    for sop, value, limit in (
        ("EQ", "abc", "abc"),
        ("NE", "abc", "abd"),
        ("CASESENSIT", "v1.4.2", "v1.4.2"),
        ("IGNORECASE", "v1.4.2", "V1.4.2"),
        ("LOG", "free text", None),
    ):
        seq.add_string_step(f"string {sop}", value, limit, comp=sop)
    assert set(NUMERIC_CASES) == SINGLE_LIMIT_OPS | DUAL_LIMIT_OPS


def _mixed_sequence(report: UUTReport, rng: random.Random, fail: bool) -> None:
    seq = report.root.add_sequence("Mixed", path="fct.seq", version="1.0.0")
    rails = seq.add_step("Rails")
    for name, value in (("3V3", 3.31), ("5V0", 5.02), ("12V", 12.1)):
        rails.add_numeric_measurement(name, value, value * 0.95, value * 1.05, unit="V")
    seq.add_pass_fail_step("Boundary scan", True)
    leds = seq.add_step("LEDs")
    for name in ("red", "green", "blue"):
        leds.add_pass_fail_measurement(name, True)
    labels = seq.add_step("Labels")
    for name in ("front", "back"):
        labels.add_string_measurement(name, "PCBA-1001", "PCBA-1001")
    seq.add_call_exe_step("Flash", 0, reportText="flash tool exit code")
    seq.add_message_popup_step("Operator check", "Yes", 1)
    sweep = seq.add_numeric_step("Frequency response", -3.1, comp="LOG", unit="dB")
    sweep.set_chart(
        [("Gain", [-0.1, 0.0, -3.1], [100, 1000, 10000])],
        label="Response",
        x_label="Frequency",
        x_unit="Hz",
        y_label="Gain",
        y_unit="dB",
    )
    seq.add_action_step(
        "Retry power",
        status="F" if fail else "P",
        errorCode=-17 if fail else 0,
        errorMessage="PSU timeout" if fail else None,
    )
    summary = seq.add_numeric_step("Loop", None, comp="LOG", status="P")
    summary.loop = Loop(num=3, passed=3, failed=0, endingIndex=2)
    for i in range(3):
        it = seq.add_numeric_step("Loop", round(rng.uniform(1, 2), 3), 0.0, 5.0)
        it.loop = Loop(idx=i)
    seq.add_action_step("Wait", status="S")


def _bulk_sequences(report: UUTReport, rng: random.Random, count: int) -> None:
    per_seq = 25
    for s in range(count // per_seq):
        seq = report.root.add_sequence(f"Block {s}", path="fct.seq", version="1.0.0")
        for i in range(per_seq):
            low = round(rng.uniform(0, 5), 3)
            seq.add_numeric_step(
                f"R{s * per_seq + i}",
                round(low + rng.uniform(0.1, 0.9), 4),
                low,
                low + 1,
                unit="Ohm",
                totTime=round(rng.uniform(0, 0.1), 4),
                reportText=f"measured on net N{i} with the 4-wire method, "
                f"guarded, {rng.randint(1, 64)} samples averaged",
            )


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file the way a well-behaved station does: to a hidden temp name, then rename."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class TestFileGenerator:
    """Writes result files in the formats wats-converter reads."""

    __test__ = False  # not a pytest test class

    @staticmethod
    def csv_text(sn: str, rows: int = 10, *, seed: int = 0, fail: bool = False) -> str:
        rng = random.Random(seed)
        lines = [
            "pn,PCBA-1001",
            f"sn,{sn}",
            "rev,A",
            "operator,op1",
            "start,2025-03-04T09:15:30+01:00",
            "",
            "name,value,unit,low,high,comp,status",
        ]
        for i in range(rows):
            value = 5.0 + rng.uniform(-0.05, 0.05)
            if fail and i == rows - 1:
                value = 9.9
            lines.append(f"M{i},{value:.4f},V,4.9,5.1,GELE,")
        return "\n".join(lines) + "\n"

    @classmethod
    def generate_batch(
        cls,
        output_dir: Path,
        extension: str,
        count: int,
        rows: int = 10,
        *,
        prefix: str = "file",
        atomic: bool = True,
    ) -> list[Path]:
        """Write `count` files of `extension` (csv, json = WSJF, xml = WSXF, txt = WSTF) with
        distinct serial numbers.

        `rows` is the measurement count for CSV and selects the report size for the WATS formats
        (rows <= 10: the minimal ~1 KB report, otherwise the ~56 KB rich report).
        """
        output_dir.mkdir(parents=True, exist_ok=True)
        ext = extension.lower().lstrip(".")
        paths = []
        for i in range(count):
            sn = f"{prefix.upper()}-{i:06d}"
            data = cls.render(ext, sn, rows, seed=i)
            path = output_dir / f"{prefix}_{i:06d}.{ext}"
            if atomic:
                write_atomically(path, data)
            else:
                path.write_bytes(data)
            paths.append(path)
        return paths

    @classmethod
    def render(cls, ext: str, sn: str, rows: int = 10, *, seed: int = 0) -> bytes:
        if ext == "csv":
            return cls.csv_text(sn, rows, seed=seed).encode()
        if ext == "wstf":
            ext = "txt"
        if ext not in ("json", "xml", "txt"):
            raise ValueError(f"no generator for .{ext} files (known: csv, json, xml, txt)")
        report = minimal_report(sn) if rows <= 10 else rich_report(sn, seed=seed)
        report.id = None  # let the service derive the id, as for any station file
        if ext == "json":
            return report.to_wsjf()
        if ext == "xml":
            return render_wsxf([report])
        return render_wstf([report]).encode("cp1252")
