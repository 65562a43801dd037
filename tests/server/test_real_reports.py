"""Real server exports (test and repair reports) against the local server, over real HTTP."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import normalise
from tests.server.test_api import get, post
from wats_converter.converters.builtin import WSJFConverter, WSXFConverter
from wats_converter.pipeline.conversion import convert_path
from wats_converter.server.fixture import ServerThread
from wats_converter.server.store import SCHEMA, HeaderQuery, ReportStore
from wats_converter.testing import assert_valid_wsjf

DATA = Path(__file__).parent.parent / "data"
PRODUCTION = DATA / "wsjf" / "production_uut_export.json"
REPAIR = DATA / "wsjf" / "repair_export.json"


async def html(server: ServerThread, path: str) -> str:
    status, page = await get(server, path)  # the pages are behind the token, like the API
    assert status == 200
    assert isinstance(page, str)
    return page


EXPORTS = [PRODUCTION, REPAIR, DATA / "wsjf" / "teststand_export.json"]


@pytest.mark.parametrize("path", EXPORTS, ids=[p.stem for p in EXPORTS])
async def test_an_export_posts_with_200_as_exported_and_as_converted(
    server: ServerThread, path: Path
) -> None:
    exported = path.read_bytes()
    status, text, _ = await post(server, exported)
    assert status == 200, text  # output-only fields and all: what WATS itself exported
    (report,) = convert_path(WSJFConverter(), path).reports
    status, text, _ = await post(server, report.to_wsjf())
    assert status == 200, text
    status, stored = await get(server, f"/api/Report/Wsjf/{report.id}")
    assert status == 200
    assert_valid_wsjf(stored)
    assert normalise(stored) == normalise(json.loads(exported))
    assert (stored["start"], stored["startUTC"]) == (
        json.loads(exported)["start"],
        json.loads(exported)["startUTC"],
    )


async def test_the_wsxf_export_posts_to_the_wsxf_endpoint(server: ServerThread) -> None:
    status, text, _ = await post(
        server, (DATA / "wsxf" / "production_uut_export.xml").read_bytes(), path="/api/Report/WSXF"
    )
    assert status == 200, text
    (stored_id,) = server.store.receive_counts()
    status, stored = await get(server, f"/api/Report/Wsjf/{stored_id}")
    assert_valid_wsjf(stored)
    (from_json,) = convert_path(WSJFConverter(), PRODUCTION).reports
    notes = [m for m in stored["miscInfos"] if m["description"] == "wats-converter note"]
    stored["miscInfos"] = [m for m in stored["miscInfos"] if m not in notes]
    assert len(notes) == 3 and normalise(stored) == normalise(from_json.to_dict())
    assert convert_path(WSXFConverter(), DATA / "wsxf" / "production_uut_export.xml")


async def test_a_repair_report_is_listed_and_shown_with_its_failures(
    server: ServerThread,
) -> None:
    assert (await post(server, PRODUCTION.read_bytes()))[0] == 200
    assert (await post(server, REPAIR.read_bytes()))[0] == 200
    status, headers = await get(server, "/api/Report/Query/Header?$filter=reportType eq 'R'")
    assert status == 200
    (row,) = headers
    assert (row["reportType"], row["serialNumber"], row["result"]) == ("R", "4711-2401-000123", "")
    page = await html(server, f"/reports/{row['uuid']}")
    assert "4711-2401-000123: Repair</h1>" in page and "rtech" in page
    assert "SN 4711-2401-000123 (repaired unit)" in page
    assert "PSU-000778 (unit 1, replaced by unit 2)" in page
    assert "Out of tolerance" in page and "U12" in page and "VCC 5V" in page
    uut_id = json.loads(PRODUCTION.read_text())["id"]
    assert f'href="/reports/{uut_id.lower()}"' in page
    assert "4711-2401-000123" in await html(server, f"/reports/{uut_id.lower()}")
    assert "Repair" in await html(server, "/")


async def test_a_repair_report_needs_no_test_result_but_a_uur_header(
    server: ServerThread,
) -> None:
    doc = json.loads(REPAIR.read_text())
    del doc["uur"]
    status, text, _ = await post(server, json.dumps(doc).encode())
    assert status == 400 and "uur: missing" in text


def test_a_store_written_before_repair_reports_opens_and_keeps_its_reports(tmp_path: Path) -> None:
    old_schema = SCHEMA.replace(", report_type TEXT NOT NULL DEFAULT 'T'", "")
    assert "report_type" not in old_schema
    db = sqlite3.connect(tmp_path / "old.sqlite")
    db.executescript(old_schema)
    db.execute(
        "INSERT INTO reports (id, pn, sn, rev, result, start, start_utc, received_at, body)"
        " VALUES ('a', 'P', 'S', 'A', 'P', 's', 's', 0, '{}')"
    )
    db.commit()
    db.close()
    store = ReportStore(tmp_path / "old.sqlite")
    try:
        (row,) = store.headers(HeaderQuery())
        assert (row["uuid"], row["reportType"]) == ("a", "T")
        (report,) = convert_path(WSJFConverter(), REPAIR).reports
        store.save(report)
        assert {r["reportType"] for r in store.headers(HeaderQuery())} == {"T", "R"}
    finally:
        store.close()
