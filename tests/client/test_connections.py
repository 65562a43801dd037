"""The WATS client's connections to a real server on 127.0.0.1: reuse, a keep-alive connection
the server closed, the bound on connections, the connect timeout, cancellation."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from tests.client.scripted import Scripted, answer, insert_result, keep_alive, silent, submit
from wats_converter.errors import ServerUnavailable, SubmissionPaused
from wats_converter.http1 import ConnectionPool, HttpError
from wats_converter.wats_client import WatsClient


async def test_a_keep_alive_connection_the_server_closed_while_idle_is_not_used() -> None:
    async def one_each(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request = await server.read(reader)
        assert request is not None
        writer.write(answer(insert_result(request)))  # keep-alive promised, then closed
        await writer.drain()

    async with Scripted(one_each) as server:
        client = WatsClient(server.url, "tok")
        await submit(client)
        await asyncio.sleep(0.1)  # the server's close arrives while the connection is idle
        await submit(client)
        await client.aclose()
    assert server.connections == 2 and len(server.requests) == 2


async def test_a_request_that_meets_the_servers_idle_close_is_sent_once_more() -> None:
    """The close crosses the request: the server reads it and closes without a byte of answer
    (as a server does whose idle timer fired just then). Sent again on a new connection."""
    seen = 0

    async def close_on_second(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal seen
        while (request := await server.read(reader)) is not None:
            seen += 1
            if seen == 2:
                return  # closes the connection, no answer
            writer.write(answer(insert_result(request)))
            await writer.drain()

    async with Scripted(close_on_second) as server:
        client = WatsClient(server.url, "tok")
        await submit(client)
        await submit(client)  # no error: the repeat was answered
        await client.aclose()
    assert server.connections == 2 and len(server.requests) == 3


async def test_a_fresh_connection_closed_without_an_answer_is_not_retried() -> None:
    async def never(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read(reader)  # and close

    async with Scripted(never) as server:
        client = WatsClient(server.url, "tok")
        with pytest.raises(ServerUnavailable, match="the server closed the connection"):
            await submit(client)
        await client.aclose()
    assert server.connections == 1 and len(server.requests) == 1


async def test_a_reused_connection_is_retried_once_only() -> None:
    answered = False

    async def first_only(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal answered
        while (request := await server.read(reader)) is not None:
            if answered:
                return
            answered = True
            writer.write(answer(insert_result(request)))
            await writer.drain()

    async with Scripted(first_only) as server:
        client = WatsClient(server.url, "tok")
        await submit(client)
        with pytest.raises(ServerUnavailable, match="closed the connection"):
            await submit(client)
        await client.aclose()
    assert len(server.requests) == 3  # the first, the one that met the close, one repeat


async def test_never_more_connections_than_max_connections_plus_one() -> None:
    async def slow(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await server.read(reader)) is not None:
            await asyncio.sleep(0.02)
            writer.write(answer(insert_result(request)))
            await writer.drain()

    async with Scripted(slow) as server:
        client = WatsClient(server.url, "tok", max_connections=2)
        await asyncio.gather(*(submit(client) for _ in range(20)))
        await client.aclose()
    assert len(server.requests) == 20 and server.peak == server.connections == 3


async def test_waiting_for_a_connection_counts_in_the_total_timeout() -> None:
    async with Scripted(silent) as server:
        client = WatsClient(server.url, "tok", max_connections=0, timeout_s=0.3)  # 1 connection
        started = time.monotonic()
        results = await asyncio.gather(*(submit(client) for _ in range(4)), return_exceptions=True)
        elapsed = time.monotonic() - started
        await client.aclose()
    assert all(isinstance(r, ServerUnavailable) and "within 0.3 s" in str(r) for r in results)
    assert elapsed < 0.8  # one after the other, each with its own 0.3 s, would take 1.2 s


async def test_a_cancelled_submit_gives_its_connection_back() -> None:
    hold, arrived = asyncio.Event(), asyncio.Event()

    async def held(
        server: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await server.read(reader)) is not None:
            if len(server.requests) == 1:
                arrived.set()
                await hold.wait()
            writer.write(answer(insert_result(request)))
            await writer.drain()

    async with Scripted(held) as server:
        client = WatsClient(server.url, "tok", max_connections=0)  # one connection
        stuck = asyncio.create_task(submit(client))
        await asyncio.wait_for(arrived.wait(), 5)
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)
        await asyncio.wait_for(submit(client), 5)
        hold.set()
        await client.aclose()
    assert server.connections == 2  # the cancelled one's connection was closed, not reused


async def test_after_aclose_the_client_opens_new_connections() -> None:
    async with Scripted(keep_alive(lambda r: answer(insert_result(r)))) as server:
        client = WatsClient(server.url, "tok")
        await submit(client)
        await client.aclose()
        await submit(client)
        await client.aclose()
    assert server.connections == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_is_server_unavailable() -> None:
    port = free_port()
    client = WatsClient(f"http://127.0.0.1:{port}", "tok")
    with pytest.raises(ServerUnavailable, match=f"cannot connect to 127.0.0.1:{port}"):
        await submit(client)


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full: the kernel drops further SYNs, connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for s in [*fillers, listener]:
        s.close()


async def test_the_connect_timeout(full_backlog: int) -> None:
    client = WatsClient(
        f"http://127.0.0.1:{full_backlog}", "tok", connect_timeout_s=0.3, timeout_s=30
    )
    started = time.monotonic()
    with pytest.raises(ServerUnavailable, match="no connection within 0.3 s"):
        await submit(client)
    assert time.monotonic() - started < 2


async def test_a_token_that_cannot_be_a_header_pauses_without_sending() -> None:
    async with Scripted(keep_alive(lambda r: answer(insert_result(r)))) as server:
        client = WatsClient(server.url, "tok\r\nX-Injected: 1")
        with pytest.raises(SubmissionPaused, match="server.token has a line break"):
            await submit(client)
    assert server.connections == 0


async def test_a_turn_given_to_a_waiter_that_is_timing_out_goes_to_the_next_one() -> None:
    """A waiter woken in the same turn of the loop as its deadline passes the turn on: the
    free connection must not sit unused while the next waiter waits for its own deadline."""
    pool = ConnectionPool("http://127.0.0.1:9", {}, limit=1, timeouts=(1.0, 5.0))
    loop = asyncio.get_running_loop()
    pool._adopt(loop)
    late = asyncio.create_task(pool._wait_turn(loop, loop.time()))  # its deadline: now
    waiting = asyncio.create_task(pool._wait_turn(loop, loop.time() + 5))
    await asyncio.sleep(0)  # both wait; the late one's timeout fires in the next turn
    pool._wake()  # a connection came free: the turn goes to the first in line, the late one
    with pytest.raises(HttpError, match="no free connection"):
        await late
    await asyncio.wait_for(waiting, 1)  # woken, not left to its own deadline
