"""Runners: a worker process converts exactly as a thread does, and a converter that crashes,
hangs or is cancelled costs only its own file and leaves no process behind.

Real converters on real files, real worker processes (spawned), the service's own config."""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import psutil
import pytest

from wats_converter.config import Config, build_config
from wats_converter.converters import ConversionError, RetryLater, SkipFile
from wats_converter.converters.builtin import TakayaConverter, WSJFConverter
from wats_converter.converters.registry import build_slots
from wats_converter.errors import (
    ConversionTimedOut,
    PoisonFile,
    ReportValidationError,
    WorkerCrashed,
)
from wats_converter.pipeline.failure_filing import exhausted
from wats_converter.pipeline.runners import (
    ProcessRunner,
    SlotRunners,
    ThreadRunner,
    choose_runner,
    runner_kind,
)
from wats_converter.testing import rich_report

DATA = Path(__file__).resolve().parent.parent / "data"
OSLO = {"timezone": "Europe/Oslo"}
# (config entry, sample): the real converters on their real samples, and the 56 KB WSJF report
REAL: list[tuple[dict[str, Any], Path | None]] = [
    ({"class_name": "WSJFConverter"}, None),
    (
        {"class_name": "TakayaConverter", "settings": OSLO},
        DATA / "takaya" / "ATD" / "PB2939800_E_BOT-20230420130239.ATD",
    ),
    (
        {"class_name": "SpectrumConverter", "settings": OSLO},
        DATA / "teradyne-spectrum" / "sample_ict_data.txt",
    ),
    (
        {"class_name": "ATMLConverter", "settings": OSLO},
        DATA / "atml" / "ATML 6.01 [2 31 52 PM][5 15 2019].xml",
    ),
    (
        {"class_name": "TestStandXMLConverter", "settings": {**OSLO, "part_number": "P-1"}},
        DATA / "teststand-xml" / "TSWithWats.xml",
    ),
]
CRASHY = {"module_path": "tests.pipeline.crashy_converter", "class_name": "CrashyConverter"}


def config_of(root: Path, entries: list[dict[str, Any]], **extra: Any) -> Config:
    converters = [
        {"name": f"c{i}", "watch_folder": f"watch{i}", "post_process_action": "KEEP", **entry}
        for i, entry in enumerate(entries)
    ]
    return build_config({"converters": converters, **extra}, root)


def crashy_file(root: Path, name: str, text: str) -> Path:
    path = root / f"{name}.crashy"
    path.write_text(text)
    return path


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_worker_process_gives_the_thread_runners_bytes(tmp_path: Path) -> None:
    wsjf = tmp_path / "rich.json"
    wsjf.write_bytes(rich_report("SN-RICH").to_wsjf())
    assert 50_000 < wsjf.stat().st_size < 70_000
    config = config_of(tmp_path, [entry for entry, _ in REAL])
    slots = build_slots(config)
    files = [sample or wsjf for _, sample in REAL]

    async def both() -> tuple[list[Any], list[Any]]:
        threads, processes = ThreadRunner([s.converter for s in slots]), ProcessRunner(config, 2)
        try:
            by_thread = [await threads.run(i, f, 60) for i, f in enumerate(files)]
            by_process = await asyncio.gather(
                *(processes.run(i, f, 60) for i, f in enumerate(files))
            )
        finally:
            processes.close()
        return by_thread, list(by_process)

    by_thread, by_process = asyncio.run(both())
    for path, thread, process in zip(files, by_thread, by_process, strict=True):
        assert process.reports == thread.reports, path.name
        assert all(body.startswith(b"{") and len(body) > 500 for _, body in process.reports)
    assert len(by_process[1].reports) == 4  # the Takaya file's four boards, ids and all


