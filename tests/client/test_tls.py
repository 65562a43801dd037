"""https to a real TLS server on 127.0.0.1 with a certificate made in the test (trustme): a
certificate nobody trusts pauses submission, `verify_tls: false` sends anyway, and a CA the
machine trusts (here through `SSL_CERT_FILE`) is accepted."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import pytest
import trustme

from tests.client.scripted import Scripted, answer, insert_result, keep_alive, submit
from wats_converter.errors import ServerUnavailable, SubmissionPaused
from wats_converter.wats_client import WatsClient

WATS = keep_alive(lambda r: answer(insert_result(r)))


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


async def test_an_untrusted_certificate_pauses_submission() -> None:
    async with Scripted(WATS, tls=server_context(trustme.CA(), "127.0.0.1")) as server:
        client = WatsClient(server.url, "tok")
        with pytest.raises(SubmissionPaused) as caught:
            await submit(client)
        await client.aclose()
    assert str(caught.value).startswith(f"TLS certificate of {server.url} is not trusted: ")
    assert "unable to get local issuer certificate" in str(caught.value)
    assert server.requests == []


async def test_verify_tls_false_sends_to_an_untrusted_certificate() -> None:
    async with Scripted(WATS, tls=server_context(trustme.CA(), "127.0.0.1")) as server:
        client = WatsClient(server.url, "tok", verify_tls=False)
        for _ in range(2):
            await submit(client)
        await client.aclose()
    assert len(server.requests) == 2 and server.connections == 1


async def test_a_trusted_ca_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    async with Scripted(WATS, tls=server_context(ca, "127.0.0.1")) as server:
        client = WatsClient(server.url, "tok")
        for _ in range(2):
            await submit(client)
        await client.aclose()
    assert len(server.requests) == 2 and server.connections == 1
    assert server.requests[0].headers["authorization"] == "Basic tok"


async def test_a_certificate_for_another_name_pauses_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    async with Scripted(WATS, tls=server_context(ca, "wats.example.com")) as server:
        client = WatsClient(server.url, "tok")
        with pytest.raises(SubmissionPaused, match="not trusted: .*mismatch"):
            await submit(client)
        await client.aclose()


async def test_a_tls_handshake_that_never_ends_is_the_connect_timeout() -> None:
    async def mute(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await asyncio.sleep(10)  # plain TCP: the client's ClientHello is never answered

    async with Scripted(mute) as server:
        url = server.url.replace("http://", "https://")
        client = WatsClient(url, "tok", connect_timeout_s=0.3, timeout_s=30)
        started = time.monotonic()
        with pytest.raises(ServerUnavailable, match="no connection within 0.3 s"):
            await submit(client)
        await client.aclose()
    assert time.monotonic() - started < 2


async def test_an_https_url_at_a_plain_http_server_is_server_unavailable() -> None:
    async def plain(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(100)  # a ClientHello is no request: a plain server says so
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()

    async with Scripted(plain) as server:
        client = WatsClient(server.url.replace("http://", "https://"), "tok")
        with pytest.raises(ServerUnavailable, match="cannot connect to 127.0.0.1.*WRONG_VERSION"):
            await submit(client)
        await client.aclose()
