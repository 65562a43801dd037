"""A stand-in WATS server: answers each report POST after a fixed delay, at next to no CPU.

`python -m bench.standin --delay-ms 20 [--port N]` prints `listening on http://127.0.0.1:N`.

It is a plain asyncio protocol speaking HTTP/1.1 with keep-alive, so the benchmark measures the
service against a server that is slow to answer (as a remote WATS server is) without spending
the machine's CPU on validating and storing. Each POST to `/api/Report/WSJF` is answered 200
with the JSON a WATS server (and the local server, `server/api.py`) gives, naming the report:
`{"ID": id, "uuid": id, "Report_ID": n}`. `GET /api/App/Version` answers the version and
`GET /_admin/counters` `{"stored": <distinct report ids>}` (what `Rig.stored()` reads).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re

VERSION = b'"2025.3.0.0"'
REPORT_ID = re.compile(rb'"id"\s*:\s*"([0-9A-Fa-f-]{32,36})"')
HEADER_END = b"\r\n\r\n"


class StandIn:
    """The state shared by all connections: the delay and the ids seen."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.ids: dict[bytes, int] = {}

    def answer(self, method: bytes, path: bytes, body: bytes) -> tuple[int, bytes]:
        lower = path.lower()
        if method == b"POST" and lower.startswith(b"/api/report/wsjf"):
            # the report's own id sits in its first bytes (after `type`): no JSON parse needed
            match = REPORT_ID.search(body, 0, 4096) or REPORT_ID.search(body)
            if match is None:
                return 400, b'"Report validation failed: id: missing"'
            rid = match.group(1).decode().lower()
            row = self.ids.setdefault(rid.encode(), len(self.ids) + 1)
            return 200, json.dumps({"ID": rid, "uuid": rid, "Report_ID": row}).encode()
        if method == b"GET" and lower.startswith(b"/api/app/version"):
            return 200, VERSION
        if method == b"GET" and lower.startswith(b"/_admin/counters"):
            return 200, json.dumps({"stored": len(self.ids)}).encode()
        return 404, b'"no such endpoint"'


class Connection(asyncio.Protocol):
    """One client connection: requests are answered in order (a client does not pipeline)."""

    def __init__(self, server: StandIn) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        end = self.buffer.find(HEADER_END)
        if end < 0:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        method, path, _ = head[0].split(b" ", 2)
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        if len(self.buffer) < end + 4 + length:
            return  # the rest of the body is still on its way
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        close = headers.get(b"connection", b"").lower() == b"close"
        status, payload = self.server.answer(method, path, body)
        self.busy = True
        delay = self.server.delay_s if method == b"POST" else 0.0
        loop = asyncio.get_running_loop()
        loop.call_later(delay, self._respond, status, payload, close)

    def _respond(self, status: int, payload: bytes, close: bool) -> None:
        self.busy = False
        if self.transport is None or self.transport.is_closing():
            return
        reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"Content-Length: %d\r\n%s\r\n%s"
            % (status, reason, len(payload), b"Connection: close\r\n" if close else b"", payload)
        )
        if close:
            self.transport.close()
        else:
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(delay_ms: float, port: int) -> None:
    state = StandIn(delay_ms / 1000)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(state), "127.0.0.1", port)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{bound} (answers after {delay_ms:g} ms)", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.standin", description=__doc__)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.delay_ms, args.port))


if __name__ == "__main__":
    main()
