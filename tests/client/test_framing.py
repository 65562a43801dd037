"""How the WATS client reads answers from a real server on 127.0.0.1: each framing HTTP/1.1
allows, keep-alive and `Connection: close`, and the answers that are not HTTP at all."""

from __future__ import annotations

import asyncio
import json
import time
from email.utils import formatdate

import pytest

from tests.client.scripted import (
    Request,
    Scripted,
    answer,
    insert_result,
    keep_alive,
    report,
    silent,
    submit,
)
from wats_converter.errors import ServerUnavailable, SubmissionPaused
from wats_converter.wats_client import MAX_ANSWER_BYTES, MAX_ERROR_TEXT, WatsClient


async def submit_twice(server: Scripted) -> WatsClient:
    client = WatsClient(server.url, "tok")
    try:
        for _ in range(2):
            await submit(client)
    finally:
        await client.aclose()
    return client


async def test_a_content_length_answer_is_read_and_the_connection_kept_alive() -> None:
    async with Scripted(keep_alive(lambda r: answer(insert_result(r)))) as server:
        await submit_twice(server)
    assert server.connections == 1 and len(server.requests) == 2
    first = server.requests[0]
    assert first.line == "POST /api/Report/WSJF HTTP/1.1"
    assert first.headers["authorization"] == "Basic tok"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["host"] == server.url.removeprefix("http://")
    assert int(first.headers["content-length"]) == len(first.body) == len(report()[1])


def chunked(body: bytes, size: int = 7) -> bytes:
    chunks = b"".join(
        b"%x;ext=1\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    )
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\nX-Trailer: yes\r\n\r\n"
    )


async def test_a_chunked_answer_is_read_and_the_connection_kept_alive() -> None:
    async with Scripted(keep_alive(lambda r: chunked(insert_result(r)))) as server:
        await submit_twice(server)
    assert server.connections == 1 and len(server.requests) == 2


async def test_an_answer_in_many_small_pieces_is_put_together() -> None:
    async def dribble(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await server.read(reader)) is not None:
            data = chunked(insert_result(request), size=3)
            for i in range(0, len(data), 5):
                writer.write(data[i : i + 5])
                await writer.drain()
                await asyncio.sleep(0.001)

    async with Scripted(dribble) as server:
        await submit_twice(server)
    assert server.connections == 1