def test_errors_arrive_as_themselves_with_their_message(tmp_path: Path) -> None:
    config = config_of(tmp_path, [CRASHY])
    words = ["LINE", "INVALID", "RETRY", "SKIP", "CUSTOM"]
    files = [crashy_file(tmp_path, w.lower(), w) for w in words]

    async def errors_of(runner: ThreadRunner | ProcessRunner) -> list[BaseException]:
        try:
            results = [
                await asyncio.gather(runner.run(0, f, 30), return_exceptions=True) for f in files
            ]
        finally:
            runner.close()
        return [r[0] for r in results if isinstance(r[0], BaseException)]

    in_thread = asyncio.run(errors_of(ThreadRunner([s.converter for s in build_slots(config)])))
    in_process = asyncio.run(errors_of(ProcessRunner(config, 1)))
    assert len(in_process) == len(words)
    line, invalid, retry, skip, custom = in_process
    assert type(line) is ConversionError and (line.line, line.field) == (7, "Volts")
    assert str(line) == "line 7, field 'Volts': not a number: 'five'"
    assert type(invalid) is ReportValidationError
    assert invalid.problems == ["root.steps[0].name: too long", "uut.sn: missing"]
    assert str(invalid) == "root.steps[0].name: too long; uut.sn: missing"
    assert type(retry) is RetryLater and (retry.reason, retry.after_s) == (
        "the end marker is missing",
        42.0,
    )
    assert type(skip) is SkipFile and skip.reason == "a calibration log"
    # a converter's own class that cannot cross the pipe arrives as its nearest base class that
    # can (a ValueError stays a ValueError: it goes where a ValueError goes), named in the trace
    assert type(custom) is ValueError and str(custom) == "station fault 17: fixture open"
    assert getattr(custom, "code", None) == 17
    assert "StationFault" in "".join(traceback.format_exception(custom))
    for thread, process in zip(in_thread[:4], in_process[:4], strict=True):
        assert (type(process), str(process)) == (type(thread), str(thread))


def test_a_converter_that_kills_its_worker_costs_only_its_own_file(tmp_path: Path) -> None:
    config = config_of(tmp_path, [CRASHY])
    segv = crashy_file(tmp_path, "segv", "SEGV")
    exits = crashy_file(tmp_path, "exit", "EXIT")
    slow = crashy_file(tmp_path, "slow", "SLOW 1.0 SN-SLOW")
    fine = crashy_file(tmp_path, "fine", "OK SN-FINE")

    async def scenario() -> tuple[list[Any], Any, Any, int]:
        runner = ProcessRunner(config, 2)
        try:
            await runner.run(0, fine, 60)  # one worker up, so both start before the crash
            side_by_side = await asyncio.gather(
                runner.run(0, slow, 60), runner.run(0, segv, 60), return_exceptions=True
            )
            exited = (await asyncio.gather(runner.run(0, exits, 60), return_exceptions=True))[0]
            after = await runner.run(0, fine, 60)
            return side_by_side, exited, after, runner.started
        finally:
            runner.close()

    (slow_result, crash), exited, after, started = asyncio.run(scenario())
    assert not isinstance(slow_result, BaseException), slow_result  # its neighbour survived
    assert b"SN-SLOW" in slow_result.reports[0][1]
    assert isinstance(crash, WorkerCrashed) and "segv.crashy" in str(crash)
    assert "SIGSEGV" in str(crash)
    assert isinstance(exited, WorkerCrashed) and "exit code 3" in str(exited)
    assert not isinstance(crash, ConversionTimedOut | ConversionError)
    assert b"SN-FINE" in after.reports[0][1]  # the pool replaced the dead workers
    assert started == 3  # two, and one more for the two that died


def test_a_hanging_converter_is_killed_at_the_timeout(tmp_path: Path) -> None:
    config = config_of(tmp_path, [CRASHY])
    hang = crashy_file(tmp_path, "hang", "HANG")
    fine = crashy_file(tmp_path, "fine", "OK SN-FINE")

    async def scenario() -> tuple[BaseException, float, list[int], Any]:
        runner = ProcessRunner(config, 1)
        try:
            await runner.run(0, fine, 60)  # started: the timeout is the conversion's alone
            pids = runner.pids
            started = asyncio.get_running_loop().time()
            hung = (await asyncio.gather(runner.run(0, hang, 1.0), return_exceptions=True))[0]
            took = asyncio.get_running_loop().time() - started
            return hung, took, pids, await runner.run(0, fine, 60)
        finally:
            runner.close()

    hung, took, pids, after = asyncio.run(scenario())
    assert isinstance(hung, ConversionTimedOut) and "within 1 s" in str(hung)
    assert 1.0 <= took < 5.0
    assert not any(alive(pid) for pid in pids)  # killed, not left converting
    assert b"SN-FINE" in after.reports[0][1]


def test_quick_conversions_take_turns_on_one_thread(tmp_path: Path) -> None:
    """Side by side they would only share the GIL, at the cost of switching between them."""
    config = config_of(tmp_path, [CRASHY])
    files = [crashy_file(tmp_path, f"f{i}", f"OK SN-{i}") for i in range(20)]

    async def scenario() -> list[Any]:
        runner = ThreadRunner([s.converter for s in build_slots(config)])
        converted = await asyncio.gather(*(runner.run(0, f, 60) for f in files))
        assert runner.threads.started == 1
        return converted

    converted = asyncio.run(scenario())
    assert [c.reports[0][1].count(f"SN-{i}".encode()) for i, c in enumerate(converted)] == [1] * 20


