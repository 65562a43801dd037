"""Who may talk to the local server, and how long a connection may take to say what it wants.

The server holds test results and, with `--admin`, can wipe them; on a station it is reachable
by every process and every web page the operator opens. So (docs/local-server.md, "Security"):

- **Token** (`--token`, and always for the embedded server): every route needs it, the pages and
  `/_admin/*` as well as `/api/*`. Accepted as WATS sends it (`Authorization: Basic <token>`)
  or as a browser sends a password (`Basic base64(any-user:<token>)`); compared in constant time.
- **Host header**: bound to loopback, only loopback names are answered (`localhost`,
  `127.0.0.1`, `[::1]`), so a DNS-rebinding page cannot read the pages through its own name.
- **Cross-site requests**: a state-changing request (`POST`, `DELETE`, ...) whose `Origin` or
  `Sec-Fetch-Site` says another site sent it is refused; a report POST with a content type a
  web page may send cross-site without a CORS preflight (text/plain, a form, none) is refused
  (415): WATS clients send application/json or XML, which need a preflight this server never
  grants, so a page cannot inject results even without a token.
- **Slow clients**: a connection that has not finished its first request's headers within
  `header_timeout_s`, or that sits `idle_timeout_s` after its last request without a complete
  new one, is closed (slowloris). The idle limit is longer than a client's keep-alive (aiohttp:
  15 s), so clients close idle connections first and never race the server's close.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# the request content types a browser sends cross-site without asking the server first
CROSS_SITE_TYPES = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
REALM = 'Basic realm="wats-converter local server", charset="UTF-8"'
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether a bind address or host name is loopback-only."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_matches(header: str, token: str) -> bool:
    """Whether an `Authorization` header carries `token` (WATS style, or a browser's Basic
    user:password with the token as password). Constant time in the token's value."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    value = value.strip()
    expected = token.encode()
    if hmac.compare_digest(value.encode(), expected):
        return True
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    _, colon, password = decoded.partition(b":")
    return bool(colon) and hmac.compare_digest(password, expected)


def _host_name(request: web.Request) -> str:
    host = request.headers.get("Host", "")
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def cross_site(request: web.Request) -> bool:
    """Whether a browser tells us another site sent this request."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin in ("null", "") or origin.rstrip("/") != f"{request.scheme}://{request.host}"


def report_content_type_ok(request: web.Request) -> bool:
    """Not a type a web page may send cross-site without a CORS preflight (text/plain, the
    two form encodings, or no type at all): WATS clients send application/json or XML."""
    declared = "Content-Type" in request.headers
    return declared and request.content_type not in CROSS_SITE_TYPES


@dataclass
class _ConnState:
    since: float  # connected, or the last request began or ended
    started: int = 0  # requests whose headers arrived
    active: int = 0  # requests being handled now


class Guard:
    """The checks above as one aiohttp middleware, plus the slow-client watch."""

    def __init__(
        self,
        token: str | None,
        *,
        loopback: bool,
        header_timeout_s: float = 10.0,
        idle_timeout_s: float = 30.0,
    ) -> None:
        self.token = token
        self.loopback = loopback
        self.header_timeout_s = header_timeout_s
        self.idle_timeout_s = idle_timeout_s
        # open connections (aiohttp's handlers are not weakly referenceable): each entry goes
        # at its connection's next look after it closed
        self._conns: dict[RequestHandler, _ConnState] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self._conns.get(request.protocol) if request.protocol is not None else None
        if state is not None:
            state.started += 1
            state.active += 1
        try:
            refused = self._refusal(request)
            return refused if refused is not None else await handler(request)
        finally:
            if state is not None:
                state.active -= 1
                state.since = asyncio.get_running_loop().time()

    def _refusal(self, request: web.Request) -> web.StreamResponse | None:
        if self.loopback and not is_loopback(_host_name(request)):
            # DNS rebinding: a page at evil.example resolved to 127.0.0.1 sends its own Host
            return web.Response(
                status=421, text="this server answers only to localhost / 127.0.0.1 / [::1]"
            )
        path = request.path.lower()
        is_api = path.startswith("/api/")
        if self.token is not None and not token_matches(
            request.headers.get("Authorization", ""), self.token
        ):
            if is_api:
                return web.Response(
                    status=401,
                    text="Unauthorized: send 'Authorization: Basic <token>' "
                    "with a token from Control Panel > Tokens",
                )
            return web.Response(
                status=401,
                headers={"WWW-Authenticate": REALM},
                text="Unauthorized: sign in with any user name and the server's token as "
                "the password",
            )
        if request.method not in SAFE_METHODS and cross_site(request):
            return web.Response(status=403, text="cross-site requests are refused")
        report_post = path.rstrip("/") in ("/api/report/wsjf", "/api/report/wsxf")
        if request.method == "POST" and report_post and not report_content_type_ok(request):
            return web.Response(
                status=415,
                text="a report POST needs Content-Type application/json (WSJF) or "
                f"application/xml (WSXF), not {request.headers.get('Content-Type', 'none')}",
            )
        return None

    def protocol_factory(self, make: Callable[[], RequestHandler]) -> Callable[[], RequestHandler]:
        """Wrap aiohttp's protocol factory: each connection is watched for slow headers."""
        loop = asyncio.get_running_loop()

        def factory() -> RequestHandler:
            handler = make()
            self._conns[handler] = _ConnState(loop.time())
            loop.call_later(self.header_timeout_s, self._look, handler, loop)
            return handler

        return factory

    def _look(self, handler: RequestHandler, loop: asyncio.AbstractEventLoop) -> None:
        state = self._conns.get(handler)
        if state is None or handler.transport is None or handler.transport.is_closing():
            self._conns.pop(handler, None)  # closed meanwhile
            return
        limit = self.idle_timeout_s if state.started else self.header_timeout_s
        waited = loop.time() - state.since
        if state.active == 0 and waited >= limit:
            # no complete request within the limit, and none is being handled
            handler.force_close()
            handler.transport.abort()
            self._conns.pop(handler, None)
            return
        again = limit - waited if state.active == 0 else self.header_timeout_s
        loop.call_later(max(0.05, again), self._look, handler, loop)
