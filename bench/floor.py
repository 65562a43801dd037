"""The per-file floor: the least CPU any Python program spends to do, for one file, the work the
service must do, measured step by step.

`python -m bench.floor [--count N]` (and `floor_{small,rich}_json` in `python -m bench`).

For each of N WSJF files staged in a folder, one plain loop in this process, with no framework,
no asyncio, no threads and no error handling:

1. `lstat` the file (the identity the service checks before converting and before touching it);
2. commit the conversion attempt (one SQLite transaction, WAL, `synchronous=NORMAL`: the
   crash-loop counter the service commits before every conversion);
3. read the file;
4. the least conversion: msgspec decode to plain objects and encode again (the real fast path
   also checks the schema's rules, fills defaults and finalises);
5. one POST over a ready keep-alive socket to the stand-in server (`bench/standin.py`, answering
   at once), the answer's head and body read and the JSON answer decoded;
6. `lstat` again and `unlink` (DELETE).

What the service does beyond this is what makes it a service: file-system events, concurrency
(several files in flight, the adaptive limit), conversions off the event loop, timeouts, the
classification of every answer, retries, the outbox, status and logs. The floor says how much of
the service's CPU per file those cost, and which target no Python program can meet here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec

from bench.rig import StandInProcess
from wats_converter.testing import minimal_report, rich_report

STEPS = ("lstat", "attempt_commit", "read", "decode_encode", "post", "lstat_unlink")
LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


def floor(kind: str, count: int) -> dict[str, Any]:
    """CPU ms per file for `count` files of `kind`: the plain loop (`cpu_ms`, and each step's
    share), and the same steps as an asyncio program (`_run_async`) converting on the event
    loop (`asyncio_cpu_ms`) and in one thread (`asyncio_thread_cpu_ms`)."""
    server = StandInProcess(0)
    try:
        figures: dict[str, Any] = {}
        for variant in ("", "asyncio_", "asyncio_thread_"):
            with tempfile.TemporaryDirectory() as tmp:
                folder, port = Path(tmp), int(server.url.rsplit(":", 1)[1])
                paths = _stage(folder, kind, count)
                db = _journal(folder)
                if variant:
                    threads = ThreadPoolExecutor(1) if "thread" in variant else None
                    ms = asyncio.run(_run_async(paths, db, port, threads))
                    figures[f"{variant}cpu_ms"] = ms
                else:
                    figures.update(_run(paths, db, port))
                db.close()
        return figures
    finally:
        server.close()


def _stage(folder: Path, kind: str, count: int) -> list[Path]:
    report = (minimal_report if kind == "small" else rich_report)("FLOOR")
    body, rid = report.to_wsjf(), str(report.id).encode()
    paths = []
    for i in range(count):
        path = folder / f"{i}.json"
        path.write_bytes(body.replace(rid, str(_uuid(i)).encode(), 1))
        paths.append(path)
    return paths


def _journal(folder: Path) -> sqlite3.Connection:
    db = sqlite3.connect(folder / "journal.sqlite", isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE attempts (path BLOB PRIMARY KEY, n INTEGER)")
    return db


def _run(paths: list[Path], db: sqlite3.Connection, port: int) -> dict[str, Any]:
    count = len(paths)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answers = sock.makefile("rb")
    spent = dict.fromkeys(STEPS, 0.0)
    clock = time.process_time
    started = clock()
    for path in paths:
        t0 = clock()
        os.lstat(path)
        t1 = clock()
        with db:
            db.execute("INSERT OR REPLACE INTO attempts VALUES (?, 1)", (os.fsencode(path),))
        t2 = clock()
        content = path.read_bytes()
        t3 = clock()
        document = msgspec.json.decode(content)
        wsjf = msgspec.json.encode(document)
        t4 = clock()
        _post(sock, answers, port, wsjf)
        t5 = clock()
        os.lstat(path)
        path.unlink()
        t6 = clock()
        marks = (t0, t1, t2, t3, t4, t5, t6)
        for i, step in enumerate(STEPS):
            spent[step] += marks[i + 1] - marks[i]
    total = clock() - started
    sock.close()
    figures = {"cpu_ms": total / count * 1000}
    figures.update({f"{step}_ms": seconds / count * 1000 for step, seconds in spent.items()})
    return figures


async def _run_async(
    paths: list[Path], db: sqlite3.Connection, port: int, threads: ThreadPoolExecutor | None
) -> float:
    """The same steps as the service's architecture needs at the least: 4 workers on one event
    loop, the read and the conversion in `threads` (None: on the loop), up to 16 POSTs in
    flight on keep-alive connections (asyncio streams), the attempt commit and the file calls
    on the loop. CPU ms per file."""
    todo = list(reversed(paths))
    connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(16):
        connections.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    loop = asyncio.get_running_loop()

    def convert(path: Path) -> bytes:
        return msgspec.json.encode(msgspec.json.decode(path.read_bytes()))

    async def deliver(path: Path, wsjf: bytes) -> None:
        reader, writer = await connections.get()
        writer.write(
            b"POST /api/Report/WSJF HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Authorization: Basic floor\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (port, len(wsjf), wsjf)
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = LENGTH.search(head)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert length is not None, head
        json.loads(await reader.readexactly(int(length.group(1))))
        connections.put_nowait((reader, writer))
        os.lstat(path)
        path.unlink()

    async def worker(group: asyncio.TaskGroup) -> None:
        while todo:
            path = todo.pop()
            os.lstat(path)
            with db:
                db.execute("INSERT OR REPLACE INTO attempts VALUES (?, 1)", (os.fsencode(path),))
            if threads is None:
                wsjf = convert(path)
            else:
                wsjf = await loop.run_in_executor(threads, convert, path)
            group.create_task(deliver(path, wsjf))

    started = time.process_time()
    async with asyncio.TaskGroup() as group:
        for _ in range(4):
            group.create_task(worker(group))
    total = time.process_time() - started
    if threads is not None:
        threads.shutdown()
    while not connections.empty():
        connections.get_nowait()[1].close()
    return total / len(paths) * 1000


def _post(sock: socket.socket, answers: Any, port: int, body: bytes) -> None:
    sock.sendall(
        b"POST /api/Report/WSJF HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Authorization: Basic floor\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body)
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += answers.readline()
    length = LENGTH.search(head)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert length is not None, head
    json.loads(answers.read(int(length.group(1))))


def _uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i + 1:012x}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    for kind in ("small", "rich"):
        figures = floor(kind, args.count if kind == "small" else args.count // 5)
        print(kind, "  ".join(f"{k}={v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
