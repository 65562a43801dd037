"""Where converters run: the one boundary between async service code and sync converter code.

`ThreadRunner` runs each conversion in a daemon thread of the service: no start-up cost and no
copying, right for converters that take a millisecond or wait on the disk. `ProcessRunner`
runs conversions in a pool of worker processes (`pipeline.worker_process`): CPU-heavy
converters use every core instead of sharing the service's GIL, a converter that crashes its
process costs only its own file (`WorkerCrashed`; the pool starts a replacement), and one that
hangs is killed at the timeout instead of being left behind.

`worker_mode` chooses per converter (`runner_kind`): `thread`, `process`, or `auto` (the
default): a worker process for converters that declare `cpu_heavy` (the vendor and XML formats)
when the machine has more than one core, a thread for the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol

from wats_converter.config import Config
from wats_converter.converters.api import ConverterBase
from wats_converter.converters.registry import ConverterSlot
from wats_converter.errors import ConversionTimedOut
from wats_converter.pipeline.conversion import Converted, convert_to_bodies
from wats_converter.pipeline.worker_process import (
    RemoteTraceback,
    Reply,
    Requeue,
    WorkerProcess,
)

__all__ = [
    "Converted",
    "ProcessRunner",
    "Runner",
    "SlotRunners",
    "ThreadRunner",
    "choose_runner",
    "convert_to_bodies",
    "runner_kind",
]
log = logging.getLogger(__name__)
RunnerKind = Literal["thread", "process"]


class Runner(Protocol):
    """Runs slot `slot_index`'s converter on `path` within `timeout_s` (else
    `ConversionTimedOut`); raises what the converter raised, or `WorkerCrashed`."""

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted: ...

    def close(self) -> None: ...


STRAGGLER_S = 0.02
"""A conversion that has waited this long behind busy threads gets one more thread."""


class DaemonThreads:
    """Daemon threads that take conversions one after another on as few threads as keep up.

    Conversions that hold the GIL run no faster side by side than in turn, and switching
    between them costs CPU; so a submitted job waits behind the busy threads, and only one
    that has waited `STRAGGLER_S` (behind a slow or hung conversion, or a converter that
    waits on a slow disk) wakes one more thread (`unstick`). A thread that hangs in a
    converter is simply left behind: it blocks neither the others nor the process exit.

    A job returns what to do once its thread counts as done with it (hand its result back):
    the thread then takes the next waiting job without sleeping in between."""

    def __init__(self) -> None:
        self._jobs: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Semaphore(0)
        self._awake = 0  # threads taking jobs (running one, or about to take the next)
        self._asleep = 0  # threads waiting on `_wake`
        self.started = 0

    def submit(self, job: Callable[[], Callable[[], None]]) -> _Job:
        """Queue `job`; returns its ticket, for `unstick` once it has waited too long."""
        ticket = _Job(job)
        with self._lock:
            self._jobs.append(ticket)
            if self._awake == 0:
                self._wake_one()
        return ticket

    def unstick(self, ticket: _Job) -> None:
        """One more thread if `ticket` still waits (the busy ones are slow or stuck)."""
        with self._lock:
            if not ticket.taken:
                self._wake_one()

    def _wake_one(self) -> None:
        self._awake += 1
        if self._asleep:
            self._asleep -= 1
            self._wake.release()
            return
        self.started += 1
        threading.Thread(target=self._work, name=f"converter-{self.started}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._jobs:
                    ticket = self._jobs.popleft()
                    ticket.taken = True
                else:
                    ticket = None
                    self._awake -= 1
                    self._asleep += 1
            if ticket is None:
                self._wake.acquire()
                continue
            ticket.job()()


class _Job:
    __slots__ = ("job", "taken")

    def __init__(self, job: Callable[[], Callable[[], None]]) -> None:
        self.job = job
        self.taken = False


_Finished = tuple["asyncio.Future[Converted]", Converted | None, BaseException | None]
"""A conversion's future, and its result or its failure."""


