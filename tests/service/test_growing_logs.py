"""Tester logs that grow unit by unit in a watch folder: each unit reaches the server once."""

from __future__ import annotations

import time
from pathlib import Path

from tests.service.harness import Station, wait_until
from wats_converter.server.fixture import ServerThread

DATA = Path(__file__).parent.parent / "data"
GR228X = DATA / "teradyne-gr228x" / "43420_BIO2.LOG"
SERIALS = {"65428553938829725787", "24422984989544535753", "42842937739687688567"}


def station(root: Path, server: ServerThread, action: str, **settings: object) -> Station:
    entry = {
        "name": "ict",
        "class_name": "GR228XConverter",
        "watch_folder": "watch",
        "done_folder": "done",
        "error_folder": "error",
        "post_process_action": action,
        "settings": {"timezone": "Europe/Oslo", "retry_after_s": 0.2, **settings},
    }
    s = Station(root, server, [entry])
    s.folder("watch")
    return s


def write_board_by_board(path: Path, pause: float, after_board: object = None) -> None:
    """Append the sample line by line like the tester does, pausing after each board."""
    with path.open("w", encoding="utf-8") as log:
        for line in GR228X.read_text().splitlines(keepends=True):
            log.write(line)
            log.flush()
            time.sleep(0.005)
            if line[:1] in '"/?':
                time.sleep(pause)
                if callable(after_board):
                    after_board()


def test_a_growing_log_is_delivered_once_when_its_session_closes(
    tmp_path: Path, server: ServerThread
) -> None:
    s = station(tmp_path, server, "MOVE")
    s.start()
    arrived_early = []
    write_board_by_board(
        s.root / "watch" / "43420_BIO2.LOG", 0.8, lambda: arrived_early.append(server.store.count())
    )
    wait_until(lambda: server.store.count() == 3, what="three boards", station=s)
    wait_until(lambda: bool(s.files("done")), what="the log moved to done", station=s)
    time.sleep(1.0)  # nothing else arrives afterwards
    assert arrived_early == [0, 0, 0]  # nothing was sent while the session was open
    assert set(server.store.serial_counts()) == SERIALS
    assert set(server.store.serial_counts().values()) == {1}
    assert set(server.store.posts.values()) == {1}  # each board posted exactly once
    assert not s.files("error")
    s.stop()


def test_boards_are_delivered_as_they_finish_and_never_duplicated(
    tmp_path: Path, server: ServerThread
) -> None:
    s = station(tmp_path, server, "KEEP", convert_before_end=True)
    s.start()
    counts: list[int] = []

    def board_arrives() -> None:
        expected = len(counts) + 1
        wait_until(lambda: server.store.count() == expected, what=f"board {expected}", station=s)
        counts.append(server.store.count())

    write_board_by_board(s.root / "watch" / "43420_BIO2.LOG", 0.0, board_arrives)
    time.sleep(1.5)  # the closed session is converted once more
    assert counts == [1, 2, 3]  # each board arrived while the session was still open
    assert server.store.serial_counts() == dict.fromkeys(SERIALS, 1)  # one report per board
    assert not s.files("error")
    s.stop()


def test_a_spea_log_growing_run_by_run_keeps_one_report_per_run(
    tmp_path: Path, server: ServerThread
) -> None:
    entry = {
        "name": "spea",
        "class_name": "SPEAConverter",
        "watch_folder": "watch",
        "post_process_action": "KEEP",
        "settings": {"timezone": "Europe/Oslo", "retry_after_s": 0.2},
    }
    s = Station(tmp_path, server, [entry])
    s.folder("watch")
    s.start()
    lines = (DATA / "spea-3030" / "testdata_SN9871234012.csv").read_text().splitlines(True)
    ends = [i for i, line in enumerate(lines) if line.startswith("END;")][:3]
    path = s.root / "watch" / "testdata_SN9871234012.csv"
    with path.open("w", encoding="utf-8") as log:
        written = 0
        for run, end in enumerate(ends, start=1):
            while written <= end:
                log.writelines(lines[written : min(written + 200, end + 1)])
                log.flush()
                written = min(written + 200, end + 1)
                time.sleep(0.05)
                if written <= end:  # mid-run: nothing of this run may be on the server
                    assert server.store.count() <= run - 1
            wait_until(lambda run=run: server.store.count() == run, what=f"run {run}", station=s)
    time.sleep(1.0)
    assert server.store.count() == 3  # the same serial three times: three runs, three reports
    assert not s.files("error")
    s.stop()
