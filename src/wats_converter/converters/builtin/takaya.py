"""TakayaConverter: Takaya flying-probe result files (`.ATD`, tab separated, and APT94xx ATD).

One file is one panel run. Its header (between the first two `@` lines) names the program
(`Model:`), the start (`DATE d/M/yyyy HH:mm:ss`, day first, local time) and the tester
(`Test ID :`). Each `* GROUP No.n *` block is one board of the panel: one report, with its own
`Serial No.:` and the tester's `* PASS *` / `* FAIL *` verdict. A closing `@` ends the file.

Rows come in two layouts, told apart by their form:

- tab separated, after a `Group_No.<TAB>Step_number...` column header (read by column name);
- APT94xx: `000932 "P2P1" "P-Auto" "VNET1-VNET2" 326 330 "400.0 O" "409.5 O" "........" +5% -5%
  "PASS" ... "OP"`, fields in double quotes, 19 per row.

The row's function code gives the comparison: `**` GELE ref·(1-tol-)..ref·(1+tol+), `SH` a
short (LT `short_limit_ohm`), `OP` an open (GT `open_limit_ohm`), `D` LTGE with the tolerance
band, `E` LE ref, `F` GE ref; `JP` / `JUMP` rows are jumpers (not tests) and are skipped. A
second reading (`Test value 2`) is the tester's retest and is the step's value. Readings and
limits are stored in base units (Ω, F, H, V): `KO` is kΩ, `UF` µF, `nF`, `pF`, `UH` µH; `O`
means ohm; a prefix is taken from the display value and its unit, for the reference and the
readings alike. See docs/converters/takaya.md.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

from pydantic import Field

from wats_converter.converters.api import ConverterBase, ConverterSettings, RetryLater
from wats_converter.converters.builtin.takaya_atd import (
    END_MARKER,
    NO_READING,
    Group,
    Row,
    check_start,
    looks_like_atd,
    parse_atd,
    reading_with_unit,
    split_serial,
    step_name,
    tolerance_fraction,
    unit_only,
)
from wats_converter.converters.components import component_class
from wats_converter.converters.ids import unit_id
from wats_converter.converters.localtime import parse_local_time
from wats_converter.converters.tester import RegexSetting, keep_verdict
from wats_converter.converters.units import round_noise
from wats_converter.errors import ConversionError
from wats_converter.report import CompOp, Step, UUTReport, numeric_passes
from wats_converter.report.parts import MeasStatus

DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M:%S")
AUTO_SEQUENCE = "Shorts and opens (P-Auto)"
JUMPERS = frozenset({"JP", "JUMP"})
SNIFF_BYTES = 2048

_PROGRAM_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_JUDGEMENTS: dict[str, MeasStatus] = {"PASS": "P", "FAIL": "F", "NG": "F"}


class TakayaConverter(ConverterBase):
    """Takaya flying probe `.ATD` files (both layouts): one report per panel group."""

    name = "TakayaConverter"
    cpu_heavy = True
    supported_extensions = (".atd",)
    detects_unfinished_files = True  # its end markers tell a finished unit

    class Settings(ConverterSettings):
        """Settings of `TakayaConverter` (see docs/converters/takaya.md).

        Attributes:
            timezone: IANA zone of the tester's clock; empty = the station's zone.
            part_number: the part number when the file has no `Model:` line.
            model_pattern: a regex applied to the program name (the `Model:` value without its
                extension); named groups `pn` and `rev` give part number and revision.
            revision: the revision when `model_pattern` gives none.
            sequence_version: the root sequence's version.
            operator: the operator when the file names none.
            short_limit_ohm: an `SH` (short) row passes below this resistance.
            open_limit_ohm: an `OP` (open) row passes above this resistance.
            incomplete_grace_s: a file without its closing `@` younger than this is being
                written (retried later); older, it is truncated (an error).
        """

        timezone: str = ""
        part_number: str = ""
        model_pattern: RegexSetting = ""
        revision: str = ""
        sequence_version: str = ""
        operator: str = ""
        short_limit_ohm: float = Field(default=10.0, gt=0)
        open_limit_ohm: float = Field(default=100.0, gt=0)
        incomplete_grace_s: float = Field(default=300.0, ge=0)

    def matches_file(self, file_path: Path) -> bool:
        """`.ATD` files, and files of another extension whose first lines are a Takaya header."""
        if super().matches_file(file_path):
            return True
        try:
            with file_path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError:
            return False
        return looks_like_atd(head.decode("latin-1"))

    def convert(self, content: str, file_path: Path) -> list[UUTReport]:
        # completeness first: a file being written may end in half a row
        lines = [line.strip() for line in content.splitlines()]
        check_start(lines)
        if next((line for line in reversed(lines) if line), "") != END_MARKER:
            self._incomplete(file_path, len(lines))
        panel = parse_atd(content)
        return [self._report(group, index) for index, group in enumerate(panel.groups)]

    def _incomplete(self, file_path: Path, lines: int) -> None:
        try:
            age = time.time() - os.stat(file_path).st_mtime
        except OSError:
            age = math.inf
        if age < self.settings.incomplete_grace_s:
            raise RetryLater("the closing '@' line is not written yet", after_s=10.0)
        raise ConversionError(
            "the file ends without its closing '@' line: it is truncated", line=lines
        )

    def _report(self, group: Group, index: int) -> UUTReport:
        header = group.header
        pn, rev = self._part(header.model)
        start = parse_local_time(
            header.date, DATE_FORMATS, self.settings.timezone, line=header.date_line, field="DATE"
        )
        sn, tag = split_serial(group.serial)
        operator = tag.operator or header.operator or self.settings.operator or None
        report = UUTReport(pn=pn, sn=sn, rev=rev, start=start.time)
        start.note_on(report)
        report.id = unit_id(self.display_name, sn, start.time.isoformat(), index)
        report.machineName = header.station or None
        report.uut.user = operator
        report.uut.testSocketIndex = group.number
        assert report.root.seqCall is not None
        report.root.seqCall.name = header.model or pn
        report.root.seqCall.version = self.settings.sequence_version or None
        if tag.fixture:
            report.uut.fixtureId = tag.fixture
        if header.test_time:
            report.add_misc_info("Panel test time", header.test_time[:100])
        self._steps(report, group)
        keep_verdict(report, "P" if group.verdict == "PASS" else "F")
        return report

    def _part(self, model: str) -> tuple[str, str]:
        program = _PROGRAM_EXTENSION.sub("", model)
        pn, rev = program or self.settings.part_number, self.settings.revision
        if self.settings.model_pattern and program:
            match = re.search(self.settings.model_pattern, program)
            if match is None:
                raise ConversionError(
                    f"Model {model!r} does not match the model_pattern setting", field="Model"
                )
            found = match.groupdict()
            pn = found.get("pn") or pn
            rev = found.get("rev") or rev
        if not pn:
            raise ConversionError(
                "the file has no Model: line; set the converter's part_number", field="Model"
            )
        return pn[:100], rev[:100]

    def _steps(self, report: UUTReport, group: Group) -> bool:
        """Add the group's rows as steps, one sequence per component class; True if any failed."""
        sequences: dict[str, Step] = {}
        seen: dict[str, int] = {}
        failed = False
        for row in group.rows:
            if row.function in JUMPERS:
                continue
            name = step_name(row)
            # a part tested more than once on the same nets (L1 short and open twice): the
            # repeats are numbered, so each name means the same test on every board
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name[:94]} [{seen[name]}]"
            sequence_name = (
                AUTO_SEQUENCE if row.value == "P-Auto" else component_class(row.part).name
            )
            sequence = sequences.get(sequence_name)
            if sequence is None:
                sequence = sequences[sequence_name] = report.root.add_sequence(sequence_name)
            failed |= self._step(sequence, row, name)
        return failed

    def _step(self, sequence: Step, row: Row, name: str) -> bool:
        reading = row.test2 if row.test2 != NO_READING else row.test1
        reading_unit = row.test2_unit if row.test2 != NO_READING else row.test1_unit
        value, unit = (
            (math.nan, unit_only(reading_unit or row.ref_unit, row.line))
            if reading == NO_READING
            else reading_with_unit(reading, reading_unit, row.line, "Test value")
        )
        op, low, high = self._limits(row, unit)
        status = _JUDGEMENTS.get(row.judgement)
        notes = []
        if row.test2 != NO_READING and row.test1 != NO_READING:
            first, _ = reading_with_unit(row.test1, row.test1_unit, row.line, "Test value 1")
            verdict = "inside" if numeric_passes(op, first, low, high) else "outside"
            notes.append(
                f"retested: first reading {row.test1} {row.test1_unit} ({verdict} the limits)"
            )
        passes = math.isnan(value) is False and numeric_passes(op, value, low, high)
        if status == "P" and not passes:
            notes.append(f"the tester judged PASS; the reading is outside the {op} limits")
        elif status == "F" and passes:
            notes.append(f"the tester judged FAIL; the reading is inside the {op} limits")
        fields = {"reportText": "\n".join(notes)} if notes else {}
        sequence.add_numeric_step(
            name, value, low, high, comp=op, unit=unit, meas_status=status, **fields
        )
        return status == "F" if status else not passes

    def _limits(self, row: Row, unit: str) -> tuple[CompOp, float | None, float | None]:
        code = row.function
        if code == "SH":
            return CompOp.LT, self.settings.short_limit_ohm, None
        if code == "OP":
            return CompOp.GT, self.settings.open_limit_ohm, None
        if code not in ("**", "D", "E", "F"):
            raise ConversionError(
                f"unknown function code {code!r} (known: ** SH OP D E F, JP/JUMP skipped)",
                line=row.line,
                field="Function",
            )
        if row.ref == NO_READING:
            raise ConversionError(
                f"function {code} needs a reference value", line=row.line, field="Ref. value"
            )
        ref, _ = reading_with_unit(row.ref, row.ref_unit, row.line, "Ref. value")
        if code == "E":
            return CompOp.LE, ref, None
        if code == "F":
            return CompOp.GE, ref, None
        plus = tolerance_fraction(row.tol_plus, row.line, "Tolerance (+)")
        minus = tolerance_fraction(row.tol_minus, row.line, "Tolerance (-)")
        # a negative reference (a negative voltage) keeps low below high
        bounds = sorted((round_noise(ref * (1 - minus)), round_noise(ref * (1 + plus))))
        return (CompOp.GELE if code == "**" else CompOp.LTGE), bounds[0], bounds[1]