async def test_an_answer_delimited_by_the_close_of_the_connection() -> None:
    async def until_close(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request = await server.read(reader)
        assert request is not None
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        writer.write(insert_result(request))
        await writer.drain()  # and the handler's end closes the connection

    async with Scripted(until_close) as server:
        await submit_twice(server)
    assert server.connections == 2  # the close ended the answer: no reuse


async def test_connection_close_from_the_server_means_a_new_connection_next_time() -> None:
    # the server says close and keeps the connection open: the client must not reuse it
    close = keep_alive(lambda r: answer(insert_result(r), extra="Connection: close\r\n"))
    async with Scripted(close) as server:
        await submit_twice(server)
    assert server.connections == 2 and len(server.requests) == 2


async def test_an_http_1_0_answer_is_not_kept_alive_unless_it_says_so() -> None:
    def old(request: Request, keep: bool) -> bytes:
        head = answer(insert_result(request), extra="Connection: keep-alive\r\n" if keep else "")
        return head.replace(b"HTTP/1.1", b"HTTP/1.0", 1)

    async with Scripted(keep_alive(lambda r: old(r, keep=False))) as server:
        await submit_twice(server)
    assert server.connections == 2
    async with Scripted(keep_alive(lambda r: old(r, keep=True))) as server:
        await submit_twice(server)
    assert server.connections == 1


async def test_an_informational_answer_before_the_real_one_is_skipped() -> None:
    def continued(request: Request) -> bytes:
        return b"HTTP/1.1 100 Continue\r\n\r\n" + answer(insert_result(request))

    async with Scripted(keep_alive(continued)) as server:
        await submit_twice(server)
    assert server.connections == 1


async def test_an_answer_over_the_cap_is_cut_and_its_connection_not_reused() -> None:
    page = b"<html>" + b"x" * (4 * MAX_ANSWER_BYTES)
    async with Scripted(keep_alive(lambda r: answer(page))) as server:
        client = WatsClient(server.url, "tok")
        for _ in range(2):
            with pytest.raises(SubmissionPaused, match="not WATS's JSON"):
                await submit(client)
        await client.aclose()
    assert server.connections == 2  # the unread rest of the page is never taken for an answer


async def test_a_long_error_page_gives_a_short_message() -> None:
    page = b"Service Unavailable " * 10_000
    async with Scripted(keep_alive(lambda r: answer(page, "503 Busy", "Retry-After: 7\r\n"))) as s:
        client = WatsClient(s.url, "tok")
        with pytest.raises(ServerUnavailable) as caught:
            await submit(client)
        await client.aclose()
    assert caught.value.retry_after_s == 7.0
    assert str(caught.value).startswith("HTTP 503: Service Unavailable")
    assert len(str(caught.value)) <= len("HTTP 503: ") + MAX_ERROR_TEXT


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not HTTP: b'SSH-2.0"),
        (b"<html><body>hello</body></html>\r\n\r\n", "not HTTP: b'<html>"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", "with 10 of its 100 body"),
        (b"HTTP/1.1 200 OK\r\nContent-Ty", "in its status line and headers"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "in its chunked body"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "a bad Content-Length"),
        (b"HTTP/1.1 OK\r\n\r\n", "not HTTP"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "a malformed header line"),
    ],
)
async def test_what_is_not_a_complete_http_answer_is_server_unavailable(
    script: bytes, message: str
) -> None:
    async def broken(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read(reader)
        writer.write(script)
        await writer.drain()
        await asyncio.sleep(0.05)  # then close: half answers end here

    async with Scripted(broken) as server:
        client = WatsClient(server.url, "tok", timeout_s=5)
        started = time.monotonic()
        with pytest.raises(ServerUnavailable, match=message.replace("(", r"\(")):
            await submit(client)
        await client.aclose()
    assert time.monotonic() - started < 2  # known at once, not at the deadline


async def test_a_trickle_of_an_answer_ends_at_the_total_timeout() -> None:
    async def trickle(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read(reader)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 10:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.02)

    async with Scripted(trickle) as server:
        client = WatsClient(server.url, "tok", timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(ServerUnavailable, match=r"no complete answer within 0.5 s \(\d+ bytes"):
            await submit(client)
        await client.aclose()
    assert 0.45 < time.monotonic() - started < 1.5


async def test_a_server_that_never_answers_ends_at_the_total_timeout() -> None:
    async with Scripted(silent) as server:
        client = WatsClient(server.url, "tok", timeout_s=0.3)
        with pytest.raises(ServerUnavailable, match=r"within 0.3 s \(0 bytes"):
            await submit(client)
        await client.aclose()


async def test_the_probe_reads_the_version_and_the_servers_clock() -> None:
    date = formatdate(time.time() - 100, usegmt=True)  # the server's clock is 100 s behind
    version = json.dumps("2025.3.0.0").encode()
    async with Scripted(keep_alive(lambda r: answer(version, extra=f"Date: {date}\r\n"))) as s:
        client = WatsClient(s.url + "/api/", "tok")
        probe = await client.probe()
        await client.aclose()
    assert s.requests[0].line == "GET /api/App/Version HTTP/1.1"
    assert "content-length" not in s.requests[0].headers
    assert probe.version == "2025.3.0.0" and probe.clock_skew_s is not None
    assert -102 < probe.clock_skew_s < -98


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "308 Permanent Redirect"])
async def test_a_redirect_pauses_submission_and_names_where_it_points(status: str) -> None:
    """The client follows no redirect (aiohttp's did): a report is stored only by an answer
    from server.url itself. A redirect is a configuration to fix (http:// to a server that
    wants https://, a moved server), not an outage to retry for ever."""
    moved = "https://wats.example.com/api/Report/WSJF"
    redirect = keep_alive(lambda r: answer(b"", status, f"Location: {moved}\r\n"))
    async with Scripted(redirect) as server:
        client = WatsClient(server.url, "tok")
        with pytest.raises(SubmissionPaused, match=f"redirects to {moved}.*server.url"):
            await submit(client)
        with pytest.raises(SubmissionPaused, match="redirects to"):
            await client.probe()
        await client.aclose()


async def test_a_content_length_of_a_non_ascii_digit_is_not_an_answer() -> None:
    """`str.isdigit` takes a superscript two (latin-1 0xb2); `int` does not. The answer must be
    refused as malformed, not read to the close of the connection as if it had no length."""

    odd = keep_alive(
        lambda r: b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n" + insert_result(r)
    )
    async with Scripted(odd) as server:
        client = WatsClient(server.url, "tok", timeout_s=5)
        with pytest.raises(ServerUnavailable, match="a bad Content-Length"):
            await submit(client)
        await client.aclose()


async def test_bytes_after_a_chunked_answer_mean_a_new_connection_next_time() -> None:
    """As after a Content-Length answer: more than the answer means the stream is confused
    (the client does not pipeline), so the connection is not reused."""
    extra = keep_alive(lambda r: chunked(insert_result(r)) + b"HTTP/1.1 200 OK\r\n\r\n")
    async with Scripted(extra) as server:
        await submit_twice(server)
    assert server.connections == 2 and len(server.requests) == 2
