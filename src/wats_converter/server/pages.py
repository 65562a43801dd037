"""The read-only report browser: a list of recent reports and a page per report.

Plain server-rendered HTML; the list refreshes itself every few seconds.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiohttp import web

from wats_converter.server.store import RESULT_WORDS, HeaderQuery, ReportStore

STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} table{border-collapse:collapse;width:100%}
th,td{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4} .P{background:#dff5df} .F{background:#fbdcdc} .E,.T{background:#fbeccc}
.S,.D{color:#777} form{margin:.8em 0} input,select{margin-right:.6em}
.step{margin-left:1.2em} .mono{font-family:ui-monospace,monospace} a{color:#0b5cad}
"""
STORE_KEY = web.AppKey("store", ReportStore)
STATUS_WORDS = {**RESULT_WORDS, "S": "Skipped", "D": "Done", "U": "Unknown"}
REFRESH_S = 5


def _page(title: str, body: str, refresh: bool = False) -> web.Response:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_S}">' if refresh else ""
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return web.Response(text=html, content_type="text/html")


async def report_list(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    sn, pn = request.query.get("sn", "").strip(), request.query.get("pn", "").strip()
    result = request.query.get("result", "")
    filters = [
        (f, v) for f, v in (("serialNumber", sn), ("partNumber", pn), ("result", result)) if v
    ]
    rows = store.headers(HeaderQuery(tuple(filters), "received_at", True, 200, 0))
    options = "".join(
        f"<option value='{w}'{' selected' if w == result else ''}>{w}</option>"
        for w in ("", *RESULT_WORDS.values())
    )
    form = (
        f"<form>SN <input name='sn' value='{escape(sn)}'> PN <input name='pn' value='{escape(pn)}'>"
        f" Result <select name='result'>{options}</select><button>Filter</button></form>"
    )
    lines = "".join(_row(r) for r in rows)
    table = (
        "<table><tr><th>Received</th><th>Start</th><th>Part number</th><th>Serial number</th>"
        f"<th>Station</th><th>Result</th></tr>{lines}</table>"
    )
    summary = f"<p>{store.count()} reports stored; showing {len(rows)} most recent.</p>"
    return _page(
        "WATS reports", f"<h1>WATS reports (local server)</h1>{form}{summary}{table}", refresh=True
    )


def _row(r: dict[str, Any]) -> str:
    link = f"<a href='/reports/{r['uuid']}'>{escape(r['serialNumber'])}</a>"
    cells = (
        escape(r["timestamp"]),
        escape(r["start"]),
        escape(r["partNumber"]),
        link,
        escape(r["stationName"] or ""),
        "Repair" if r.get("reportType") == "R" else r["result"],
    )
    return f"<tr class='{r['result'][:1]}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


async def report_detail(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    report = store.get(request.match_info["id"])
    if report is None:
        raise web.HTTPNotFound(text="no such report")
    result = report.get("result", "")
    head = "".join(
        f"<tr><th>{label}</th><td>{escape(str(report.get(key, '')))}</td></tr>"
        for label, key in (
            ("Serial number", "sn"),
            ("Part number", "pn"),
            ("Revision", "rev"),
            ("Station", "machineName"),
            ("Location", "location"),
            ("Purpose", "purpose"),
            ("Start", "start"),
            ("Process code", "processCode"),
            ("Id", "id"),
        )
    )
    misc = "".join(
        f"<li>{escape(m.get('description', ''))}: {escape(str(m.get('text', '')))}</li>"
        for m in report.get("miscInfos", [])
    )
    body = (
        f"<p><a href='/'>&larr; all reports</a></p><h1 class='{result}'>{escape(report['sn'])}: "
        f"{'Repair' if report.get('type') == 'R' else STATUS_WORDS.get(result, result)}</h1>"
        f"<table>{head}</table>"
        f"{f'<h2>Misc info</h2><ul>{misc}</ul>' if misc else ''}"
        + (_repair(report) if report.get("type") == "R" else "")
        + (f"<h2>Steps</h2>{_step(report['root'])}" if "root" in report else "")
    )
    return _page(f"Report {report['sn']}", body)


def _repair(report: dict[str, Any]) -> str:
    """A repair (UUR) report: the repair header, the units with their failures, the files."""
    uur = report.get("uur", {})
    ref = str(uur.get("refUUT", ""))
    ref_link = f"<a href='/reports/{escape(ref.lower())}'>{escape(ref)}</a>" if ref else ""
    head = "".join(
        f"<tr><th>{label}</th><td>{value}</td></tr>"
        for label, value in (
            ("Repaired by", escape(str(uur.get("user", "")))),
            ("Comment", escape(str(uur.get("comment", "")))),
            (
                "Test operation",
                escape(f"{uur.get('processCode', '')} {uur.get('processName', '')}"),
            ),
            ("Referenced UUT report", ref_link),
            ("Finalized", escape(str(uur.get("finalizeDate", "")))),
        )
    )
    units = ""
    for unit in report.get("subUnits", []):
        role = "repaired unit" if unit.get("idx") == 0 else f"unit {unit.get('idx', '')}"
        if unit.get("replacedIdx") is not None:
            role += f", replaced by unit {unit['replacedIdx']}"
        failures = "".join(
            "<tr class='F'>"
            + "".join(
                f"<td>{escape(str(f.get(k, '')))}</td>"
                for k in ("category", "code", "comRef", "artNumber", "refStepName", "comment")
            )
            + "</tr>"
            for f in unit.get("failures", [])
        )
        units += (
            f"<h3>{escape(str(unit.get('partType', '')))} {escape(str(unit.get('pn', '')))} "
            f"SN {escape(str(unit.get('sn', '')))} ({escape(role)})</h3>"
            + (
                "<table><tr><th>Category</th><th>Code</th><th>Component</th><th>Article</th>"
                f"<th>Found by step</th><th>Comment</th></tr>{failures}</table>"
                if failures
                else ""
            )
        )
    files = "".join(
        f"<li>{escape(str(b.get('name', '')))} ({escape(str(b.get('contentType', '')))})</li>"
        for b in report.get("binaryData", [])
    )
    return (
        f"<h2>Repair</h2><table>{head}</table><h2>Units and failures</h2>{units}"
        f"{f'<h2>Files</h2><ul>{files}</ul>' if files else ''}"
    )


def _step(step: dict[str, Any]) -> str:
    status = step.get("status", "")
    rows = "".join(_measurement(m, "numeric") for m in step.get("numericMeas", []))
    rows += "".join(_measurement(m, "string") for m in step.get("stringMeas", []))
    rows += "".join(_measurement(m, "boolean") for m in step.get("booleanMeas", []))
    table = (
        (
            f"<table><tr><th>Measurement</th><th>Value</th><th>Low</th><th>High</th><th>Comp</th>"
            f"<th>Unit</th><th>Status</th></tr>{rows}</table>"
        )
        if rows
        else ""
    )
    text = f"<div class='mono'>{escape(step['reportText'])}</div>" if step.get("reportText") else ""
    children = "".join(_step(c) for c in step.get("steps", []))
    return (
        f"<div class='step'><div class='{status}'><b>{escape(step.get('name', ''))}</b> "
        f"<span class='mono'>{escape(step.get('stepType', ''))}</span> "
        f"{STATUS_WORDS.get(status, status)}</div>{text}{table}{children}</div>"
    )


def _measurement(m: dict[str, Any], kind: str) -> str:
    value = m.get("value", "") if kind != "boolean" else ""
    low = m.get("lowLimit", m.get("limit", ""))
    cells = (
        m.get("name") or "",
        value,
        low,
        m.get("highLimit", ""),
        m.get("compOp", ""),
        m.get("unit", ""),
        STATUS_WORDS.get(m.get("status", ""), ""),
    )
    return (
        f"<tr class='{m.get('status', '')}'>"
        + "".join(f"<td>{escape(str(c))}</td>" for c in cells)
        + "</tr>"
    )
