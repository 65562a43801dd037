"""The connections of one client to one server: opened on demand up to a limit, kept alive for
reuse, each carrying one request at a time.

Everything that is not a complete HTTP answer in time (refused or reset connections, a TLS
failure, garbage, a half answer, a trickle past the deadline) raises `HttpError` with a message
that says what happened; a server certificate that does not verify raises `UntrustedCertificate`.

Why not aiohttp's client: the service posts one report per file, and a POST through aiohttp's
request and response objects, tracing hooks, cookie and redirect handling and stream reader
costs the WATS client about three times the CPU it costs here (`python -m bench.client
--compare`; a tuned aiohttp session, no cookie jar and fewer headers, saves a tenth). Here a
request is one `transport.write` of a prebuilt head and the body, its answer one parse of bytes
that usually arrive in one piece.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from wats_converter.http1.framing import Framing, HttpError, Response

KEEPALIVE_S = 15.0
"""An idle connection older than this is closed, not reused: most servers close idle ones later
(the local server after 30 s, nginx 75 s, IIS 120 s), so a reused connection rarely races the
server's own close. A server that closes sooner is seen closing (`connection_lost`), and a close
that crosses a request is retried once (`ConnectionPool.request`)."""


class UntrustedCertificate(HttpError):
    """The server's TLS certificate does not verify against the trusted CAs."""


class ClosedBeforeAnswer(HttpError):
    """The server closed the connection before it sent a byte of an answer."""


