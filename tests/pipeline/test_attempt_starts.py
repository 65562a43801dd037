"""The group commit of conversion attempts: workers that start together share one journal
transaction, and each attempt is on disk before its converter runs (what a restart after a
kill -9 inside the converter reads)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.pipeline.pool_station import station
from wats_converter.pipeline.attempt_starts import AttemptStarts
from wats_converter.storage.journal import Journal
from wats_converter.testing import ServerThread


class CountingJournal(Journal):
    """The real journal, counting its attempt commits."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commits: list[int] = []

    def start_attempts(self, paths: Sequence[Path]) -> list[int]:
        counts = super().start_attempts(paths)
        self.commits.append(len(paths))
        return counts


def on_disk(journal_file: Path, path: Path) -> int:
    """The attempts of `path` as another process (the next start) reads them."""
    with sqlite3.connect(journal_file) as db:
        row = db.execute("SELECT count FROM attempts WHERE path = ?", (os.fsencode(path),))
        found = row.fetchone()
    return int(found[0]) if found else 0


async def test_conversions_starting_together_share_one_commit_made_before_any_converts(
    tmp_path: Path, server: ServerThread
) -> None:
    journal_file = tmp_path / "state" / "journal.sqlite"
    journal = CountingJournal(journal_file)
    seen: dict[str, int] = {}

    def read_journal(path: Path) -> None:  # inside the conversion: a crash here loses nothing
        seen[path.name] = on_disk(journal_file, path)

    async with station(tmp_path, server, journal, max_workers=3) as st:
        names = ["a.csv", "b.csv", "c.csv"]
        for name in names:
            st.runner.script(name, st.runner.Convert(during=read_journal))
            st.pool.offer(st.drop(name, name.upper()))
        await st.after()
        assert st.runner.most_running == 3
        assert seen == {name: 1 for name in names}  # committed before the converter ran
        assert journal.commits == [3]  # one transaction for the three
        assert st.serials() == {name.upper(): 1 for name in names}
        st.pool.offer(st.drop("d.csv", "D.CSV"))
        await st.after()
    # the clears of the three were written with d's start; d's own clear on close
    assert journal.commits == [3, 1]
    journal.close()
    assert all(on_disk(journal_file, st.watch / n) == 0 for n in [*names, "d.csv"])


async def test_a_worker_cancelled_before_the_commit_is_not_counted_and_a_failure_reaches_all(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    starts = AttemptStarts(journal)
    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    first, stopped = asyncio.create_task(starts.start(a)), asyncio.create_task(starts.start(b))
    await asyncio.sleep(0)  # both wait for the commit
    stopped.cancel()  # a stop: b is never converted
    assert await first == 1
    assert journal.attempts(a) == 1 and journal.attempts(b) == 0
    journal.close()  # the next commit fails: every worker of its group gets the error
    group = [asyncio.create_task(starts.start(p)) for p in (a, c)]
    for failed in await asyncio.gather(*group, return_exceptions=True):
        assert isinstance(failed, sqlite3.ProgrammingError)
    with pytest.raises(asyncio.CancelledError):
        await stopped
