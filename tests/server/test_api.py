"""The local server's REST contract over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from tests.helpers import normalise
from wats_converter.converters.builtin.wsxf_render import render_wsxf
from wats_converter.server.fixture import ServerThread
from wats_converter.testing import minimal_report, rich_report


def auth(server: ServerThread) -> dict[str, str]:
    return {"Authorization": f"Basic {server.token}"}


async def post(
    server: ServerThread, body: bytes, token: str | None = None, path: str = "/api/Report/WSJF"
) -> tuple[int, str, dict[str, str]]:
    headers = {
        "Authorization": f"Basic {token or server.token}",
        "Content-Type": "application/json",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.url + path, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.text(), dict(resp.headers)


async def get(server: ServerThread, path: str, token: str | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            server.url + path, headers={"Authorization": f"Basic {token or server.token}"}
        ) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if resp.content_type == "application/json" else text


async def test_post_stores_and_answers_with_the_id_fields(server: ServerThread) -> None:
    report = minimal_report("SN1")
    status, text, _ = await post(server, report.to_wsjf())
    assert status == 200
    body = json.loads(text)
    assert body["ID"] == body["uuid"] == str(report.id)
    assert isinstance(body["Report_ID"], int)
    assert server.store.count() == 1


async def test_realistic_report_reads_back_field_for_field(server: ServerThread) -> None:
    report = rich_report("SN000124")
    assert (await post(server, report.to_wsjf()))[0] == 200
    status, stored = await get(server, f"/api/Report/Wsjf/{report.id}")
    assert status == 200
    assert normalise(stored) == normalise(report.to_dict())
    assert len(json.dumps(stored)) > 45_000


async def test_repost_of_same_id_replaces_and_is_counted(server: ServerThread) -> None:
    report = minimal_report("SN1")
    await post(server, report.to_wsjf())
    report.sn = "SN1-corrected"
    await post(server, report.to_wsjf())
    assert server.store.count() == 1
    assert server.counters()["posts"] == {str(report.id): 2}
    _, stored = await get(server, f"/api/Report/Wsjf/{report.id}")
    assert stored["sn"] == "SN1-corrected"
    _, headers = await get(server, "/api/Report/Query/Header")
    assert headers[0]["receiveCount"] == 2


@pytest.mark.parametrize("path", ["/api/Report/WSJF", "/api/report/wsjf", "/API/REPORT/Wsjf"])
async def test_paths_are_case_insensitive(server: ServerThread, path: str) -> None:
    assert (await post(server, minimal_report().to_wsjf(), path=path))[0] == 200


async def test_wrong_or_missing_token_is_401_and_stores_nothing(server: ServerThread) -> None:
    status, text, _ = await post(server, minimal_report().to_wsjf(), token="wrong")
    assert status == 401 and "Basic <token>" in text
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + "/api/App/Version") as r,
    ):
        assert r.status == 401
    assert server.store.count() == 0


async def test_invalid_report_is_400_naming_the_field(server: ServerThread) -> None:
    doc = minimal_report().to_dict()
    doc["root"]["steps"][0]["numericMeas"][0]["compOp"] = "GTE"
    status, text, _ = await post(server, json.dumps(doc).encode())
    assert status == 400
    assert "root.steps[0].numericMeas[0].compOp: 'GTE' is not a comparison operator" in text
    assert server.store.count() == 0


async def test_a_well_formed_report_that_breaks_a_rule_is_400_naming_the_step(
    server: ServerThread,
) -> None:
    # it decodes on the fast path; the rule is then worded by the model, with its path
    doc = rich_report("SN-RULE").to_dict()
    del doc["root"]["steps"][0]["steps"][0]["numericMeas"][0]["lowLimit"]
    doc["root"]["steps"][1]["id"] = doc["root"]["steps"][0]["id"]
    status, text, _ = await post(server, json.dumps(doc).encode())
    assert status == 400
    assert "root.steps[0].steps[0].numericMeas[0].lowLimit: EQ needs lowLimit" in text
    assert f"id: step id {doc['root']['steps'][1]['id']} is used twice" in text
    assert server.store.count() == 0


async def test_a_valid_report_is_stored_as_sent(server: ServerThread) -> None:
    body = rich_report("SN-AS-SENT").to_wsjf().replace(b'"rev":"B"', b'"rev" : "B"')
    assert (await post(server, body))[0] == 200
    stored = server.store.get(str(json.loads(body)["id"]))
    assert stored == json.loads(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "Invalid JSON"),
        (b"[1,2]", "Input should be an object"),
        (b'{"hello": "world"}', "pn: missing required field"),
    ],
)
async def test_json_that_is_not_a_report_is_400(
    server: ServerThread, body: bytes, message: str
) -> None:
    status, text, _ = await post(server, body)
    assert status == 400 and message in text


async def test_missing_result_or_start_utc_is_400(server: ServerThread) -> None:
    doc = minimal_report().to_dict()
    del doc["startUTC"]
    status, text, _ = await post(server, json.dumps(doc).encode())
    assert status == 400 and "startUTC: missing required field" in text


async def test_body_over_the_cap_is_413(server: ServerThread) -> None:
    status, _, _ = await post(server, b"{" + b" " * (11 * 1024 * 1024) + b"}")
    assert status == 413


async def test_version_and_unknown_id(server: ServerThread) -> None:
    status, version = await get(server, "/api/App/Version")
    assert status == 200 and isinstance(version, str) and version.count(".") == 3
    status, _ = await get(server, "/api/Report/Wsjf/6f1c2e7a-0000-4000-8000-000000000000")
    assert status == 404


async def test_header_query_filters_orders_and_limits(server: ServerThread) -> None:
    for i in range(5):
        await post(
            server, minimal_report(f"SN{i}", pn="PA" if i % 2 else "PB", passed=i != 3).to_wsjf()
        )
    _, rows = await get(server, "/api/Report/Query/Header?$top=2&$orderby=serialNumber asc")
    assert [r["serialNumber"] for r in rows] == ["SN0", "SN1"]
    _, rows = await get(
        server, "/api/Report/Query/Header?$filter=partNumber eq 'PA' and result eq 'Failed'"
    )
    assert [r["serialNumber"] for r in rows] == ["SN3"]
    _, rows = await get(server, "/api/Report/Query/Header?$filter=serialNumber eq 'SN4'")
    assert rows[0]["result"] == "Passed" and rows[0]["partNumber"] == "PB"
    status, text = await get(server, "/api/Report/Query/Header?$filter=contains(sn,'x')")
    assert status == 400 and "unsupported $filter" in text


@pytest.mark.parametrize("code", [500, 503, 400, 401])
async def test_status_faults_answer_the_next_requests(server: ServerThread, code: int) -> None:
    server.faults.add(mode="status", status=code, count=2)
    statuses = [(await post(server, minimal_report(f"S{i}").to_wsjf()))[0] for i in range(3)]
    assert statuses == [code, code, 200]
    assert server.store.count() == 1


async def test_429_fault_carries_retry_after(server: ServerThread) -> None:
    server.faults.add(mode="status", status=429, retry_after=3)
    status, _, headers = await post(server, minimal_report().to_wsjf())
    assert status == 429 and headers["Retry-After"] == "3"


async def test_delay_fault_delays(server: ServerThread) -> None:
    server.faults.add(mode="delay", ms=300)
    started = time.monotonic()
    assert (await post(server, minimal_report().to_wsjf()))[0] == 200
    assert time.monotonic() - started >= 0.3


async def test_drop_after_store_stores_but_never_answers(server: ServerThread) -> None:
    server.faults.add(mode="drop_after_store")
    report = minimal_report()
    with pytest.raises(aiohttp.ClientError):
        await post(server, report.to_wsjf())
    assert server.store.get(str(report.id)) is not None


async def test_reset_fault_drops_without_storing(server: ServerThread) -> None:
    server.faults.add(mode="reset")
    with pytest.raises(aiohttp.ClientError):
        await post(server, minimal_report().to_wsjf())
    assert server.store.count() == 0


async def test_refuse_fault_and_stop_listening_refuse_connections(server: ServerThread) -> None:
    server.faults.add(mode="refuse", seconds=0.5)
    with pytest.raises(aiohttp.ClientError):
        await post(server, minimal_report().to_wsjf())
    with pytest.raises(aiohttp.ClientConnectorError):
        await post(server, minimal_report().to_wsjf())
    await asyncio.sleep(0.8)
    assert (await post(server, minimal_report().to_wsjf()))[0] == 200
    server.stop_listening()
    with pytest.raises(aiohttp.ClientConnectorError):
        await post(server, minimal_report().to_wsjf())
    server.resume_listening()
    assert (await post(server, minimal_report().to_wsjf()))[0] == 200


async def test_admin_endpoints_set_faults_and_read_counters(server: ServerThread) -> None:
    async with aiohttp.ClientSession(headers=auth(server)) as session:
        async with session.post(
            server.url + "/_admin/faults", json=[{"mode": "status", "status": 503, "count": 1}]
        ) as r:
            assert r.status == 200
        async with session.post(server.url + "/_admin/faults", json=[{"mode": "explode"}]) as r:
            assert r.status == 400
    assert [r["status"] for r in server.faults.pending()] == [503]  # a bad plan keeps the old one
    assert (await post(server, minimal_report().to_wsjf()))[0] == 503
    report = minimal_report()
    await post(server, report.to_wsjf())
    await post(server, b'{"type": "T"}')
    async with aiohttp.ClientSession(headers=auth(server)) as session:
        async with session.get(server.url + "/_admin/counters") as r:
            counters = await r.json()
        async with session.get(server.url + "/_admin/counters?brief") as r:
            brief = await r.json()
    assert counters["stored"] == 1 and counters["posts"] == {str(report.id): 1}
    assert counters["invalid"] == 1 and brief == {"stored": 1, "invalid": 1}


async def test_2000_posts_from_20_concurrent_clients_lose_nothing(server: ServerThread) -> None:
    reports = [minimal_report(f"SN{i:05d}") for i in range(2000)]
    bodies = [r.to_wsjf() for r in reports]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: list[int] = []

    async def client() -> None:
        async with aiohttp.ClientSession(headers=auth(server)) as session:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(server.url + "/api/Report/WSJF", data=body) as resp:
                    statuses.append(resp.status)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(20)))
    elapsed = time.perf_counter() - started
    print(f"\n2000 posts, 20 clients: {2000 / elapsed:.0f} posts/s")
    assert statuses == [200] * 2000
    assert server.store.count() == 2000
    assert set(server.store.receive_counts().values()) == {1}


async def test_wsxf_post_stores_the_same_report_as_wsjf(server: ServerThread) -> None:
    report = rich_report("XML-1")
    status, text, _ = await post(server, render_wsxf([report]), path="/api/Report/WSXF")
    assert status == 200, text
    _, stored = await get(server, f"/api/Report/Wsjf/{report.id}")
    assert normalise(stored) == normalise(report.to_dict())
    status, text, _ = await post(server, b"<Reports><Report/></Reports>", path="/api/Report/WSXF")
    assert status == 400 and "a WSXF file has <Reports" in text
