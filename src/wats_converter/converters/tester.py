"""What converters for production testers share: header settings, growing logs, the verdict.

Tester files lack fields WATS needs (part number, revision, sequence version, operator); those
come from `HeaderSettings`, with the file's own value winning where it has one. Testers that
append unit after unit to one log (ICT session logs, multi-run CSV) use `GrowingLogSettings` and
`log_not_finished`: a log is converted when its end marker is written, or, when the user asks
for it, unit by unit before that (each unit keeps its id as the log grows, see `unit_id`).
`keep_verdict` keeps the tester's own verdict for a unit and says so when the steps disagree.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from wats_converter.converters.api import ConverterSettings, RetryLater
from wats_converter.report import Step, UUTReport
from wats_converter.report.finalize import SEVERITY, measurement_statuses, worst_status
from wats_converter.report.parts import ReportResult

_WORDS = {"P": "Passed", "F": "Failed", "E": "Error", "T": "Terminated"}


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


RegexSetting = Annotated[str, AfterValidator(_compiles)]
"""A setting that is a regular expression: one that does not compile is refused when the
configuration is read, not when the first file is converted."""


class HeaderSettings(ConverterSettings):
    """Header fields for testers whose files do not (always) carry them.

    Attributes:
        timezone: IANA zone of the tester's local times; empty = the station's zone.
        part_number: the part number when the file has none.
        revision: the part revision when the file has none.
        sequence_version: the test program's version when the file has none.
        operator: the operator when the file has none (else config `station.operator`).
    """

    timezone: str = ""
    part_number: str = Field(default="", max_length=100)
    revision: str = Field(default="", max_length=100)
    sequence_version: str = Field(default="", max_length=30)
    operator: str = Field(default="", max_length=100)


class GrowingLogSettings(HeaderSettings):
    """Settings of a tester that appends unit after unit to one file.

    Attributes:
        convert_before_end: convert the finished units of a log whose end marker is not written
            yet (use with `post_process_action: KEEP`; the log is converted again as it grows,
            every unit under the same id, so the server overwrites instead of duplicating).
            Off (the default): the log waits until its end marker is written.
        retry_after_s: how long to wait before looking at an unfinished log again.
        incomplete_timeout_s: a session may stay open over a weekend, so a log without its end
            marker goes to the error folder only after a week without a change (the default
            of other converters is an hour).
    """

    convert_before_end: bool = False
    retry_after_s: float = Field(default=30.0, gt=0)
    incomplete_timeout_s: float = Field(default=7 * 24 * 3600.0, gt=0)


def log_not_finished(what: str, settings: GrowingLogSettings) -> RetryLater:
    """The `RetryLater` to raise for a log whose end marker (`what`) is not written yet."""
    reason = f"{what} is not written yet (the tester is still writing)"
    return RetryLater(reason, settings.retry_after_s)


def keep_verdict(report: UUTReport, verdict: ReportResult) -> None:
    """Make the tester's `verdict` the report's result; add a note when the steps disagree.

    The steps disagree when the status they compute (worst of Terminated, Error, Failed, else
    Passed) is not the verdict: a passed unit with a failed step, a failed unit whose steps all
    passed or whose worst step erred. A terminated or erred unit never gets a note: it stopped,
    so its steps may well have passed.
    """
    report.result = verdict
    if verdict in ("T", "E"):
        return
    # the root's own status is the tester's verdict again (TestStand sets it): ask its children
    children = [steps_status(child) for child in report.root.steps or ()]
    computed = _passed_or_worse(worst_status(children, all_skipped=[]))
    if computed == verdict:
        return
    if computed == "P":
        report.add_conversion_note(f"tester verdict {_WORDS[verdict]}, but no step failed")
    else:
        report.add_conversion_note(
            f"tester verdict {_WORDS[verdict]}, but a step is {_WORDS.get(computed, computed)}"
        )


def steps_status(step: Step) -> str:
    """The status `step` ends with when the report is finalized (worst of T, E, F; else P),
    computed without changing the report: a status set on a step wins over its children."""
    if step.status is not None:
        return _passed_or_worse(step.status)
    children = [steps_status(child) for child in step.steps or ()]
    measurements = measurement_statuses(step)
    return _passed_or_worse(worst_status(children + measurements, all_skipped=measurements))


def _passed_or_worse(status: str) -> str:
    return status if status in SEVERITY else "P"  # Done and Skipped do not disagree with P
