"""Where converters run: the one boundary between async service code and sync converter code.

`ThreadRunner` runs each conversion in its own daemon thread, so a converter that hangs is
abandoned after the timeout without blocking the others. `ProcessRunner` runs conversions in a
pool of worker processes, so CPU-bound converters use every core and a converter that crashes
its process only costs the files in flight (they are retried).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wats_converter.config import Config
from wats_converter.converters.api import ConverterBase
from wats_converter.converters.registry import build_slots
from wats_converter.errors import ConversionTimedOut, WatsConverterError
from wats_converter.pipeline.conversion import convert_path

log = logging.getLogger(__name__)


class WorkerCrashed(WatsConverterError):
    """The worker process died during the conversion (retried; counts as an attempt)."""


@dataclass(frozen=True)
class Converted:
    """The spool-ready result of one file: `(report id, WSJF body)` pairs."""

    reports: list[tuple[str, bytes]]


def convert_to_bodies(converter: ConverterBase, path: Path) -> Converted:
    conversion = convert_path(converter, path)
    return Converted([(str(r.id), r.to_wsjf()) for r in conversion.reports])


class Runner(Protocol):
    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted: ...

    def close(self) -> None: ...


class DaemonThreads:
    """Reusable daemon threads: a thread that hangs in a converter is simply left behind (it can
    neither block the others nor the process exit); a new one starts when none is idle."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()
        self.started = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._idle == 0:
                self.started += 1
                threading.Thread(
                    target=self._work, name=f"converter-{self.started}", daemon=True
                ).start()
            else:
                self._idle -= 1
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            self._jobs.get()()
            with self._lock:
                self._idle += 1


class ThreadRunner:
    def __init__(self, converters: Sequence[ConverterBase]) -> None:
        self.converters = list(converters)
        self.threads = DaemonThreads()
        self.abandoned = 0

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Converted] = loop.create_future()
        converter = self.converters[slot_index]

        def work() -> None:
            try:
                result = convert_to_bodies(converter, path)
            except BaseException as exc:
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

        self.threads.submit(work)
        try:
            async with asyncio.timeout(timeout_s):
                return await future  # a timeout cancels the future; the late result is dropped
        except TimeoutError:
            self.abandoned += 1
            raise ConversionTimedOut(
                f"the converter did not finish within {timeout_s:g} s"
            ) from None

    def close(self) -> None:
        pass


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


_process_converters: list[ConverterBase] = []


def _init_process(config: Config) -> None:
    _die_with_parent()
    _process_converters[:] = [slot.converter for slot in build_slots(config)]


def _die_with_parent() -> None:
    """A worker must not outlive a service killed with SIGKILL (it would hold files open and
    memory, and a restarted service starts new ones): Linux delivers SIGKILL to it when its
    parent dies (PR_SET_PDEATHSIG). Elsewhere the pool's own pipe ends it when it next looks."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _convert_in_process(slot_index: int, path: Path) -> Converted:
    return convert_to_bodies(_process_converters[slot_index], path)


class ProcessRunner:
    def __init__(self, config: Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        # spawn, not fork: a forked child shares the event loop's signal wake-up socket, so a
        # signal to a worker (the pool terminates workers) would reach the service's handlers
        return concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(self.config,),
        )

    async def run(self, slot_index: int, path: Path, timeout_s: float) -> Converted:
        pool = self._pool
        future = asyncio.get_running_loop().run_in_executor(
            pool, _convert_in_process, slot_index, path
        )
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            self._restart(pool, f"{path.name} timed out")
            raise ConversionTimedOut(
                f"the converter did not finish within {timeout_s:g} s"
            ) from None
        except BrokenProcessPool:
            self._restart(pool, "a worker process died")
            raise WorkerCrashed(f"the worker process died while converting {path.name}") from None

    def _restart(self, pool: concurrent.futures.ProcessPoolExecutor, why: str) -> None:
        if pool is not self._pool:
            return  # already replaced by another failure
        log.warning("restarting converter worker processes: %s", why)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
