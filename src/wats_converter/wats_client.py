"""The WATS REST API as the service uses it: what an answer means (http1 carries the bytes).

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
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

from wats_converter import __version__
from wats_converter.errors import ReportRejected, ServerUnavailable, SubmissionPaused
from wats_converter.failpoints import failpoint
from wats_converter.http1 import ConnectionPool, HttpError, Response, UntrustedCertificate

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
    """Posts WSJF reports over keep-alive connections kept for the life of the service."""

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
        headers = {
            "User-Agent": f"wats-converter/{__version__}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self._refused = token_problem(token)
        if token and not self._refused:
            headers["Authorization"] = f"Basic {token}"
        self._max_connections = max_connections
        # one connection more than the POSTs in flight: the pause probe never waits
        self._pool = ConnectionPool(
            self.base,
            headers,
            limit=max_connections + 1,
            timeouts=(connect_timeout_s, timeout_s),
            verify_tls=verify_tls,
            max_body=MAX_ANSWER_BYTES,
        )

    @property
    def max_connections(self) -> int:
        """How many POSTs may be in flight at once: one keep-alive connection each."""
        return self._max_connections

    async def submit(self, body: bytes, report_id: str) -> None:
        """POST one WSJF report. Returns when the server answered that it stored `report_id`;
        raises a `SubmitError` subclass otherwise."""
        resp = await self._request("POST", "/api/Report/WSJF", body)
        try:
            failpoint("after_request_sent")
        except OSError as exc:  # its `raise` mode: the answer is lost, as on a broken connection
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= resp.status < 300:
            check_insert_result(resp.status, resp.content_type, resp.body, report_id)
            return
        raise classify_status(resp.status, error_text(resp), resp.headers)

    async def version(self) -> str:
        """`GET /api/App/Version`: proves the server is reachable and the token accepted."""
        return (await self.probe()).version

    async def probe(self) -> ServerProbe:
        """`GET /api/App/Version` with the token, timed, with the server's clock from `Date`."""
        sent = time()
        resp = await self._request("GET", "/api/App/Version")
        answered = time()
        if resp.status != 200:
            raise classify_status(resp.status, error_text(resp), resp.headers)
        try:
            version = json.loads(resp.body)
        except ValueError:
            version = None
        if not isinstance(version, str | dict):
            raise not_wats(resp.status, resp.content_type, resp.body, "a version")
        skew, date = None, resp.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                # Date has whole seconds: its middle, not its start, is the estimate
                server = parsedate_to_datetime(date).timestamp() + 0.5
                skew = server - (sent + answered) / 2
        shown = version if isinstance(version, str) else json.dumps(version)
        return ServerProbe(shown, skew, answered - sent)

    async def aclose(self) -> None:
        """Close the kept-alive connections."""
        await self._pool.aclose()

    async def _request(self, method: str, path: str, body: bytes = b"") -> Response:
        if self._refused:
            raise SubmissionPaused(self._refused)
        try:
            return await self._pool.request(method, path, body)
        except UntrustedCertificate as exc:
            raise SubmissionPaused(f"TLS certificate of {self.base} is not trusted: {exc}") from exc
        except HttpError as exc:
            raise ServerUnavailable(str(exc)) from exc


def token_problem(token: str | None) -> str | None:
    """Why `token` cannot go into an Authorization header, or None when it can."""
    if not token:
        return None
    if not token.isprintable():
        return (
            "server.token has a line break or another control character (a WATS token is a "
            "base64 string): check the token or its variable"
        )
    return None


def error_text(resp: Response) -> str:
    """The start of an error answer's body, for the message."""
    return resp.body.decode(errors="replace")[:MAX_ERROR_TEXT].strip()


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


def classify_status(status: int, text: str, headers: Mapping[str, str]) -> Exception:
    """The error class for a non-2xx answer (`headers` with lower-case names)."""
    detail = f"HTTP {status}: {text}" if text else f"HTTP {status}"
    if 300 <= status < 400:
        # no redirect is followed: only server.url's own answer stores a report, and a
        # redirect does not go away by retrying (http:// to an https:// server, a moved one)
        where = headers.get("location") or "another URL"
        return SubmissionPaused(f"HTTP {status}: the server redirects to {where} (set server.url)")
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
    return ServerUnavailable(detail, retry_after_s=parse_retry_after(headers.get("retry-after")))


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
