"""A real server on 127.0.0.1 (TCP, or TLS with a certificate made in the test) whose answers
each test scripts byte by byte: the framing cases, broken answers and closes that a real HTTP
server library would never produce on purpose."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from wats_converter.testing import minimal_report
from wats_converter.wats_client import WatsClient


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[["Scripted", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Scripted:
    """`async with Scripted(handler) as server:` serves each connection with `handler`."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0  # accepted so far
        self.open = 0
        self.peak = 0  # the most connections open at once
        self.requests: list[Request] = []
        self.writers: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def __aenter__(self) -> Scripted:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        self.writers.add(writer)
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.open -= 1
            self.writers.discard(writer)
            writer.close()

    async def read(self, reader: asyncio.StreamReader) -> Request | None:
        """The next request on a connection; None when the client closed it."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        line, *rest = head.decode("latin-1").split("\r\n")
        headers = {}
        for text in filter(None, rest):
            name, _, value = text.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        request = Request(line, headers, body)
        self.requests.append(request)
        return request


def report() -> tuple[str, bytes]:
    r = minimal_report("HTTP")
    return str(r.id), r.to_wsjf()


async def submit(client: WatsClient) -> None:
    """POST one report through `client`."""
    report_id, body = report()
    await client.submit(body, report_id)


def insert_result(request: Request) -> bytes:
    """WATS's answer to a report POST: the JSON naming the report."""
    report_id = json.loads(request.body)["id"]
    return json.dumps({"ID": report_id, "uuid": report_id, "Report_ID": 1}).encode()


def answer(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    """A complete answer framed by Content-Length."""
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def keep_alive(make: Callable[[Request], bytes]) -> Handler:
    """Answer every request on a connection with `make(request)`, until the client closes."""

    async def handler(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await server.read(reader)) is not None:
            writer.write(make(request))
            await writer.drain()

    return handler


async def silent(
    server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Read the request, then never answer (a server that hangs)."""
    await server.read(reader)
    await asyncio.sleep(10)
