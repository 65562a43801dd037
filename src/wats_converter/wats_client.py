"""The HTTP boundary to the WATS server: the only module that knows aiohttp's client errors.

Every failure becomes one of three classes (errors.py): `ServerUnavailable` (transient: retry),
`ReportRejected` (this report can never be accepted), `SubmissionPaused` (the whole client is
refused: bad token, no permission, wrong URL, untrusted certificate).

A 2xx alone is not a delivery: a maintenance page, a captive portal, a proxy or a web app at a
wrong URL all answer 200. A report counts as stored only when the answer is WATS's JSON result
naming that report (`{"ID": <id>, "uuid": ..., "Report_ID": ...}`); any other answer pauses
submission with a message that says what answered, and the reports wait in pending/.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

import aiohttp

from wats_converter.errors import ReportRejected, ServerUnavailable, SubmissionPaused
from wats_converter.failpoints import failpoint

REJECT_STATUS = {400, 409, 413, 415, 422}
PAUSE_STATUS = {401, 403, 404, 405}
MAX_RETRY_AFTER_S = 3600.0
MAX_ERROR_TEXT = 500
MAX_ANSWER_BYTES = 64 * 1024  # a WATS answer is a few hundred bytes; a page is cut off


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

    @property
    def max_connections(self) -> int:
        """How many POSTs may be in flight at once: one keep-alive connection each."""
        return self._max_connections

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # one connection more than the POSTs in flight: the pause probe never waits
            connector = aiohttp.TCPConnector(limit=self._max_connections + 1, ssl=self._verify_tls)
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=connector
            )
        return self._session

    async def submit(self, body: bytes, report_id: str) -> None:
        """POST one WSJF report. Returns when the server answered that it stored `report_id`;
        raises a `SubmitError` subclass otherwise."""
        url = f"{self.base}/api/Report/WSJF"
        try:
            async with self._client().post(url, data=body) as resp:
                failpoint("after_request_sent")
                if 200 <= resp.status < 300:
                    answer = await resp.content.read(MAX_ANSWER_BYTES)
                    check_insert_result(resp.status, resp.content_type, answer, report_id)
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
                text = (await resp.content.read(MAX_ANSWER_BYTES)).decode(errors="replace")
                if resp.status != 200:
                    raise classify_status(
                        resp.status, text[:MAX_ERROR_TEXT], resp.headers.get("Retry-After")
                    )
                try:
                    version = json.loads(text)
                except ValueError:
                    version = None
                if not isinstance(version, str | dict):
                    raise not_wats(resp.status, resp.content_type, text.encode(), "a version")
                answered = time()
                skew, date = None, resp.headers.get("Date")
                if date:
                    with contextlib.suppress(TypeError, ValueError):
                        # Date has whole seconds: its middle, not its start, is the estimate
                        server = parsedate_to_datetime(date).timestamp() + 0.5
                        skew = server - (sent + answered) / 2
                shown = version if isinstance(version, str) else json.dumps(version)
                return ServerProbe(shown, skew, answered - sent)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SubmissionPaused(f"TLS certificate of {self.base} is not trusted: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise ServerUnavailable(f"{type(exc).__name__}: {exc or 'no answer'}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def check_insert_result(status: int, content_type: str, answer: bytes, report_id: str) -> None:
    """Raise `SubmissionPaused` unless `answer` is WATS's insert result naming `report_id`."""
    try:
        result = json.loads(answer)
    except ValueError:
        raise not_wats(status, content_type, answer, "a report result") from None
    if isinstance(result, list) and len(result) == 1:
        result = result[0]  # some servers wrap the result in a list
    named = (
        {str(result.get(k, "")).strip("{}").lower() for k in ("ID", "id", "uuid")}
        if isinstance(result, dict)
        else set()
    )
    if report_id.lower() not in named:
        raise not_wats(status, content_type, answer, f"a result naming report {report_id}")


def not_wats(status: int, content_type: str, answer: bytes, expected: str) -> SubmissionPaused:
    snippet = " ".join(answer[:120].decode(errors="replace").split())
    return SubmissionPaused(
        f"the server answered HTTP {status} {content_type or 'without a content type'} "
        f"({snippet!r}), not WATS's JSON with {expected}: server.url may point at a proxy, a "
        "portal, a maintenance page or another web application; nothing counts as delivered"
    )


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
