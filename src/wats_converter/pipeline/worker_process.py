"""One converter worker process: its main loop (the child side) and its handle (the parent side).

The child gets the configuration once, when it starts, and builds the same converters as the
service (`build_slots`). Then each request is `(slot index, path)` and each answer a `Reply`:
the finished WSJF bodies with their report ids, or the exception the converter raised, plus the
log records the converter wrote meanwhile (replayed in the service's log). The handle in the
service reads the answers in a thread of its own, so a large answer never stalls the event loop,
and it notices a child that dies at once (the pipe closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from wats_converter.config import Config
from wats_converter.converters.api import ConverterBase
from wats_converter.converters.registry import build_slots
from wats_converter.errors import ConversionTimedOut, WorkerCrashed
from wats_converter.pipeline.conversion import Converted, convert_to_bodies

START_TIMEOUT_S = 120.0  # a worker imports the converters before it takes work; a loaded PC is slow
_SPAWN = multiprocessing.get_context("spawn")
# spawn, not fork: a forked child would share the event loop's signal wake-up socket and the
# service's threads' locks in whatever state they were


@dataclass(frozen=True)
class Note:
    """A log record the converter wrote in the worker process."""

    logger: str
    level: int
    message: str

    def replay(self) -> None:
        logging.getLogger(self.logger).log(self.level, "%s", self.message)


@dataclass(frozen=True)
class Reply:
    """The answer to one request: `converted`, or the `error` the conversion raised (with the
    worker's `traceback` text)."""

    converted: Converted | None
    error: Exception | None = None
    traceback: str = ""
    notes: list[Note] = field(default_factory=list)


class RemoteTraceback(Exception):
    """Carries the worker's traceback text as the `__cause__` of an error it raised, so the
    `.error` file shows where in the converter the error came from."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ---- the child side ----------------------------------------------------------------------


def serve(conn: Connection, config: Config, log_level: int, parent_pid: int) -> None:
    """The worker process's main: build the converters once, then answer one request at a time
    until the pipe closes."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the service's to handle
    notes = NoteCollector(log_level)
    try:
        converters = [slot.converter for slot in build_slots(config)]
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            slot_index, path = conn.recv()
        except EOFError:
            return
        conn.send_bytes(answer(converters[slot_index], Path(path), notes))


def answer(converter: ConverterBase, path: Path, notes: NoteCollector) -> bytes:
    """The pickled `Reply` for converting `path`."""
    with notes.collecting() as taken:
        try:
            reply = Reply(convert_to_bodies(converter, path), notes=taken)
        except Exception as exc:
            reply = Reply(None, portable(exc), traceback.format_exc(), taken)
    return pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)


def portable(exc: Exception) -> Exception:
    """`exc` if it crosses a pipe as itself (same class, same message); otherwise the nearest
    base class that does, with the same message and attributes: the class says what happens
    next (`ConversionError` -> error folder, `OSError` -> retry), so that is what must arrive."""
    if _crosses(exc):
        return exc
    for base in type(exc).__mro__[1:]:
        if not issubclass(base, Exception):
            continue
        try:
            substitute = base(str(exc))
        except Exception:  # a base class that takes other arguments: try the next one
            continue
        for name, value in vars(exc).items():
            with contextlib.suppress(Exception):
                pickle.dumps(value)
                setattr(substitute, name, value)
        if _crosses(substitute):
            return substitute
    return Exception(str(exc))


def _crosses(exc: Exception) -> bool:
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        return False
    return type(back) is type(exc) and str(back) == str(exc)


