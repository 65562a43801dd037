"""The local server's lifecycle: build the aiohttp app, listen, refuse for a while, stop.

Who may use it is decided in one place, `security.Guard` (token on every route, Host check on
loopback, no cross-site writes, slow clients cut off); see docs/local-server.md, "Security".
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from pydantic import ValidationError

from wats_converter.server.api import Api
from wats_converter.server.commit import GroupCommit
from wats_converter.server.faults import FaultPlan, Faults
from wats_converter.server.pages import (
    STORE_KEY,
    report_detail,
    report_list,
    report_raw,
    yield_summary,
)
from wats_converter.server.security import Guard, is_loopback
from wats_converter.server.store import ReportStore

log = logging.getLogger(__name__)
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
# a process sharing the socket waits this long per connection it holds before it accepts
ACCEPT_DEFER_S = 0.001
MAX_ACCEPT_DEFER_S = 0.02


class LocalServer:
    """A WATS-compatible server on one asyncio loop.

    Args:
        store: where reports are kept.
        token: the accepted `Authorization: Basic <token>`, needed by every route (the pages
            and `/_admin/*` too); None accepts any client (bind to loopback then).
        admin: serve `/_admin/*` (fault plan and counters) for tests and benchmarks.
        header_timeout_s: a connection that has not sent a request's headers within this
            long is closed.
    """

    def __init__(
        self,
        store: ReportStore,
        *,
        token: str | None = None,
        admin: bool = False,
        faults: Faults | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        header_timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self.token = token
        self.faults = faults or Faults()
        self.guard = Guard(token, loopback=True, header_timeout_s=header_timeout_s)
        self.commits = GroupCommit(store)
        self.api = Api(self.commits, self.faults, self.refuse_for)
        self.app = web.Application(
            client_max_size=max_body_bytes, middlewares=[self.guard.middleware]
        )
        self.app[STORE_KEY] = store
        self.app.router.add_route("*", "/{api:(?i:api)}/{tail:.*}", self.api.dispatch)
        self.app.router.add_get("/", report_list)
        self.app.router.add_get("/reports/{id}", report_detail)
        self.admin = admin
        self.app.router.add_get("/reports/{id}/wsjf", report_raw)
        self.app.router.add_get("/yield", yield_summary)
        if admin:
            self.app.router.add_get("/_admin/counters", self._counters)
            self.app.router.add_post("/_admin/faults", self._set_faults)
            self.app.router.add_delete("/_admin/faults", self._clear_faults)
            self.app.router.add_post("/_admin/reset", self._reset)
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        self._listener: asyncio.Server | None = None
        self._refusal: asyncio.Task[None] | None = None
        self._shared: socket.socket | None = None
        self._accepting: set[asyncio.Task[Any]] = set()
        self._accept_timer: asyncio.TimerHandle | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, shared: socket.socket | None = None
    ) -> str:
        """Listen on host:port (0 picks a free port); return the base URL. `shared`: accept
        from this listening socket instead, which sibling processes accept from too
        (`server.workers`); host and port are then the socket's."""
        await self._runner.setup()
        self.commits.start()
        self._shared = shared
        if shared is not None:
            host, port = shared.getsockname()[:2]
        self.host = host
        self.guard.loopback = is_loopback(host)
        if not self.guard.loopback and self.token is None:
            log.warning(
                "listening on %s without a token: anyone who can reach this address can read "
                "and submit reports%s; give it --token",
                host,
                " and reset the store" if self.admin else "",
            )
        await self._listen(port)
        return self.url

    async def _listen(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        assert self._runner.server is not None
        factory = self.guard.protocol_factory(self._runner.server)
        if self._shared is not None:
            loop.add_reader(self._shared, self._on_connection, self._shared, factory)
            self.port = port
            return
        self._listener = await loop.create_server(factory, self.host, port, reuse_address=True)
        self.port = self._listener.sockets[0].getsockname()[1]

    def _on_connection(self, sock: socket.socket, factory: Callable[[], RequestHandler]) -> None:
        """A connection waits on the shared socket: every free process wakes, and the one with
        the fewest connections takes it, since each waits `ACCEPT_DEFER_S` for every
        connection it holds first (the kernel would give a burst to whichever woke first)."""
        loop = asyncio.get_running_loop()
        assert self._runner.server is not None
        held = len(self._runner.server.connections)
        loop.remove_reader(sock)
        delay = min(held * ACCEPT_DEFER_S, MAX_ACCEPT_DEFER_S)
        self._accept_timer = loop.call_later(delay, self._accept_one, sock, factory)

    def _accept_one(self, sock: socket.socket, factory: Callable[[], RequestHandler]) -> None:
        loop = asyncio.get_running_loop()
        self._accept_timer = None
        loop.add_reader(sock, self._on_connection, sock, factory)
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return  # a sibling process took it
        except OSError as exc:  # out of descriptors, say: try again in a second, as asyncio does
            log.warning("local server: accept failed: %s", exc)
            loop.remove_reader(sock)
            self._accept_timer = loop.call_later(1.0, self._accept_one, sock, factory)
            return
        conn.setblocking(False)
        task = loop.create_task(loop.connect_accepted_socket(factory, conn))
        self._accepting.add(task)
        task.add_done_callback(self._accepting.discard)

    def refuse_for(self, seconds: float) -> None:
        """Stop accepting connections (and drop open ones) for `seconds`. The server owns the
        timer: a newer refusal replaces it, and `stop` cancels it (it never listens again after
        its runner was cleaned up)."""
        if self._refusal is not None:
            self._refusal.cancel()
        self._refusal = asyncio.get_running_loop().create_task(self._refuse(seconds))

    async def _refuse(self, seconds: float) -> None:
        await self.stop_listening()
        await asyncio.sleep(seconds)
        await self.resume_listening()

    async def stop_listening(self) -> None:
        """Close the listener and every open connection: clients see connection refused."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._accept_timer is not None:
            self._accept_timer.cancel()
            self._accept_timer = None
        if self._shared is not None and self._shared.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self._shared)
        assert self._runner.server is not None
        for conn in list(self._runner.server.connections):
            conn.force_close()
            if conn.transport is not None:
                conn.transport.abort()

    async def resume_listening(self) -> None:
        if self._listener is None:
            await self._listen(self.port)

    async def stop(self) -> None:
        refusal, self._refusal = self._refusal, None
        if refusal is not None:
            refusal.cancel()
            await asyncio.gather(refusal, return_exceptions=True)
        await self.stop_listening()
        await self._runner.cleanup()
        await self.commits.stop()  # after the last request: each one got its answer

    async def _counters(self, request: web.Request) -> web.Response:
        if "brief" in request.query:  # cheap enough to poll while thousands of reports arrive
            return web.json_response({"stored": self.store.count(), "invalid": self.store.invalid})
        return web.json_response(self.counters())

    def counters(self) -> dict[str, Any]:
        return {
            "stored": self.store.count(),
            "posts": dict(self.store.posts),
            "invalid": self.store.invalid,
            "receive_counts": self.store.receive_counts(),
            "faults": self.faults.pending(),
            "commits": self.commits.batches,  # transactions: stored / commits = group size
        }

    async def _set_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults.load(FaultPlan.validate_python(json.loads(await request.read())))
        except (ValidationError, ValueError) as exc:
            return web.Response(status=400, text=f"bad fault plan: {exc}")
        return web.json_response(self.faults.pending())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response([])

    async def _reset(self, request: web.Request) -> web.Response:
        self.store.reset()
        self.faults.clear()
        return web.json_response({"stored": 0})
