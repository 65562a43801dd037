"""The worker pool's decisions, in-process: real files and folders, the real journal, delivery to
the real local server, a `FakeRunner` scripted per file and a `ManualClock` (`pool_station`), so
each branch is reached at once (the subprocess suites reach these only slowly, or not at all)
and no test sleeps. Each test checks what a user would: the reports the server stored, where
the file went, and what its `.error` says.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest

from tests.pipeline.pool_station import RELOOK_S, SETTLE_S, station
from wats_converter.converters.api import RetryLater, SkipFile
from wats_converter.errors import ConversionError, ConversionTimedOut
from wats_converter.pipeline.scanner import ScanStats, Unmatched, scan
from wats_converter.pipeline.worker_pool import LOCKED_RETRY_S, YOUNG_FILE_S
from wats_converter.storage.journal import Journal
from wats_converter.testing import FakeRunner, ServerThread, TestFileGenerator


async def test_a_settled_file_is_converted_delivered_and_moved_to_done(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        st.pool.offer(st.drop("a.csv", "SN-A"))
        await st.after()
        assert st.serials() == {"SN-A": 1}
        assert st.names(st.watch) == set() and st.names(st.done) == {"a.csv"}
        assert st.runner.runs("a.csv") == ["converted"]


async def test_skip_file_leaves_the_file_in_place_and_it_is_not_converted_again(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        path = st.drop("cal.csv", "SN-CAL")
        skip = SkipFile("a calibration log, not a test result")
        st.runner.script("cal.csv", skip, skip)  # the converter says so every time it is asked
        st.pool.offer(path)
        await st.after()
        assert st.serials() == {}
        assert st.names(st.watch) == {"cal.csv"} and st.names(st.error) == set()
        assert st.pool.stats.counts("CSVConverter").skipped == 1
        assert st.runner.runs("cal.csv") == ["SkipFile"]
        st.pool.offer(path)  # a rescan finds it again: not converted again until it changes
        await st.after(60)
        assert st.runner.runs("cal.csv") == ["SkipFile"]
        path.write_text(path.read_text() + "\n")
        st.pool.offer(path)  # changed: asked again once it has settled
        await st.after(SETTLE_S + RELOOK_S)
        assert st.runner.runs("cal.csv") == ["SkipFile", "SkipFile"]


async def test_retry_later_converts_the_file_after_the_delay_the_converter_asked_for(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        path = st.drop("log.csv", "SN-LOG", age_s=5)
        st.runner.script("log.csv", RetryLater("no end marker yet", after_s=30))
        st.pool.offer(path)
        await st.after()
        assert st.pool.unfinished == {path} and st.serials() == {}
        await st.after(29)
        assert st.runner.runs("log.csv") == ["RetryLater"]  # not looked at again before 30 s
        await st.after(1)
        assert st.runner.runs("log.csv") == ["RetryLater", "converted"]
        assert st.serials() == {"SN-LOG": 1} and st.names(st.done) == {"log.csv"}
        assert st.pool.unfinished == set()


async def test_a_file_still_incomplete_after_incomplete_timeout_s_goes_to_the_error_folder(
    tmp_path: Path, server: ServerThread
) -> None:
    entry = {"settings": {"incomplete_timeout_s": 600}}
    async with station(tmp_path, server, entry=entry) as st:
        path = st.drop("log.csv", "SN-LOG", age_s=601)
        st.runner.script("log.csv", RetryLater("no END line", after_s=30))
        st.pool.offer(path)
        await st.after()
        assert st.serials() == {} and st.names(st.watch) == set()
        assert st.names(st.error) == {"log.csv", "log.csv.error"}
        error = st.error_of("log.csv")
        assert error["error_type"] == "FileIncomplete"
        assert "still not complete" in error["exception"]
        assert "incomplete_timeout_s is 600" in error["exception"]
        assert "no END line" in error["exception"]


async def test_a_young_file_waits_until_it_has_settled(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        st.pool.offer(st.drop("new.csv", "SN-NEW", age_s=0))
        await st.after()
        await st.after(SETTLE_S / 2)
        assert st.runner.calls == [] and st.names(st.watch) == {"new.csv"}
        await st.after(SETTLE_S / 2 + RELOOK_S)
        assert st.runner.runs("new.csv") == ["converted"]
        assert st.serials() == {"SN-NEW": 1} and st.names(st.done) == {"new.csv"}


async def test_a_file_from_a_station_whose_clock_is_ahead_settles_by_staying_unchanged(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        st.pool.offer(st.drop("skew.csv", "SN-SKEW", age_s=-3600))  # mtime an hour ahead
        await st.after()
        assert st.runner.calls == []
        await st.after(SETTLE_S + RELOOK_S)  # not an hour: settle_s of seeing it unchanged
        assert st.serials() == {"SN-SKEW": 1} and st.names(st.done) == {"skew.csv"}


async def test_a_file_changed_during_its_conversion_is_converted_again_not_post_processed(
    tmp_path: Path, server: ServerThread
) -> None:
    def rewritten(path: Path) -> None:  # the station writes the final result meanwhile
        path.write_text(TestFileGenerator.csv_text("SN-FINAL", rows=12))

    async with station(tmp_path, server) as st:
        st.runner.script("r.csv", st.runner.Convert(during=rewritten))
        st.pool.offer(st.drop("r.csv", "SN-DRAFT"))
        await st.after()
        # the stale report is never sent, and the new content is not moved away unconverted
        assert st.serials() == {} and st.names(st.watch) == {"r.csv"}
        await st.after(SETTLE_S)  # looked at again: the new content is seconds old
        assert st.runner.runs("r.csv") == ["converted"] and st.serials() == {}
        await st.after(SETTLE_S + RELOOK_S)
        assert st.runner.runs("r.csv") == ["converted", "converted"]
        assert st.serials() == {"SN-FINAL": 1}
        assert "sn,SN-FINAL" in (st.done / "r.csv").read_text()


async def test_a_file_that_crashes_the_worker_every_time_goes_to_the_error_folder(
    tmp_path: Path, server: ServerThread
) -> None:
    crash = FakeRunner.CRASH
    async with station(tmp_path, server, retry={"conversion_attempts": 3}) as st:
        st.runner.script("poison.csv", crash, crash, crash, crash)
        st.pool.offer(st.drop("poison.csv", "SN-P"))
        await st.after()
        await st.after(2)  # backoff after attempt 1
        await st.after(4)  # after attempt 2
        assert st.runner.runs("poison.csv") == ["crash"] * 3
        assert (
            st.names(st.watch) == {"poison.csv"}
            and st.journal.attempts(st.watch / "poison.csv") == 3
        )
        await st.after(8)  # after attempt 3: not converted a fourth time
        assert st.runner.runs("poison.csv") == ["crash"] * 3
        assert st.serials() == {} and st.names(st.error) == {"poison.csv", "poison.csv.error"}
        error = st.error_of("poison.csv")
        assert error["error_type"] == "PoisonFile" and error["attempts"] == 3
        assert "crashed or timed out 3 times" in error["exception"]
        assert "the worker process died while converting poison.csv" in error["exception"]
        assert "errors requeue" in error["hint"]
        assert st.journal.attempts(st.error / "poison.csv") == 0


async def test_a_file_that_times_the_converter_out_every_time_is_filed_as_timed_out(
    tmp_path: Path, server: ServerThread
) -> None:
    timed_out = ConversionTimedOut("the converter did not finish within 120 s")
    async with station(tmp_path, server, retry={"conversion_attempts": 2}) as st:
        st.runner.script("slow.csv", timed_out, timed_out)
        st.pool.offer(st.drop("slow.csv", "SN-S"))
        await st.after()
        await st.after(2)
        await st.after(4)
        assert st.runner.runs("slow.csv") == ["ConversionTimedOut"] * 2
        error = st.error_of("slow.csv")
        assert (error["error_type"], error["attempts"]) == ("ConversionTimedOut", 2)
        assert "timed out 2 times" in error["exception"] and "120 s" in error["exception"]


async def test_after_a_crash_the_suspect_is_converted_alone_and_the_others_wait(
    tmp_path: Path, server: ServerThread
) -> None:
    beside: list[int] = []

    def count_running(_: Path) -> None:
        beside.append(st.runner.running)

    async with station(tmp_path, server, max_workers=2) as st:
        st.runner.script("a.csv", FakeRunner.CRASH, st.runner.Convert(during=count_running))
        st.pool.offer(st.drop("a.csv", "SN-A"))
        await st.after()
        for name in ("b.csv", "c.csv"):
            st.pool.offer(st.drop(name, name.upper()), delay_s=2)  # due with the suspect
        await st.after(2)
        assert beside == [1]  # nothing ran beside the file that crashed a worker
        assert st.serials() == {"SN-A": 1, "B.CSV": 1, "C.CSV": 1}
        assert st.journal.attempts(st.watch / "a.csv") == 0


async def test_a_file_whose_conversion_hangs_at_a_stop_is_counted_and_converted_alone_next_time(
    tmp_path: Path, server: ServerThread
) -> None:
    journal = Journal(tmp_path / "state" / "journal.sqlite")
    async with station(tmp_path, server, journal) as st:
        path = st.drop("hang.csv", "SN-H")
        st.runner.script("hang.csv", FakeRunner.HANG)
        st.pool.offer(path)
        await st.clock.advance(0)
        assert st.runner.runs("hang.csv") == ["hang"] and st.runner.running == 1
    # the service stopped (or died) while the converter hung: the file stays, the attempt counts
    assert path.exists() and journal.attempts(path) == 1
    async with station(tmp_path, server, journal) as st:
        st.pool.offer(path)
        await st.after()
        assert st.runner.runs("hang.csv") == ["converted"]
        assert st.serials() == {"SN-H": 1} and journal.attempts(path) == 0


async def test_a_conversion_error_files_the_source_with_a_error_saying_where(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        st.runner.script("bad.csv", ConversionError("no serial number", line=2, field="sn"))
        st.pool.offer(st.drop("bad.csv", "SN-BAD"))
        await st.after()
        assert st.serials() == {} and st.names(st.error) == {"bad.csv", "bad.csv.error"}
        error = st.error_of("bad.csv")
        assert (error["error_type"], error["line"], error["field"]) == ("ConversionError", 2, "sn")
        assert error["exception"] == "line 2, field 'sn': no serial number"
        assert "errors requeue" in error["hint"] and error["attempts"] == 1


async def test_a_young_file_that_fails_is_tried_again_before_it_is_filed(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        st.runner.script("half.csv", ConversionError("truncated row", line=9))
        st.pool.offer(st.drop("half.csv", "SN-HALF", age_s=SETTLE_S))
        await st.after()
        assert st.names(st.error) == set() and st.names(st.watch) == {"half.csv"}
        await st.after(YOUNG_FILE_S - SETTLE_S)  # the writer had time to finish it
        assert st.runner.runs("half.csv") == ["ConversionError", "converted"]
        assert st.serials() == {"SN-HALF": 1} and st.names(st.error) == set()


async def test_no_file_is_converted_while_the_disk_is_nearly_full_and_all_are_once_it_is_not(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server, min_free_bytes=2**62) as st:
        st.pool.offer(st.drop("a.csv", "SN-A"))
        await st.after()
        assert st.runner.calls == [] and st.names(st.watch) == {"a.csv"}
        assert "MiB free" in st.pool.stats.storage_blocked
        st.pool.space.min_free_bytes = 0  # space was freed
        await st.after(5)
        assert st.serials() == {"SN-A": 1} and st.names(st.done) == {"a.csv"}
        assert st.pool.stats.storage_blocked == ""


async def test_an_unmatched_file_is_not_queued_and_with_unmatched_error_is_filed_saying_why(
    tmp_path: Path, server: ServerThread
) -> None:
    entry = {"unmatched": "error", "patterns": ["*.csv"]}
    async with station(tmp_path, server, entry=entry) as st:
        stray = st.watch / "notes.txt"
        stray.write_text("lunch at 12\n")
        assert not st.pool.offer(stray)
        found: dict[str, Unmatched] = {}
        assert scan(st.pool.slots, set(), ScanStats(), unmatched=found) == []
        (unmatched,) = found.values()
        assert await st.pool.reject_unmatched(unmatched.path, unmatched.slot)
        assert st.names(st.watch) == set() and st.runner.calls == []
        error = st.error_of("notes.txt")
        assert error["error_type"] == "NoConverterFound"
        assert "takes this name" in error["exception"] and "*.csv" in error["exception"]


async def test_a_file_deleted_before_its_turn_is_forgotten_without_a_trace(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        gone, kept = st.drop("gone.csv", "SN-GONE"), st.drop("kept.csv", "SN-KEPT")
        st.pool.offer(gone, delay_s=SETTLE_S)
        st.pool.offer(kept, delay_s=SETTLE_S)
        gone.unlink()  # the operator took it back
        await st.after(SETTLE_S)
        assert st.runner.runs("gone.csv") == [] and st.runner.runs("kept.csv") == ["converted"]
        assert st.serials() == {"SN-KEPT": 1} and st.names(st.error) == set()
        assert st.queue.empty() and st.journal.attempts(gone) == 0


async def test_a_file_that_cannot_be_read_now_is_retried_not_filed(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        locked = PermissionError(errno.EACCES, "locked by the tester's software")
        st.runner.script("busy.csv", locked)
        st.pool.offer(st.drop("busy.csv", "SN-BUSY"))
        await st.after()
        assert st.names(st.error) == set() and st.pool.stats.storage_blocked == ""
        await st.after(LOCKED_RETRY_S)
        assert st.runner.runs("busy.csv") == ["PermissionError", "converted"]
        assert st.serials() == {"SN-BUSY": 1}


@pytest.mark.skipif(
    sys.platform != "linux", reason="open-for-writing is seen with Linux read leases only"
)
async def test_a_file_still_open_for_writing_waits_for_its_writer_to_close_it(
    tmp_path: Path, server: ServerThread
) -> None:
    async with station(tmp_path, server) as st:
        path = st.drop("open.csv", "SN-OPEN")
        with path.open("a"):  # the tester has not closed it yet
            st.pool.offer(path)
            await st.after()
            await st.after(SETTLE_S)
            assert st.runner.calls == [] and st.names(st.watch) == {"open.csv"}
        await st.after(SETTLE_S)
        assert st.runner.runs("open.csv") == ["converted"] and st.serials() == {"SN-OPEN": 1}