def tls_context(verify: bool) -> ssl.SSLContext:
    """The system's trusted CAs (and `SSL_CERT_FILE`), or, with `verify` off, no checks."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _Connection(asyncio.Protocol):
    """One connection: at most one request at a time, its answer parsed as it arrives."""

    def __init__(self, pool: ConnectionPool, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.framing: Framing | None = None  # while an answer is awaited
        self.waiter: asyncio.Future[Response] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.reused = False
        self.idle = False
        self.idle_since = 0.0
        self.counted = True  # holds one of the pool's slots until dropped
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, head: bytes, body: bytes, deadline: float) -> asyncio.Future[Response]:
        """Write one request; the future gets its answer (or its `HttpError`)."""
        assert self.transport is not None
        self.framing = Framing(self.pool.max_body)
        self.waiter = waiter = self.loop.create_future()
        self.timer = self.loop.call_at(deadline, self._expired)
        self.transport.write(head + body)  # one send: a copy costs less than a second syscall
        return waiter

    def data_received(self, data: bytes) -> None:
        framing = self.framing
        if framing is None:  # bytes nobody asked for: the stream is in no known state
            self.abort()
            return
        try:
            response = framing.feed(data)
        except HttpError as exc:
            self._settle(exc)
            self.abort()
            return
        if response is not None:
            self._settle(response)

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        framing = self.framing
        if framing is None:
            if self.idle:
                self.pool.forget_idle(self)
            return
        if framing.received == 0:
            reason = f" ({exc})" if exc else ""
            self._settle(ClosedBeforeAnswer(f"the server closed the connection{reason}"))
            return
        try:
            outcome: Response | HttpError = framing.closed()
        except HttpError as error:
            outcome = error
        self._settle(outcome)

    def _expired(self) -> None:
        got = self.framing.received if self.framing is not None else 0
        self._settle(
            HttpError(
                f"no complete answer within {self.pool.timeout_s:g} s ({got} bytes of it came)"
            )
        )
        self.abort()

    def _settle(self, outcome: Response | HttpError) -> None:
        waiter, self.waiter, self.framing = self.waiter, None, None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if waiter is None or waiter.done():
            return
        if isinstance(outcome, Response):
            waiter.set_result(outcome)
        else:
            waiter.set_exception(outcome)

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int
    prefix: str  # a path the server's API sits under, e.g. `/wats`
    authority: str  # the Host header

    @classmethod
    def parse(cls, url: str) -> _Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        authority = shown if port == default else f"{shown}:{port}"
        return cls(parts.scheme, host, port, parts.path.rstrip("/"), authority)


class ConnectionPool:
    """Requests to one server over at most `limit` connections, each kept alive for reuse."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        *,
        limit: int,
        timeouts: tuple[float, float],
        verify_tls: bool = True,
        max_body: int = 64 * 1024,
    ) -> None:
        """`url`: scheme, host, port and an optional path prefix; `headers`: sent with every
        request; `timeouts`: (connect, total) in seconds, the total for the whole request,
        waiting for a free connection included."""
        self.origin = _Origin.parse(url)
        self.limit = limit
        self.connect_timeout_s, self.timeout_s = timeouts
        self.max_body = max_body
        self._tls = tls_context(verify_tls) if self.origin.scheme == "https" else None
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._common = f"Host: {self.origin.authority}\r\n{extra}".encode()
        self._heads: dict[tuple[str, str], bytes] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[_Connection] = []
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._open = 0  # connections that hold a slot: busy, idle or being opened

    async def request(self, method: str, path: str, body: bytes = b"") -> Response:
        """Send one request and return the complete answer (its body cut at `max_body`)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._adopt(loop)
        deadline = loop.time() + self.timeout_s
        head = self._head(method, path, body)
        conn = await self._acquire(loop, deadline)
        while True:
            try:
                response = await conn.send(head, body, deadline)
            except ClosedBeforeAnswer:
                if not conn.reused:
                    self._drop(conn)
                    raise
                # A kept-alive connection the server closed while it was idle (or just as the
                # request went out): try once more on a new connection. A repeat is safe here
                # even if the server did see the first one: this pool carries WATS's requests,
                # a report's id is deterministic (converters/ids.py) and WATS stores by id, so
                # a second POST of it overwrites the first.
                conn = await self._replace(conn, loop, deadline)
                continue
            except BaseException:
                self._drop(conn)
                raise
            self._release(conn, response.keep_alive)
            return response

    async def aclose(self) -> None:
        """Close the idle connections; the pool opens new ones if it is used again."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.idle = False
            self._drop(conn, graceful=True)

    def _head(self, method: str, path: str, body: bytes) -> bytes:
        prefix = self._heads.get((method, path))
        if prefix is None:
            target = f"{method} {self.origin.prefix}{path} HTTP/1.1\r\n".encode()
            prefix = self._heads[(method, path)] = target + self._common
        if body or method in ("POST", "PUT"):
            return b"%sContent-Length: %d\r\n\r\n" % (prefix, len(body))
        return prefix + b"\r\n"

    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new event loop (a second `asyncio.run`): the old loop's connections are gone."""
        self._loop = loop
        self._idle, self._waiters, self._open = [], collections.deque(), 0

    async def _acquire(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        while True:
            conn = self._take_idle(loop.time())
            if conn is not None:
                return conn
            if loop.time() >= deadline:  # woken only at the deadline
                raise HttpError(self._no_turn())
            if self._open < self.limit:
                self._open += 1
                try:
                    return await self._connect(loop, deadline)
                except BaseException:
                    self._free_slot()
                    raise
            await self._wait_turn(loop, deadline)

    def _take_idle(self, now: float) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the least likely to be stale
            conn.idle = False
            if conn.usable() and now - conn.idle_since < KEEPALIVE_S:
                conn.reused = True
                return conn
            self._drop(conn, graceful=True)
        return None

    async def _wait_turn(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # woken, then cancelled or timed out in the same turn: the turn goes to the
                # next in line, or a free connection waits unused for its deadline
                self._wake()
            if isinstance(exc, TimeoutError):
                raise HttpError(self._no_turn()) from None
            raise

    def _no_turn(self) -> str:
        return f"no free connection within {self.timeout_s:g} s (all {self.limit} busy)"

    def _total(self) -> str:
        return f"{self.timeout_s:g} s (the request's total timeout)"

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        origin = self.origin
        limit = min(self.connect_timeout_s, max(deadline - loop.time(), 0.0))
        where = f"{origin.host}:{origin.port}"
        try:
            async with asyncio.timeout(limit):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, loop),
                    origin.host,
                    origin.port,
                    ssl=self._tls,
                )
        except ssl.SSLCertVerificationError as exc:
            raise UntrustedCertificate(f"{where}: {exc.verify_message or exc}") from exc
        except TimeoutError:
            # the request's own deadline may be what cut the connect short: say that one
            shown = f"{limit:g} s" if limit == self.connect_timeout_s else self._total()
            raise HttpError(f"cannot connect to {where}: no connection within {shown}") from None
        except OSError as exc:  # refused, unreachable, no such host, a failed TLS handshake
            raise HttpError(f"cannot connect to {where}: {exc}") from exc
        return conn

    async def _replace(
        self, conn: _Connection, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> _Connection:
        """A new connection in the slot of `conn`, which is closed."""
        conn.counted = False
        conn.abort()
        try:
            return await self._connect(loop, deadline)
        except BaseException:
            self._free_slot()
            raise

    def _release(self, conn: _Connection, keep_alive: bool) -> None:
        if keep_alive and conn.usable():
            conn.idle, conn.idle_since = True, conn.loop.time()
            self._idle.append(conn)
            self._wake()
        else:
            self._drop(conn, graceful=True)

    def forget_idle(self, conn: _Connection) -> None:
        """The server closed `conn` while it was idle."""
        conn.idle = False
        if conn in self._idle:
            self._idle.remove(conn)
        self._drop(conn)

    def _drop(self, conn: _Connection, graceful: bool = False) -> None:
        if graceful:
            conn.close()
        else:
            conn.abort()
        if conn.counted:
            conn.counted = False
            self._free_slot()

    def _free_slot(self) -> None:
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
