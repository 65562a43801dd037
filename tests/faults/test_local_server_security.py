"""The local server closed to strangers (issue 20, items 10-12): the token guards every route,
cross-site and rebinding requests are refused, slow clients are cut off, secrets are private."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.helpers import cli
from wats_converter.server.app import LocalServer
from wats_converter.server.fixture import ServerThread, local_server
from wats_converter.server.store import ReportStore
from wats_converter.testing import minimal_report


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def call(
    server: ServerThread, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, str, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, server.url + path, data=body, headers={**headers}, allow_redirects=False
        ) as resp,
    ):
        return resp.status, await resp.text(), dict(resp.headers)


def report_post(server: ServerThread, sn: str, **headers: str) -> tuple[str, bytes, dict[str, str]]:
    headers.setdefault("Content-Type", "application/json")
    return "POST", minimal_report(sn).to_wsjf(), headers


async def test_with_a_token_the_pages_and_admin_need_it_and_faults_wait_for_auth(
    server: ServerThread,
) -> None:
    """Item 10: `/`, `/reports/{id}` and `/_admin/*` are behind the token (a browser signs in
    with the token as password); a cross-site POST to `/_admin/reset` wipes nothing; a loaded
    fault plan is not consumed by posts that are not authorized."""
    report = minimal_report("SECRET-SN")
    ok = await call(
        server,
        "POST",
        "/api/Report/WSJF",
        report.to_wsjf(),
        Authorization=f"Basic {server.token}",
        **{"Content-Type": "application/json"},
    )
    assert ok[0] == 200
    for path in ("/", f"/reports/{report.id}", "/_admin/counters"):
        status, text, headers = await call(server, "GET", path)
        assert status == 401 and "SECRET-SN" not in text, path
    status, _, headers = await call(server, "GET", "/")
    assert headers["WWW-Authenticate"].startswith("Basic")
    status, text, _ = await call(server, "GET", "/", Authorization=basic("me", server.token))
    assert status == 200 and "SECRET-SN" in text
    assert (await call(server, "GET", "/", Authorization=basic("me", "wrong")))[0] == 401
    # a body-less cross-site POST, with and without the token
    assert (await call(server, "POST", "/_admin/reset"))[0] == 401
    cross = await call(
        server,
        "POST",
        "/_admin/reset",
        Authorization=f"Basic {server.token}",
        Origin="http://evil.example",
    )
    assert cross[0] == 403 and server.store.count() == 1
    # a fault plan is consumed by authorized report posts only
    server.faults.add(mode="status", status=401, count=1)
    for _ in range(3):
        status, _, _ = await call(server, "POST", "/api/Report/WSJF", minimal_report("X").to_wsjf())
        assert status == 401
    assert [r["status"] for r in server.faults.pending()] == [401]


async def test_without_a_token_cross_site_posts_and_foreign_hosts_are_refused() -> None:
    """Item 11: a web page's cross-site `text/plain` POST cannot inject a report; a request
    naming another host (DNS rebinding) is refused on a loopback server."""
    with local_server(open_access=True) as server:
        body = minimal_report("INJECTED").to_wsjf()
        for content_type in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded"):
            status, _, _ = await call(
                server, "POST", "/api/Report/WSJF", body, **{"Content-Type": content_type}
            )
            assert status == 415
        assert server.store.count() == 0
        status, _, _ = await call(
            server,
            "POST",
            "/api/Report/WSJF",
            body,
            **{"Content-Type": "application/json", "Origin": "http://evil.example"},
        )
        assert status == 403 and server.store.count() == 0
        status, _, _ = await call(
            server, "POST", "/api/Report/WSJF", body, **{"Content-Type": "application/json"}
        )
        assert status == 200 and server.store.count() == 1
        port = server.url.rsplit(":", 1)[1]
        assert (await call(server, "GET", "/", Host=f"rebind.evil.example:{port}"))[0] == 421
        assert (await call(server, "GET", "/", Host=f"localhost:{port}"))[0] == 200


def test_serving_beyond_loopback_without_a_token_warns(tmp_path: Path) -> None:
    """Item 11: `serve --host 0.0.0.0` without `--token` says that anyone can use it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wats_converter", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert any("without a token" in line for line in lines), lines


def test_init_writes_the_config_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Item 12: the config holds the token; `init` writes it 0600."""
    result = cli("init", str(tmp_path / "converters.yaml"), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "converters.yaml").stat().st_mode) == 0o600


async def test_slow_clients_are_cut_off() -> None:
    """Item 12: slowloris: connections that never finish their headers are closed after the
    header timeout instead of being held as long as the client likes; others are served."""
    server = LocalServer(ReportStore(":memory:"), token="t", header_timeout_s=0.5)
    url = await server.start("127.0.0.1", 0)
    try:
        conns = []
        for _ in range(200):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"POST /api/Report/WSJF HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
            conns.append((reader, writer))
        started = time.monotonic()
        for reader, _ in conns:
            try:  # closed by the server: end of stream (or a reset), within the timeout
                data = await asyncio.wait_for(reader.read(), 5)
            except ConnectionResetError:
                data = b""
            assert data == b""
        assert time.monotonic() - started < 5
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + "/api/App/Version", headers={"Authorization": "Basic t"}) as r,
        ):
            assert r.status == 200
        for _, writer in conns:
            writer.close()
    finally:
        await server.stop()
        server.store.close()
