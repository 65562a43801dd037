"""`FakeRunner`: a runner (`pipeline.runners.Runner`) whose outcome is scripted per file, so a
test drives the worker pool into every branch of its decisions in-process, without a converter
that misbehaves on purpose:

    runner = FakeRunner([slot.converter for slot in build_slots(config)])
    runner.script("a.csv", SkipFile("not a result"))  # the next run of a.csv raises it
    runner.script("b.csv", runner.CRASH, runner.CRASH)  # its worker dies twice, then it converts
    runner.script("c.csv", runner.Convert(during=rewrite))  # it changes while it is converted
    runner.script("d.csv", runner.HANG)  # runs until the task is cancelled
    runner.calls  # what ran, in order (`RunnerCall`s); runner.runs("b.csv") == ["crash", ...]

A file with nothing (left) in its script is converted for real, in-process, by its slot's
converter, exactly as the thread runner converts it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import ClassVar

from wats_converter.converters.api import ConverterBase
from wats_converter.errors import WorkerCrashed
from wats_converter.pipeline.runners import Converted, convert_to_bodies


@dataclass(frozen=True)
class Convert:
    """Convert the file for real; `during(path)` runs after the converter has read the file and
    before the result is returned (a station rewriting the file mid-conversion)."""

    during: Callable[[Path], object] | None = None


class Fault(Enum):
    """What a worker does instead of converting: dies (`CRASH`, reported as the process runner
    reports a dead worker process) or never returns (`HANG`, until its task is cancelled)."""

    CRASH = "crash"
    HANG = "hang"


Outcome = Convert | Fault | Exception
"""One scripted run: convert, a fault, or an exception the converter raises (`SkipFile`,
`RetryLater`, `ConversionError`, `OSError`, ...)."""


@dataclass(frozen=True)
class RunnerCall:
    """One run the pool asked for, and what the script made of it (`converted`, `crash`,
    `hang`, or the exception's class name)."""

    path: Path
    slot_index: int
    timeout_s: float
    outcome: str


class FakeRunner:
    """A scripted `Runner` that records its calls; see the module docstring."""

    Convert: ClassVar[type[Convert]] = Convert
    CRASH: ClassVar[Fault] = Fault.CRASH
    HANG: ClassVar[Fault] = Fault.HANG

    def __init__(self, converters: Sequence[ConverterBase]) -> None:
        self.converters = list(converters)
        self.calls: list[RunnerCall] = []
        self.running = 0
        self.most_running = 0  # the most conversions that ran at the same time
        self.closed = False
        self._scripts: defaultdict[str, deque[Outcome]] = defaultdict(deque)

    def script(self, name: str, *outcomes: Outcome) -> None:
        """Queue `outcomes` for the next runs of the file called `name` (any folder)."""
        self._scripts[name].extend(outcomes)

    def runs(self, name: str) -> list[str]:
        """The outcomes of every run of the file called `name`, in order."""
        return [call.outcome for call in self.calls if call.path.name == name]

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted:
        script = self._scripts[path.name]
        outcome = script.popleft() if script else Convert()
        self.calls.append(RunnerCall(path, slot_index, timeout_s, _describe(outcome)))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            return await self._perform(outcome, slot_index, path)
        finally:
            self.running -= 1

    async def _perform(self, outcome: Outcome, slot_index: int, path: Path) -> Converted:
        await asyncio.sleep(0)  # a real runner always yields to the loop while it converts
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is Fault.CRASH:
            raise WorkerCrashed(f"the worker process died while converting {path.name}")
        if outcome is Fault.HANG:
            await asyncio.Event().wait()  # nobody sets it: only cancelling ends this run
        assert isinstance(outcome, Convert)
        converted = convert_to_bodies(self.converters[slot_index], path)
        if outcome.during is not None:
            outcome.during(path)
        return converted

    def close(self) -> None:
        self.closed = True


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, Fault):
        return outcome.value
    if isinstance(outcome, Exception):
        return type(outcome).__name__
    return "converted"