def test_a_conversion_behind_a_hung_or_slow_one_gets_a_thread_of_its_own(tmp_path: Path) -> None:
    config = config_of(tmp_path, [CRASHY])
    hang = crashy_file(tmp_path, "hang", "HANG")
    waits = [crashy_file(tmp_path, f"wait{i}", f"SLOW 0.5 SN-{i}") for i in range(4)]

    async def scenario() -> tuple[float, BaseException, int]:
        runner = ThreadRunner([s.converter for s in build_slots(config)])
        loop = asyncio.get_running_loop()
        hung = asyncio.ensure_future(runner.run(0, hang, 3.0))
        started = loop.time()
        # four converters waiting on a slow disk: in turn they would take 2 s
        await asyncio.gather(*(runner.run(0, f, 60) for f in waits))
        took = loop.time() - started
        return took, (await asyncio.gather(hung, return_exceptions=True))[0], runner.threads.started

    took, hung, threads = asyncio.run(scenario())
    assert took < 1.5, took
    assert isinstance(hung, ConversionTimedOut)
    assert threads == 5  # the hung one's is left behind


def test_stop_cancels_conversions_and_leaves_no_process(tmp_path: Path) -> None:
    config = config_of(tmp_path, [CRASHY])
    hang = crashy_file(tmp_path, "hang", "HANG")
    slow = crashy_file(tmp_path, "slow", "SLOW 30 SN-SLOW")
    fine = crashy_file(tmp_path, "fine", "OK SN-FINE")

    async def scenario() -> tuple[list[int], list[BaseException | Any]]:
        runner = ProcessRunner(config, 3)
        try:
            await asyncio.gather(runner.run(0, fine, 60), runner.run(0, fine, 60))
            tasks = [asyncio.create_task(runner.run(0, f, 600)) for f in (hang, slow)]
            await asyncio.sleep(0.5)
            pids = runner.pids
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            return pids, results
        finally:
            runner.close()

    pids, results = asyncio.run(scenario())
    assert len(pids) >= 2
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert not any(alive(pid) for pid in pids)
    assert not [c for c in psutil.Process().children() if c.pid in pids]


def test_the_converters_log_records_reach_the_service_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_of(tmp_path, [CRASHY])
    noisy = crashy_file(tmp_path, "noisy", "NOISY SN-N")

    async def scenario() -> Any:
        runner = ProcessRunner(config, 1)
        try:
            return await runner.run(0, noisy, 60)
        finally:
            runner.close()

    with caplog.at_level(logging.INFO):
        converted = asyncio.run(scenario())
    assert b"SN-N" in converted.reports[0][1]
    notes = [r for r in caplog.records if r.name == "tests.pipeline.crashy_converter"]
    assert [(r.levelno, r.getMessage()) for r in notes] == [
        (logging.WARNING, "odd header in noisy.crashy")
    ]


def test_auto_gives_worker_processes_to_cpu_heavy_converters_when_there_are_cores(
    tmp_path: Path,
) -> None:
    takaya, wsjf = TakayaConverter(OSLO), WSJFConverter()
    assert runner_kind("auto", takaya, cores=2) == "process"
    assert runner_kind("auto", takaya, cores=1) == "thread"
    assert runner_kind("auto", wsjf, cores=8) == "thread"
    assert runner_kind("thread", takaya, cores=8) == "thread"
    assert runner_kind("process", wsjf, cores=1) == "process"
    entries = [REAL[0][0], REAL[1][0]]  # WSJF (threads) and Takaya (cpu_heavy)
    assert config_of(tmp_path, entries).worker_mode == "auto"  # the default
    mixed = choose_runner(config_of(tmp_path, entries), build_slots(config_of(tmp_path, entries)))
    if (psutil.cpu_count() or 1) > 1:
        assert isinstance(mixed, SlotRunners)
        assert [type(r) for r in mixed.by_slot] == [ThreadRunner, ProcessRunner]
    threads = config_of(tmp_path, entries, worker_mode="thread")
    assert isinstance(choose_runner(threads, build_slots(threads)), ThreadRunner)


def test_a_report_validation_error_survives_pickling() -> None:
    error = ReportValidationError([f"root.steps[{i}].name: too long" for i in range(7)])
    back = pickle.loads(pickle.dumps(error))
    assert back.problems == error.problems and str(back) == str(error)


