"""The WATS REST endpoints a station client uses (spec §2), with the real paths and shapes.

Paths are matched case-insensitively, as on the real server.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from collections.abc import Callable, Mapping

import msgspec
from aiohttp import web

from wats_converter.errors import ConversionError, ReportValidationError
from wats_converter.formats.wsxf import report_from_wsxf_body
from wats_converter.report import UUTReport, check, finalize
from wats_converter.report.fast import read_wsjf
from wats_converter.server.commit import CommitClosed, GroupCommit
from wats_converter.server.faults import FaultRule, Faults
from wats_converter.server.store import QUERY_FIELDS, HeaderQuery, row_of

SERVER_VERSION = "2025.3.0.0"
MAX_TOP = 10_000
FILTER_TERM = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$")
_JSON = msgspec.json.Encoder()


class Api:
    """Request handlers; `refuse` is the server's hook to stop listening for a while.

    Who may call them is decided before they run, by `security.Guard` (the token on every
    route among the rest), so no handler checks it again.
    """

    def __init__(
        self, commits: GroupCommit, faults: Faults, refuse: Callable[[float], None]
    ) -> None:
        self.commits = commits
        self.store = commits.store
        self.faults = faults
        self.refuse = refuse

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"].lower().rstrip("/")
        if request.method == "POST" and path in ("report/wsjf", "report/wsxf"):
            return await self._faulty_post(request, path)
        if request.method == "GET":
            if path == "app/version":
                return await self._version(request)
            if path == "report/query/header":
                return await self._query_headers(request)
            if path.startswith("report/wsjf/"):
                return await self._get_report(request)
        raise web.HTTPNotFound(
            text=f"no endpoint {request.method} /api/{request.match_info['tail']}"
        )

    async def _faulty_post(self, request: web.Request, path: str) -> web.StreamResponse:
        # a fault rule is consumed only by an authorized post: a stranger cannot use up the plan
        rule = self.faults.take()
        if rule is not None:
            response = await self._apply_fault(rule, request)
            if response is not None:
                return response
        delay_s = rule.ms / 1000 if rule is not None and rule.mode == "delay" else 0.0
        response = await self._store(request, wsxf=path == "report/wsxf", delay_s=delay_s)
        if rule is not None and rule.mode == "drop_after_store":
            _drop_connection(request)
        return response

    async def _apply_fault(
        self, rule: FaultRule, request: web.Request
    ) -> web.StreamResponse | None:
        if rule.mode == "status":
            headers = (
                {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
            )
            return web.Response(
                status=rule.status or 500,
                headers=headers,
                text=f"injected fault: HTTP {rule.status}",
            )
        elif rule.mode in ("reset", "refuse"):
            if rule.mode == "refuse":
                self.refuse(rule.seconds)
            _drop_connection(request)
            return web.Response(status=500)  # never reaches the client
        return None

    async def _store(
        self, request: web.Request, wsxf: bool, delay_s: float = 0.0
    ) -> web.StreamResponse:
        try:
            body = await request.read()
        except ConnectionResetError:
            return web.Response(status=499)  # the client gave up; nobody reads this
        if delay_s:
            await asyncio.sleep(delay_s)  # a slow server: it still stores after the client left
        try:
            report = _parse_wsxf(body) if wsxf else _parse_wsjf(body)
            problems = check(report) + _required(report)
            if problems:
                raise ReportValidationError(problems)
        except ReportValidationError as exc:
            self.store.invalid += 1
            return web.Response(status=400, text=f"Report validation failed: {exc}")
        report_id = str(report.id)
        self.store.count_post(report_id)
        try:  # answered only once the report is committed to disk
            number = await self.commits.save(row_of(report, None if wsxf else body))
        except (sqlite3.Error, CommitClosed) as exc:
            return web.Response(status=503, text=f"the report could not be stored: {exc}")
        answer = {"ID": report_id, "uuid": report_id, "Report_ID": number}
        return web.Response(body=_JSON.encode(answer), content_type="application/json")

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(SERVER_VERSION)

    async def _get_report(self, request: web.Request) -> web.StreamResponse:
        report_id = request.match_info["tail"].rsplit("/", 1)[-1]
        try:
            uuid.UUID(report_id)
        except ValueError:
            return web.Response(status=400, text=f"{report_id!r} is not a report id (GUID)")
        body = self.store.get(report_id)
        if body is None:
            return web.Response(status=404, text=f"no report with id {report_id}")
        return web.json_response(body)

    async def _query_headers(self, request: web.Request) -> web.StreamResponse:
        try:
            query = parse_header_query(request.query)
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        return web.json_response(self.store.headers(query))


def _parse_wsjf(body: bytes) -> UUTReport:
    """A valid test report is decoded and checked by the fast path and stored as sent, never
    re-serialised; anything else is read by the model, whose errors name every bad field."""
    return read_wsjf(body) or UUTReport.from_wsjf(body)


def _parse_wsxf(body: bytes) -> UUTReport:
    """A REST WSXF body holds one <Report>; it is completed as the WATS converter would."""
    try:
        return finalize(report_from_wsxf_body(body))
    except ConversionError as exc:
        raise ReportValidationError([f"WSXF: {exc}"]) from None


def _required(report: UUTReport) -> list[str]:
    # a repair report has no test result; every report needs startUTC (REST doc)
    required = ("startUTC",) if report.is_repair else ("result", "startUTC")
    missing = [f for f in required if getattr(report, f) is None]
    return [f"{f}: missing required field" for f in missing]


def _drop_connection(request: web.Request) -> None:
    """Close the connection without an answer, as a crashed proxy or a lost packet would."""
    if request.transport is not None:
        request.transport.abort()


def parse_header_query(params: Mapping[str, str]) -> HeaderQuery:
    """Read the OData subset we serve: `$top`, `$skip`, `$orderby`, `$filter` with `eq`/`and`."""
    get = params.get
    try:
        top = int(get("$top", "10"))
        skip = int(get("$skip", "0"))
    except ValueError:
        raise ValueError("$top and $skip must be whole numbers") from None
    if not 0 < top <= MAX_TOP or skip < 0:
        raise ValueError(f"$top must be 1..{MAX_TOP} and $skip >= 0")
    order_field, _, direction = str(get("$orderby", "timestamp desc")).strip().partition(" ")
    if order_field not in ("start", "uuid", "serialNumber", "timestamp"):
        raise ValueError("$orderby supports start, uuid, serialNumber, timestamp")
    filters = []
    text = str(get("$filter", "")).strip()
    for term in re.split(r"\s+and\s+", text) if text else []:
        match = FILTER_TERM.match(term)
        if match is None or match.group(1) not in QUERY_FIELDS:
            raise ValueError(
                f"unsupported $filter term {term!r}: use <field> eq '<value>' joined by "
                f"'and', fields {', '.join(QUERY_FIELDS)}"
            )
        filters.append((match.group(1), match.group(2).replace("''", "'")))
    return HeaderQuery(tuple(filters), order_field, direction.strip().lower() != "asc", top, skip)
