"""The HTTP boundary to the WATS server: the only module that knows aiohttp's client errors.

Every failure becomes one of three classes (errors.py): `ServerUnavailable` (transient: retry),
`ReportRejected` (this report can never be accepted), `SubmissionPaused` (the whole client is
refused: bad token, no permission, wrong URL, untrusted certificate).
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

import aiohttp

from wats_converter.errors import ReportRejected, ServerUnavailable, SubmissionPaused
from wats_converter.failpoints import failpoint

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
REJECT_STATUS = {400, 409, 413, 415, 422}
PAUSE_STATUS = {401, 403, 404, 405}
MAX_RETRY_AFTER_S = 3600.0
MAX_ERROR_TEXT = 500


def api_base(url: str) -> str:
    """Normalise a configured server URL: no trailing slash and no trailing `/api`."""
    url = url.strip().rstrip("/")
    return url[: -len("/api")] if url.lower().endswith("/api") else url


@dataclass(frozen=True)
class ServerProbe:
    """What one authenticated `GET /api/App/Version` learned about the server."""

    version: str
    clock_skew_s: float | None
    """Server clock minus ours (from the `Date` header, 1 s resolution); None without one."""
    round_trip_s: float


class WatsClient:
    """Posts WSJF reports; one pooled connection session for the life of the service."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        connect_timeout_s: float = 10.0,
        timeout_s: float = 60.0,
        verify_tls: bool = True,
        max_connections: int = 8,
    ) -> None:
        self.base = api_base(url)
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Basic {token}"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=connect_timeout_s)
        self._verify_tls = verify_tls
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=self._verify_tls)
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=connector
            )
        return self._session

    async def submit(self, body: bytes) -> None:
        """POST one WSJF report. Returns on 2xx; raises a `SubmitError` subclass otherwise."""
        url = f"{self.base}/api/Report/WSJF"
        try:
            async with self._client().post(url, data=body) as resp:
                failpoint("after_request_sent")
                if 200 <= resp.status < 300:
                    await resp.read()
                    return
                text = (await resp.text(errors="replace"))[:MAX_ERROR_TEXT].strip()
                raise classify_status(resp.status, text, resp.headers.get("Retry-After"))
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SubmissionPaused(f"TLS certificate of {self.base} is not trusted: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise ServerUnavailable(f"{type(exc).__name__}: {exc or 'no answer'}") from exc

    async def version(self) -> str:
        """`GET /api/App/Version`: proves the server is reachable and the token accepted."""
        return (await self.probe()).version

    async def probe(self) -> ServerProbe:
        """`GET /api/App/Version` with the token, timed, with the server's clock from `Date`."""
        sent = time()
        try:
            async with self._client().get(f"{self.base}/api/App/Version") as resp:
                text = await resp.text(errors="replace")
                if resp.status != 200:
                    raise classify_status(
                        resp.status, text[:MAX_ERROR_TEXT], resp.headers.get("Retry-After")
                    )
                answered = time()
                skew, date = None, resp.headers.get("Date")
                if date:
                    with contextlib.suppress(TypeError, ValueError):
                        # Date has whole seconds: its middle, not its start, is the estimate
                        server = parsedate_to_datetime(date).timestamp() + 0.5
                        skew = server - (sent + answered) / 2
                return ServerProbe(text.strip().strip('"'), skew, answered - sent)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SubmissionPaused(f"TLS certificate of {self.base} is not trusted: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise ServerUnavailable(f"{type(exc).__name__}: {exc or 'no answer'}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def classify_status(status: int, text: str, retry_after: str | None) -> Exception:
    """The error class for a non-2xx answer."""
    detail = f"HTTP {status}: {text}" if text else f"HTTP {status}"
    if status in REJECT_STATUS:
        return ReportRejected(detail, status=status)
    if status in PAUSE_STATUS:
        hint = {
            401: "the token is wrong or expired (server.token)",
            403: "the token has no permission to submit reports",
            404: "the server URL looks wrong (server.url)",
            405: "the server URL looks wrong (server.url)",
        }[status]
        return SubmissionPaused(f"{detail} ({hint})")
    return ServerUnavailable(detail, retry_after_s=parse_retry_after(retry_after))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at an hour."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