def test_a_file_that_crashed_every_attempt_is_a_poison_file_not_a_timeout() -> None:
    crashed = WorkerCrashed("the worker process died while converting a.spea (killed by SIGSEGV)")
    poison = exhausted(3, crashed)
    assert type(poison) is PoisonFile and "killed by SIGSEGV" in str(poison)
    assert "crashed or timed out 3 times" in str(poison)
    unknown = exhausted(3, None)  # the service itself died while converting it
    assert type(unknown) is PoisonFile and "the service stopped" in str(unknown)
    hung = exhausted(3, ConversionTimedOut("the converter did not finish within 1 s"))
    assert type(hung) is ConversionTimedOut and "within 1 s" in str(hung)
    assert not issubclass(WorkerCrashed, ConversionError)  # retried, not an error-folder case


def test_a_file_queued_behind_a_crash_or_a_slow_file_is_not_charged_for_it(
    tmp_path: Path,
) -> None:
    """A worker takes the next request while it converts (no idle wait for the service); the
    file waiting behind another is neither blamed for its crash nor timed while it waits."""
    config = config_of(tmp_path, [CRASHY])
    segv = crashy_file(tmp_path, "segv", "SEGV")
    slow = crashy_file(tmp_path, "slow", "SLOW 1.5 SN-SLOW")
    fine = crashy_file(tmp_path, "fine", "OK SN-FINE")

    async def scenario() -> tuple[list[Any], list[Any]]:
        runner = ProcessRunner(config, 1)
        try:
            await runner.run(0, fine, 60)
            behind_crash = await asyncio.gather(
                runner.run(0, segv, 60), runner.run(0, fine, 60), return_exceptions=True
            )
            behind_slow = await asyncio.gather(
                runner.run(0, slow, 60), runner.run(0, fine, 1.0), return_exceptions=True
            )
            return behind_crash, behind_slow
        finally:
            runner.close()

    (crash, after_crash), (slow_result, after_slow) = asyncio.run(scenario())
    assert isinstance(crash, WorkerCrashed) and "segv.crashy" in str(crash)
    assert not isinstance(after_crash, BaseException), after_crash  # sent again, converted
    assert b"SN-FINE" in after_crash.reports[0][1]
    assert not isinstance(slow_result, BaseException), slow_result
    assert not isinstance(after_slow, BaseException), after_slow  # waited 1.5 s, timeout 1 s


def test_a_worker_killed_while_idle_is_replaced(tmp_path: Path) -> None:
    """The OOM killer (or an operator) ends an idle worker: the next file gets a new one."""
    config = config_of(tmp_path, [CRASHY])
    fine = crashy_file(tmp_path, "fine", "OK SN-FINE")

    async def scenario() -> tuple[Any, int]:
        runner = ProcessRunner(config, 1)
        try:
            await runner.run(0, fine, 60)
            psutil.Process(runner.pids[0]).kill()
            await asyncio.sleep(1.0)  # the service notices the closed pipe
            return await runner.run(0, fine, 60), runner.started
        finally:
            runner.close()

    after, started = asyncio.run(scenario())
    assert b"SN-FINE" in after.reports[0][1] and started == 2


WORKER_STARTS_LATE = """
import sys, time
from wats_converter.pipeline.worker_process import _die_with_parent
time.sleep(1.0)  # the service dies before the worker asks to die with it
_die_with_parent(int(sys.argv[1]))
print("the worker outlived its service", flush=True)
"""
SERVICE_DIES_AT_ONCE = """
import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
os._exit(0)
"""
SUBREAPER = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], check=True)
_, status = os.wait()  # the orphaned worker, now this process's child
print("exit", os.waitstatus_to_exitcode(status), flush=True)
"""


@pytest.mark.skipif(
    sys.platform != "linux",
    reason="subreapers (PR_SET_CHILD_SUBREAPER) and PR_SET_PDEATHSIG exist only on Linux; "
    "elsewhere a worker ends when it next reads its closed pipe",
)
def test_a_worker_whose_service_died_before_it_started_ends_under_a_subreaper() -> None:
    """systemd --user and a container's init adopt orphans instead of init (pid 1): a worker
    that finds its service already gone must end there too."""
    done = subprocess.run(
        [sys.executable, "-c", SUBREAPER, SERVICE_DIES_AT_ONCE, WORKER_STARTS_LATE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split("\n") == ["exit 1", ""], done.stdout + done.stderr
    assert done.stderr == ""
