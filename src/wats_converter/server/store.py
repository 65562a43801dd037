"""Reports the local server received, in SQLite, plus per-id post counters for tests."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wats_converter.report import UUTReport

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    pn TEXT NOT NULL, sn TEXT NOT NULL, rev TEXT NOT NULL, result TEXT NOT NULL,
    station TEXT, process_code INTEGER, start TEXT NOT NULL, start_utc TEXT NOT NULL,
    received_at REAL NOT NULL, receive_count INTEGER NOT NULL DEFAULT 1,
    body TEXT NOT NULL, report_type TEXT NOT NULL DEFAULT 'T'
);
CREATE INDEX IF NOT EXISTS reports_received ON reports (received_at);
CREATE INDEX IF NOT EXISTS reports_sn ON reports (sn);
"""
# Columns the OData-like header query may filter and order by (WATS name -> column).
QUERY_FIELDS = {
    "partNumber": "pn",
    "serialNumber": "sn",
    "result": "result",
    "uuid": "id",
    "start": "start_utc",
    "timestamp": "received_at",
    "stationName": "station",
    "revision": "rev",
    "processCode": "process_code",
    "reportType": "report_type",
}
RESULT_WORDS = {"P": "Passed", "F": "Failed", "E": "Error", "T": "Terminated"}
UPSERT = (
    "INSERT INTO reports (id, pn, sn, rev, result, station, process_code, start,"
    " start_utc, received_at, body, report_type) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(id) DO UPDATE SET pn=excluded.pn, sn=excluded.sn, rev=excluded.rev,"
    " result=excluded.result, station=excluded.station,"
    " process_code=excluded.process_code, start=excluded.start,"
    " start_utc=excluded.start_utc, received_at=excluded.received_at,"
    " body=excluded.body, report_type=excluded.report_type,"
    " receive_count=receive_count+1 RETURNING rowid"
)
# a `reports` row in UPSERT's order: id, pn, sn, rev, result, station, process_code, start,
# start_utc, received_at, body, report_type
Row = tuple[str, str, str, str, str, str | None, int | None, str, str, float, str, str]


@dataclass(frozen=True)
class HeaderQuery:
    """A validated header query: equality filters, ordering, paging."""

    filters: tuple[tuple[str, str], ...] = ()
    order_by: str = "received_at"
    descending: bool = True
    top: int = 10
    skip: int = 0


