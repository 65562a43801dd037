"""The read-only report browser: search the stored reports, read one, see the yield.

Pages are jinja2 templates (autoescaped) in `templates/`; what a report page shows is built
by `report_view`, its charts by `charts` (inline SVG, drawn here, no network needed).
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from wats_converter.server.report_view import STATUS_WORDS, build_view
from wats_converter.server.store import RESULT_WORDS, ReportFilter, ReportStore

STORE_KEY = web.AppKey("store", ReportStore)
REFRESH_S = 5
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

TEMPLATES = Environment(
    loader=PackageLoader("wats_converter.server", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render(template: str, **context: Any) -> web.Response:
    html = TEMPLATES.get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html")


def _filter(request: web.Request) -> ReportFilter:
    q = request.query

    def date(name: str) -> str:
        value = q.get(name, "").strip()
        return value if len(value) == 10 and value[4] == value[7] == "-" else ""

    result = q.get("result", "").strip()
    return ReportFilter(
        sn=q.get("sn", "").strip(),
        pn=q.get("pn", "").strip(),
        station=q.get("station", "").strip(),
        result=result if result in RESULT_WORDS.values() else "",
        date_from=date("from"),
        date_to=date("to"),
    )


def _query(found: ReportFilter, **more: object) -> dict[str, str]:
    params = {
        "sn": found.sn,
        "pn": found.pn,
        "station": found.station,
        "result": found.result,
        "from": found.date_from,
        "to": found.date_to,
        **{k: str(v) for k, v in more.items()},
    }
    return {k: v for k, v in params.items() if v}


def _query_string(found: ReportFilter) -> str:
    params = _query(found)
    return "?" + urlencode(params) if params else ""


async def report_list(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    found = _filter(request)
    try:
        size = min(MAX_PAGE_SIZE, max(1, int(request.query.get("size", PAGE_SIZE))))
        page = max(1, int(request.query.get("page", 1)))
    except ValueError:
        raise web.HTTPBadRequest(text="page and size are numbers") from None
    rows, total = store.search(found, size, (page - 1) * size)
    pages = max(1, math.ceil(total / size))
    extra = {"size": size} if size != PAGE_SIZE else {}

    def page_url(n: int) -> str:
        return "/?" + urlencode(_query(found, page=n, **extra))

    return _render(
        "list.html",
        title="WATS reports",
        f=found,
        results=("", *RESULT_WORDS.values()),
        rows=[
            {
                **r,
                "result_word": "Repair"
                if r.get("report_type") == "R"
                else RESULT_WORDS.get(r["result"], r["result"]),
                "received": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["received_at"])),
            }
            for r in rows
        ],
        total=total,
        stored=store.count(),
        first=(page - 1) * size + 1,
        last=(page - 1) * size + len(rows),
        page=page,
        pages=pages,
        prev_url=page_url(page - 1) if page > 1 else "",
        next_url=page_url(page + 1) if page < pages else "",
        refresh_s=REFRESH_S,
        query_string=_query_string(found),
    )


async def report_detail(request: web.Request) -> web.Response:
    report_id = request.match_info["id"]
    report = request.app[STORE_KEY].get(report_id)
    if report is None:
        raise web.HTTPNotFound(text="no such report")
    return _render(
        "report.html",
        title=f"Report {report.get('sn', '')}",
        id=report.get("id", report_id),
        sn=report.get("sn", ""),
        v=build_view(report),
        words=STATUS_WORDS,
        query_string="",
    )


async def report_raw(request: web.Request) -> web.Response:
    """The report exactly as it is stored (as the client sent it)."""
    report = request.app[STORE_KEY].get(request.match_info["id"])
    if report is None:
        raise web.HTTPNotFound(text="no such report")
    return web.json_response(report, headers={"Content-Disposition": "inline"})


async def yield_summary(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    found = _filter(request)
    rows = store.first_pass_yield(found)
    return _render(
        "yield.html",
        title="First-pass yield",
        rows=rows,
        total=sum(y.reports for y in rows if y.station is None),
        filtered=found != ReportFilter(),
        query_string=_query_string(found),
    )