class NoteCollector(logging.Handler):
    """Keeps the log records of the conversion in progress (the worker has no log of its own)."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self._taken: list[Note] | None = None
        root = logging.getLogger()
        root.setLevel(level)
        root.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if self._taken is None:
            return
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self._taken.append(Note(record.name, record.levelno, message))

    @contextlib.contextmanager
    def collecting(self) -> Iterator[list[Note]]:
        taken: list[Note] = []
        self._taken = taken
        try:
            yield taken
        finally:
            self._taken = None


def _die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive a service killed with SIGKILL (it would hold files open and
    memory, and a restarted service starts new ones): Linux delivers SIGKILL to it when its
    parent dies (PR_SET_PDEATHSIG). Elsewhere it ends when it next reads its closed pipe."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    # the parent died before the request took effect: the worker now belongs to init or, under
    # a subreaper (systemd --user, a container's init), to that process, so compare pids
    if os.getppid() != parent_pid:
        os._exit(1)


# ---- the parent side ---------------------------------------------------------------------


class Requeue(Exception):
    """The worker died before it started this request (another file crashed it): send the
    request to another worker; it costs this file nothing."""


@dataclass
class _Request:
    name: str
    reply: asyncio.Future[Reply]
    started: asyncio.Event = field(default_factory=asyncio.Event)  # at the head of the line


class WorkerProcess:
    """The service's handle on one worker process. It converts one file at a time, in the order
    they were sent; up to `DEPTH` requests wait in its pipe, so it never idles waiting for the
    service to send the next one (on a loaded machine each wake-up of the service costs
    milliseconds). A request's timeout starts when the worker starts it."""

    DEPTH = 2

    def __init__(self, config: Config, log_level: int, on_change: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[object] = self._loop.create_future()
        self._line: deque[_Request] = deque()
        self._on_change = on_change
        self.alive = True
        self._conn, child = _SPAWN.Pipe()
        self.process = _SPAWN.Process(
            target=serve,
            args=(child, config, log_level, os.getpid()),
            name="wats-converter-worker",
        )
        self.process.daemon = True
        self.process.start()
        child.close()
        self.reader = threading.Thread(target=self._read, name="worker-reader", daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def load(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._line)

    @property
    def ready(self) -> bool:
        return self._ready.done() and self.alive

    async def started(self) -> None:
        """Wait until the worker has built its converters; `WorkerCrashed` if it cannot."""
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                message = await asyncio.shield(self._ready)
        except TimeoutError:
            message = ("failed", f"not ready after {START_TIMEOUT_S:g} s")
        if not (isinstance(message, tuple) and message[0] == "ready"):
            self.kill()
            raise WorkerCrashed(f"a converter worker process could not start: {self._why(message)}")
        self._on_change()

    async def convert(self, slot_index: int, path: Path, timeout_s: float) -> Reply:
        """Convert `path` with the slot's converter. `ConversionTimedOut` (the worker is killed)
        or `WorkerCrashed` (it died converting this file); either way this worker is finished.
        `Requeue` if it died before starting this file."""
        if not self.alive:
            raise Requeue()  # it died since it was chosen
        request = _Request(path.name, self._loop.create_future())
        self._line.append(request)
        if len(self._line) == 1:
            request.started.set()
        with contextlib.suppress(OSError):  # a closed pipe: the reader reports the death
            self._conn.send((slot_index, str(path)))
        try:
            await request.started.wait()
            async with asyncio.timeout(timeout_s):
                return await request.reply
        except TimeoutError:
            self.kill()
            raise ConversionTimedOut(
                f"the converter did not finish within {timeout_s:g} s (its worker process "
                "was stopped)"
            ) from None
        finally:
            if not request.reply.done():
                request.reply.cancel()  # a late answer (or failure) is then dropped

    def kill(self) -> None:
        """Stop the process now (a conversion has no side effects to interrupt)."""
        self.alive = False
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()

    def _read(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # an answer that cannot be unpickled here
                message = ("failed", f"unreadable answer: {type(exc).__name__}: {exc}")
            self._post(message)
        self.process.join()  # reaped here, so a dead worker never lingers as a zombie
        self._conn.close()
        self._post(None)

    def _post(self, message: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self._loop.call_soon_threadsafe(self._receive, message)

    def _receive(self, message: object) -> None:
        if not self._ready.done():
            self._ready.set_result(message)
            if message is not None:
                return
        if isinstance(message, Reply) and self._line:
            request = self._line.popleft()
            if not request.reply.done():
                request.reply.set_result(message)
            if self._line:
                self._line[0].started.set()
        elif not isinstance(message, Reply):
            self._fail_all(self._why(message))
        self._on_change()

    def _fail_all(self, why: str) -> None:
        """The worker is gone (or unusable): the file it was converting crashed it; the ones
        waiting behind it go to another worker."""
        self.kill()
        line, self._line = self._line, deque()
        for i, request in enumerate(line):
            if not request.reply.done():
                error = (
                    WorkerCrashed(
                        f"the worker process died while converting {request.name} ({why})"
                    )
                    if i == 0
                    else Requeue()
                )
                request.reply.set_exception(error)
            request.started.set()

    def _why(self, message: object) -> str:
        if isinstance(message, tuple):
            return str(message[1])
        # None: the pipe closed; the reader posts it only after it has reaped the process
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"