@dataclass(frozen=True)
class ReportFilter:
    """The report browser's search: parts of SN, PN and station (any case), a result word,
    and a range of start dates (YYYY-MM-DD, inclusive, in the station's local time)."""

    sn: str = ""
    pn: str = ""
    station: str = ""
    result: str = ""
    date_from: str = ""
    date_to: str = ""

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for column, text in (("sn", self.sn), ("pn", self.pn), ("station", self.station)):
            if text:
                clauses.append(f"{column} LIKE ? ESCAPE '\\' COLLATE NOCASE")
                escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                params.append(f"%{escaped}%")
        if self.result:
            clauses.append("result = ?")
            params.append(_db_value("result", self.result))
        if self.date_from:
            clauses.append("substr(start, 1, 10) >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append("substr(start, 1, 10) <= ?")
            params.append(self.date_to)
        return " AND ".join(clauses) or "1", params


@dataclass(frozen=True)
class YieldRow:
    """First-pass yield of one part number at one station (station None: at any station)."""

    pn: str
    station: str | None
    units: int
    first_pass: int
    reports: int

    @property
    def percent(self) -> float:
        return 100.0 * self.first_pass / self.units if self.units else 0.0


class ReportStore:
    """Thread-safe: the server's loop and its commit thread use it, tests and the fixture read
    from other threads.

    A store in a file has two connections: writes go through one (the commit thread's, with
    `synchronous=FULL`: a committed report survives a power cut, not only a killed process),
    reads through the other, so a page or a query never waits for a commit's fsync (WAL).
    """

    def __init__(self, path: Path | str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = _connect(path)
        in_memory = str(path) == ":memory:" or not str(path)
        # an in-memory database is private to its connection: then both roles share it
        self._write_lock = self._lock if in_memory else threading.Lock()
        self._writer = self._db if in_memory else _connect(path)
        self._writer.execute("PRAGMA synchronous=FULL")
        self._writer.executescript(SCHEMA)
        columns = {r[1] for r in self._writer.execute("PRAGMA table_info(reports)")}
        if "report_type" not in columns:  # a store written before repair reports were kept
            self._writer.execute(
                "ALTER TABLE reports ADD COLUMN report_type TEXT NOT NULL DEFAULT 'T'"
            )
        self.posts: Counter[str] = Counter()
        self.invalid = 0  # posts answered 400 because the report failed validation

    def count_post(self, report_id: str) -> None:
        """Count a POST attempt for an id, whether or not it ends stored."""
        with self._lock:
            self.posts[report_id] += 1

    def save(self, report: UUTReport, body: str | bytes | None = None) -> int:
        """Store or replace (same id) a report, durably; return its row number.

        `body` is the report as the client sent it (validated); a real server stores what it
        gets, so the local one does too instead of spending time re-serialising it. Output-only
        fields in it (`productName`, `assetStats`, ...) are kept and shown, never refused.
        """
        result = self.insert([row_of(report, body)])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def insert(self, rows: Sequence[Row]) -> list[int | BaseException]:
        """Store `rows` in one transaction (one fsync for all) and return each one's row
        number. If that transaction fails, each row is tried in a transaction of its own, so
        one bad row costs only its own answer: its entry is then the exception."""
        with self._write_lock:
            try:
                return list(self._insert(rows))
            except sqlite3.Error as exc:
                if len(rows) == 1:
                    return [exc]
            return [self._insert_alone(row) for row in rows]

    def _insert_alone(self, row: Row) -> int | BaseException:
        try:
            return self._insert([row])[0]
        except sqlite3.Error as exc:
            return exc

    def _insert(self, rows: Sequence[Row]) -> list[int]:
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            numbers = [int(db.execute(UPSERT, row).fetchone()[0]) for row in rows]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return numbers

    def get(self, report_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM reports WHERE id = ?", (report_id.lower(),)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def headers(self, query: HeaderQuery) -> list[dict[str, Any]]:
        where = " AND ".join(f"{QUERY_FIELDS[f]} = ?" for f, _ in query.filters) or "1"
        params: list[Any] = [_db_value(f, v) for f, v in query.filters]
        column = QUERY_FIELDS.get(query.order_by, query.order_by)
        order = f"{column} {'DESC' if query.descending else 'ASC'}"
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, pn, sn, rev, result, station, process_code, start, receive_count,"
                f" received_at, report_type FROM reports WHERE {where}"
                f" ORDER BY {order}, rowid LIMIT ? OFFSET ?",
                (*params, query.top, query.skip),
            ).fetchall()
        return [
            {
                "uuid": r["id"],
                "serialNumber": r["sn"],
                "partNumber": r["pn"],
                "revision": r["rev"],
                "reportType": r["report_type"],
                "start": r["start"],
                "result": RESULT_WORDS.get(r["result"], r["result"]),
                "stationName": r["station"],
                "processCode": r["process_code"],
                "receiveCount": r["receive_count"],
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["received_at"])),
            }
            for r in rows
        ]

    def search(
        self, found: ReportFilter, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The newest matching reports (a page of them) and how many match in all."""
        where, params = found.where()
        with self._lock:
            total = int(
                self._db.execute(f"SELECT COUNT(*) FROM reports WHERE {where}", params).fetchone()[
                    0
                ]
            )
            rows = self._db.execute(
                f"SELECT id, pn, sn, rev, result, station, start, received_at, report_type"
                f" FROM reports "
                f"WHERE {where} ORDER BY received_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [dict(r) for r in rows], total

    def first_pass_yield(self, found: ReportFilter | None = None) -> list[YieldRow]:
        """Per part number and station, then per part number over all stations: the units
        tested, how many passed their first test there, and the reports in all."""
        where, params = (found or ReportFilter()).where()
        out = []
        with self._lock:
            for partition, station in (("pn, station, sn", "station"), ("pn, sn", "NULL")):
                rows = self._db.execute(
                    f"WITH ranked AS (SELECT pn, station, sn, result, ROW_NUMBER() OVER "
                    f"(PARTITION BY {partition} ORDER BY start_utc, rowid) AS n, COUNT(*) OVER "
                    f"(PARTITION BY {partition}) AS tries FROM reports WHERE {where}) "
                    f"SELECT pn, {station} AS st, COUNT(*) AS units, SUM(result = 'P') AS fp, "
                    f"SUM(tries) AS reports FROM ranked WHERE n = 1 GROUP BY pn, st "
                    f"ORDER BY pn, st",
                    params,
                ).fetchall()
                out += [YieldRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        return sorted(out, key=lambda y: (y.pn, y.station is None, y.station or ""))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def receive_counts(self) -> dict[str, int]:
        """How many times each stored id was received (1 = never overwritten)."""
        with self._lock:
            rows = self._db.execute("SELECT id, receive_count FROM reports").fetchall()
        return {r[0]: r[1] for r in rows}

    def serial_counts(self) -> dict[str, int]:
        """How many stored reports each serial number has (a duplicate shows as 2)."""
        with self._lock:
            rows = self._db.execute("SELECT sn, COUNT(*) FROM reports GROUP BY sn").fetchall()
        return {r[0]: r[1] for r in rows}

    def reset(self) -> None:
        with self._write_lock:
            self._writer.execute("DELETE FROM reports")
        with self._lock:
            self.posts.clear()
            self.invalid = 0

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        with self._lock:
            self._db.close()


def row_of(report: UUTReport, body: str | bytes | None = None) -> Row:
    """The `reports` row of a checked report (`body`: as sent; None: serialise the report)."""
    assert report.id is not None
    assert report.start is not None
    if body is None:
        body = report.to_wsjf()
    start_utc = (report.startUTC or report.start.astimezone()).isoformat()
    return (
        str(report.id),
        report.pn,
        report.sn,
        report.rev,
        report.result or "",  # a repair report has no test result
        report.machineName,
        report.processCode,
        report.start.isoformat(),
        start_utc,
        time.time(),
        body if isinstance(body, str) else body.decode(),
        report.type,
    )


def _connect(path: Path | str) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA journal_mode=WAL")
    return db


def _db_value(field: str, value: str) -> str:
    if field == "result":
        return {w.lower(): k for k, w in RESULT_WORDS.items()}.get(value.lower(), value)
    return value.lower() if field == "uuid" else value