class ThreadRunner:
    """Conversions in daemon threads of the service; a hung one is abandoned at the timeout.

    Results come back in batches: a thread wakes the event loop only for the first result the
    loop has not yet taken, and the loop settles all that arrived by then at once."""

    def __init__(self, converters: Sequence[ConverterBase]) -> None:
        self.converters = list(converters)
        self.threads = DaemonThreads()
        self._lock = threading.Lock()
        self._finished: dict[asyncio.AbstractEventLoop, list[_Finished]] = {}

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Converted] = loop.create_future()
        converter = self.converters[slot_index]
        ticket = self.threads.submit(lambda: self._convert(loop, future, converter, path))
        straggler = loop.call_later(STRAGGLER_S, self.threads.unstick, ticket)
        # a timer, not a timeout context around the await: the late result is dropped
        timer = loop.call_later(timeout_s, _time_out, future, timeout_s)
        try:
            return await future
        finally:
            straggler.cancel()
            timer.cancel()

    def _convert(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Converted],
        converter: ConverterBase,
        path: Path,
    ) -> Callable[[], None]:
        """In a conversion thread; returns the hand-back of the result."""
        try:
            finished: _Finished = (future, convert_to_bodies(converter, path), None)
        except BaseException as exc:
            finished = (future, None, exc)
        return lambda: self._hand_back(loop, finished)

    def _hand_back(self, loop: asyncio.AbstractEventLoop, finished: _Finished) -> None:
        with self._lock:
            batch = self._finished.setdefault(loop, [])
            batch.append(finished)
            first = len(batch) == 1
        if first:
            try:
                loop.call_soon_threadsafe(self._settle_finished, loop)
            except RuntimeError:  # the loop is closed: nobody waits for these any more
                with self._lock:
                    self._finished.pop(loop, None)

    def _settle_finished(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            batch = self._finished.pop(loop, [])
        for future, result, exc in batch:
            _settle(future, result, exc)

    def close(self) -> None:
        pass


def _time_out(future: asyncio.Future[Converted], timeout_s: float) -> None:
    if not future.done():
        future.set_exception(
            ConversionTimedOut(f"the converter did not finish within {timeout_s:g} s")
        )


def _settle(
    future: asyncio.Future[Converted], result: Converted | None, exc: BaseException | None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert result is not None
        future.set_result(result)


class ProcessRunner:
    """Conversions in up to `processes` worker processes, started when first needed.

    Each worker takes up to `WorkerProcess.DEPTH` requests (an idle worker first, then a new
    one, then the least loaded), so none waits for the service between two files. A worker that
    dies, times out or whose conversion is cancelled (the service stops) is killed and
    forgotten; the files queued behind it go to another worker, and the next conversion starts
    a replacement.
    """

    def __init__(self, config: Config, processes: int) -> None:
        self.config = config
        self.processes = processes
        self.started = 0  # worker processes started so far (a crash costs one more)
        self._capacity: asyncio.Semaphore | None = None
        self._changed: asyncio.Event | None = None
        self._live: list[WorkerProcess] = []
        self._killed: list[WorkerProcess] = []  # until their readers have reaped them
        self._log_level = logging.getLogger().getEffectiveLevel()

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted:
        if self._capacity is None:
            self._capacity = asyncio.Semaphore(self.processes * WorkerProcess.DEPTH)
        while True:
            async with self._capacity:
                worker = await self._choose()
                try:
                    reply = await worker.convert(slot_index, path, timeout_s)
                except Requeue:
                    continue  # its worker died under another file: not this one's attempt
                except BaseException:
                    self._forget(worker)
                    raise
            return _outcome(reply)

    async def _choose(self) -> WorkerProcess:
        while True:
            for dead in [w for w in self._live if not w.alive]:
                self._forget(dead)  # died while idle: its place goes to a new one
            ready = [w for w in self._live if w.ready and w.load < WorkerProcess.DEPTH]
            idle = [w for w in ready if w.load == 0]
            if idle:
                return idle[0]
            if len(self._live) < self.processes:
                return await self._start()
            if ready:
                return min(ready, key=lambda w: w.load)
            changed = self._changed_event()
            changed.clear()
            await changed.wait()  # a worker started, answered or died

    def _changed_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        self._changed_event().set()

    async def _start(self) -> WorkerProcess:
        worker = WorkerProcess(self.config, self._log_level, self._notify)
        self.started += 1
        self._live.append(worker)
        try:
            await worker.started()
        except BaseException:
            self._forget(worker)
            raise
        log.debug("converter worker process %s started", worker.pid)
        return worker

    def _forget(self, worker: WorkerProcess) -> None:
        worker.kill()
        if worker in self._live:
            self._live.remove(worker)
        self._killed = [w for w in self._killed if w.reader.is_alive()] + [worker]
        self._notify()

    @property
    def pids(self) -> list[int]:
        """The worker processes alive now (for tests and status)."""
        return [w.pid for w in self._live if w.pid is not None and w.alive]

    def close(self) -> None:
        """Stop every worker process and reap it (nothing is left behind)."""
        workers = [*self._live, *self._killed]
        self._live, self._killed = [], []
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.reader.join(timeout=5.0)


def _outcome(reply: Reply) -> Converted:
    for note in reply.notes:
        note.replay()
    if reply.error is not None:
        if reply.traceback:
            reply.error.__cause__ = RemoteTraceback(reply.traceback)
        raise reply.error
    assert reply.converted is not None
    return reply.converted


class SlotRunners:
    """Each slot's conversions go to the runner chosen for its converter."""

    def __init__(self, by_slot: Sequence[Runner]) -> None:
        self.by_slot = list(by_slot)

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted:
        return await self.by_slot[slot_index].run(slot_index, path, timeout_s)

    def close(self) -> None:
        for runner in {id(r): r for r in self.by_slot}.values():
            runner.close()


def runner_kind(mode: str, converter: ConverterBase, cores: int | None = None) -> RunnerKind:
    """Where `converter` runs under `worker_mode: mode`: `auto` gives a worker process to a
    converter that declares itself `cpu_heavy` when there is more than one core to use."""
    if mode == "thread":
        return "thread"
    if mode == "process":
        return "process"
    cores = cores if cores is not None else os.cpu_count() or 1
    return "process" if converter.cpu_heavy and cores > 1 else "thread"


def choose_runner(config: Config, slots: Sequence[ConverterSlot]) -> Runner:
    """The runner for the service's slots: threads, worker processes (one per core at most,
    and at most `max_workers`), or both, each converter where `runner_kind` puts it."""
    kinds = [runner_kind(config.worker_mode, slot.converter) for slot in slots]
    for slot, kind in zip(slots, kinds, strict=True):
        log.info("converter %r runs in %s", slot.name, f"a worker {kind}")
    threads = ThreadRunner([slot.converter for slot in slots])
    if "process" not in kinds:
        return threads
    processes = ProcessRunner(config, max(1, min(config.max_workers, os.cpu_count() or 1)))
    if "thread" not in kinds:
        return processes
    return SlotRunners([processes if kind == "process" else threads for kind in kinds])
