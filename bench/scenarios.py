"""The benchmark scenarios of issue 6. Each returns a flat dict of figures for one run."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.rig import Rig, cpu_s, move_all, wait, written_earlier
from wats_converter.converters.builtin.wsjf import WSJFConverter
from wats_converter.pipeline.runners import convert_to_bodies
from wats_converter.server.fixture import ServerProcess
from wats_converter.testing import TestFileGenerator, minimal_report, rich_report

CLASSES = {
    "json": "WSJFConverter",
    "csv": "CSVConverter",
    "xml": "WSXFConverter",
    "txt": "WSTFConverter",
}


def converter(ext: str, action: str = "DELETE", **extra: Any) -> dict[str, Any]:
    return {
        "name": ext,
        "class_name": CLASSES[ext],
        "watch_folder": "watch",
        "post_process_action": action,
        "done_folder": "done",
        **extra,
    }


def burst(
    ext: str,
    count: int,
    rows: int,
    workers: int = 4,
    mode: str = "thread",
    standin_delay_ms: float | None = None,
) -> dict[str, Any]:
    """Scenario 1: drop `count` files atomically into a running service (delivering to the
    local server, or to the stand-in that answers after `standin_delay_ms`)."""
    with Rig(
        [converter(ext)], max_workers=workers, worker_mode=mode, standin_delay_ms=standin_delay_ms
    ) as rig:
        staged = rig.folder("stage")
        TestFileGenerator.generate_batch(staged, ext, count, rows=rows, atomic=False)
        written_earlier(staged)
        service = rig.start_service()
        rig.wait_started()
        assert rig.server is not None
        server = psutil.Process(rig.server.proc.pid)
        cpu0, srv0 = cpu_s(service), cpu_s(server)
        started = time.perf_counter()
        move_all(staged, rig.folder("watch"))
        wait(lambda: rig.stored() >= count, 600, poll_s=0.05)
        wait(lambda: not any(rig.folder("watch").iterdir()), 60)
        elapsed = time.perf_counter() - started
        return {
            "files_per_s": count / elapsed,
            "service_cpu_ms": (cpu_s(service) - cpu0) / count * 1000,
            "server_cpu_ms": (cpu_s(server) - srv0) / count * 1000,
        }


def convert_only(
    kind: str, count: int, careful: bool = False, with_id: bool = True
) -> dict[str, Any]:
    """Scenario 8: the WSJF converter alone, in this process: read, hash, convert, finalize,
    serialise (what a worker does for one file), without delivery. `careful` forces the
    pydantic path the fast path falls back to, for a side-by-side figure in one run; without
    an id (`with_id=False`, the burst scenarios' files) the worker also hashes the unit."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.json"
        report = (minimal_report if kind == "small" else rich_report)("SN1")
        if not with_id:
            report.id = None
        path.write_bytes(report.to_wsjf())
        wsjf = _careful_converter() if careful else WSJFConverter()
        for _ in range(20):  # warm-up: imports, caches
            convert_to_bodies(wsjf, path)
        started = time.process_time()
        for _ in range(count):
            convert_to_bodies(wsjf, path)
        return {"cpu_ms": (time.process_time() - started) / count * 1000}


def _careful_converter() -> WSJFConverter:
    class CarefulWSJF(WSJFConverter):
        def convert(self, content: str, file_path: Path) -> Any:
            return self.read(content, fast=False)

    return CarefulWSJF()


def server_ceiling(
    kind: str, count: int, connections: int = 4, processes: int = 1
) -> dict[str, Any]:
    """Scenario 7c: the local server driven by an ideal client: ready HTTP/1.1 requests
    written on `connections` keep-alive sockets, answers read with no HTTP library.
    `processes` > 1: that many server processes on the port (`serve --processes`)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "server.sqlite", token="bench", processes=processes)
        try:
            report = (minimal_report if kind == "small" else rich_report)("IDEAL")
            body, rid = report.to_wsjf(), str(report.id).encode()
            # the same report under `count` ids: every post stores a new row
            bodies = [
                body.replace(rid, str(uuid.UUID(int=i + 1)).encode(), 1) for i in range(count)
            ]
            port = int(server.url.rsplit(":", 1)[1])
            requests = [_request(port, body) for body in bodies]
            asyncio.run(_send_all(port, requests[: connections * 4], connections))  # warm-up
            parent, client = psutil.Process(server.proc.pid), psutil.Process()
            serving = parent.children() or [parent]  # the event loops (an old server: one)
            tree = [parent, *parent.children()]
            cpu0, client0 = sum(map(cpu_s, tree)), cpu_s(client)
            loop0 = sum(map(_main_thread_s, serving))
            started = time.perf_counter()
            asyncio.run(_send_all(port, requests, connections))
            elapsed = time.perf_counter() - started
            figures = {
                "posts_per_s": count / elapsed,
                "server_cpu_ms": (sum(map(cpu_s, tree)) - cpu0) / count * 1000,
                # the event loops' share: one thread each, what bounds the posts/s per core
                "server_loop_cpu_ms": (sum(map(_main_thread_s, serving)) - loop0) / count * 1000,
                "client_cpu_ms": (cpu_s(client) - client0) / count * 1000,
            }
            # absent before group commit, and with several processes (no /_admin/ then)
            commits = _counters(server).get("commits") if processes == 1 else None
            if commits:
                figures["reports_per_commit"] = (count + connections * 4) / commits
            return figures
        finally:
            server.close()


def _main_thread_s(process: psutil.Process) -> float:
    main = next(t for t in process.threads() if t.id == process.pid)
    return float(main.user_time + main.system_time)


def _counters(server: ServerProcess) -> dict[str, Any]:
    request = urllib.request.Request(
        server.url + "/_admin/counters", headers={"Authorization": f"Basic {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def _request(port: int, body: bytes) -> bytes:
    return (
        b"POST /api/Report/WSJF HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Authorization: Basic bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body)
    )


async def _send_all(port: int, requests: list[bytes], connections: int) -> None:
    queue = list(reversed(requests))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while queue:
                writer.write(queue.pop())
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200"), head
                length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                assert length is not None, head
                await reader.readexactly(int(length.group(1)))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))


def backlog(count: int) -> dict[str, Any]:
    """Scenario 2: `count` files already present at start."""
    with Rig([converter("json")]) as rig:
        TestFileGenerator.generate_batch(rig.folder("watch"), "json", count, atomic=False)
        written_earlier(rig.folder("watch"))
        started = time.perf_counter()
        service = rig.start_service(level="INFO")
        first, peak_rss = None, 0
        while rig.stored() < count:
            peak_rss = max(peak_rss, service.memory_info().rss)
            if first is None and rig.stored() > 0:
                first = time.perf_counter() - started
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        scan = re.search(r"startup scan in ([\d.]+) s", rig.log.read_text())
        return {
            "scan_s": float(scan.group(1)) if scan else None,
            "first_report_s": first,
            "files_per_s": count / elapsed,
            # from the first report on: the per-file rate, without the start-up (Python, imports,
            # scan) that a small backlog cannot amortise
            "steady_files_per_s": count / (elapsed - (first or 0.0)),
            "peak_rss_mb": peak_rss / 2**20,
        }


def conversion_then_drain(count: int) -> dict[str, Any]:
    """Scenario 3: convert with the server down (spool only), then the drain when it returns."""
    with Rig([converter("json")], server=False) as rig:
        TestFileGenerator.generate_batch(rig.folder("watch"), "json", count, atomic=False)
        written_earlier(rig.folder("watch"))
        started = time.perf_counter()
        rig.start_service()
        pending = rig.folder("pending")
        wait(lambda: sum(1 for _ in pending.glob("*.queued")) >= count, 600, poll_s=0.05)
        converted = time.perf_counter() - started
        rig.start_server()
        started = time.perf_counter()
        wait(lambda: rig.stored() >= count, 600, poll_s=0.05)
        return {
            "convert_files_per_s": count / converted,
            "drain_reports_per_s": count / (time.perf_counter() - started),
        }


def idle_latency(
    count: int, interval_s: float = 0.25, settle_s: float | None = None
) -> dict[str, Any]:
    """Scenario 4: one file every 250 ms, written and renamed into the watch folder at once;
    time from the rename to the report being stored. With the default `settle_s` (2 s since
    the last write, for writers that close the file between writes) that is the settle time
    plus the pipeline's latency; `settle_s` set short shows the pipeline's alone."""
    settings = {} if settle_s is None else {"settle_s": settle_s}
    with Rig([converter("json")], **settings) as rig:
        rig.start_service()
        rig.wait_started()
        time.sleep(1.0)
        assert rig.server is not None
        latencies = []
        watch, staged = rig.folder("watch"), rig.folder("stage")
        for i in range(count):
            sn = f"LAT-{i:04d}"
            path = staged / f"{sn}.json"
            path.write_bytes(TestFileGenerator.render("json", sn))
            dropped = time.perf_counter()
            os.rename(path, watch / path.name)
            wait(lambda sn=sn: _has(rig.server.url, sn), 30, poll_s=0.002)  # type: ignore[union-attr]
            latencies.append(time.perf_counter() - dropped)
            time.sleep(max(0.0, interval_s - latencies[-1]))
        latencies.sort()
        return {
            "p50_s": statistics.median(latencies),
            "p95_s": latencies[int(len(latencies) * 0.95) - 1],
            "max_s": latencies[-1],
        }


def _has(url: str, sn: str) -> bool:
    query = urllib.parse.quote(f"serialNumber eq '{sn}'")
    request = urllib.request.Request(
        f"{url}/api/Report/Query/Header?$filter={query}", headers={"Authorization": "Basic bench"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read() != b"[]"


def soak(count: int, batch: int = 500) -> dict[str, Any]:
    """Scenario 5: many conversions; memory, open files and threads after warm-up vs. the end."""
    with Rig([converter("json")]) as rig:
        service = rig.start_service()
        rig.wait_started()
        staged, watch = rig.folder("stage"), rig.folder("watch")
        baseline: dict[str, float] = {}
        done = 0
        while done < count:
            TestFileGenerator.generate_batch(staged, "json", batch, prefix=f"s{done}", atomic=False)
            written_earlier(staged)
            move_all(staged, watch)
            done += batch
            wait(lambda target=done: rig.stored() >= target, 600, poll_s=0.05)
            wait(lambda: not any(watch.iterdir()), 60)
            if done >= count // 5 and not baseline:  # warm-up over
                baseline = _resources(service)
        end = _resources(service)
        return {
            "conversions": count,
            "rss_growth_pct": (end["rss"] / baseline["rss"] - 1) * 100,
            "rss_mb": end["rss"] / 2**20,
            "fds_before": baseline["fds"],
            "fds_after": end["fds"],
            "threads_before": baseline["threads"],
            "threads_after": end["threads"],
        }


def _resources(process: psutil.Process) -> dict[str, float]:
    time.sleep(1.5)  # let the status writer and the last sends settle
    return {
        "rss": process.memory_info().rss,
        "fds": process.num_fds(),
        "threads": process.num_threads(),
    }


def idle_cost(kept: int, seconds: float = 20) -> dict[str, Any]:
    """Scenario 6: an idle service watching a tree of `kept` KEEP files."""
    with Rig([converter("json", "KEEP")], scan_interval_s=10.0) as rig:
        watch = rig.folder("watch")
        for i in range(0, kept, 1000):
            TestFileGenerator.generate_batch(
                watch / f"d{i // 1000:03d}",
                "json",
                min(1000, kept - i),
                prefix=f"k{i}",
                atomic=False,
            )
        service = rig.start_service()
        wait(lambda: rig.stored() >= kept, 3600, poll_s=0.5)
        time.sleep(12)  # one more rescan sees everything kept
        cpu0 = cpu_s(service)
        time.sleep(seconds)
        return {
            "kept_files": kept,
            "idle_cpu_pct": (cpu_s(service) - cpu0) / seconds * 100,
            "rss_mb": service.memory_info().rss / 2**20,
        }


def raw_post(kind: str, count: int, concurrency: int = 8) -> dict[str, Any]:
    """Scenario 7a: the same server driven by a minimal client (the HTTP ceiling)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "server.sqlite", token="bench")
        try:
            make = minimal_report if kind == "small" else rich_report
            bodies = [make(f"RAW-{i}").to_wsjf() for i in range(count)]
            process, client = psutil.Process(server.proc.pid), psutil.Process()
            cpu0, client0 = cpu_s(process), cpu_s(client)
            started = time.perf_counter()
            asyncio.run(_post_all(server.url, bodies, concurrency))
            elapsed = time.perf_counter() - started
            return {
                "posts_per_s": count / elapsed,
                "server_cpu_ms": (cpu_s(process) - cpu0) / count * 1000,
                # the floor of any aiohttp client: a POST of a ready body, nothing else
                "client_cpu_ms": (cpu_s(client) - client0) / count * 1000,
            }
        finally:
            server.close()


async def _post_all(url: str, bodies: list[bytes], concurrency: int) -> None:
    queue = list(reversed(bodies))

    async def client() -> None:
        async with aiohttp.ClientSession(headers={"Authorization": "Basic bench"}) as session:
            while queue:
                async with session.post(url + "/api/Report/WSJF", data=queue.pop()) as r:
                    assert r.status == 200, await r.text()

    await asyncio.gather(*(client() for _ in range(concurrency)))


def raw_fs(count: int) -> dict[str, Any]:
    """Scenario 7b: the file-system ceiling: write + fsync + rename + unlink of 1 KB files."""
    data = minimal_report().to_wsjf()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        for i in range(count):
            path = folder / f"f{i}.json"
            write_atomically_fsync(path, data)
            path.unlink()
        return {"ops_per_s": count / (time.perf_counter() - started)}


def write_atomically_fsync(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
