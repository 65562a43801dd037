"""The local server's own timers stop with it (bug 2 of issue 19, server side)."""

from __future__ import annotations

import asyncio

from wats_converter.server.app import LocalServer
from wats_converter.server.store import ReportStore


async def test_stopping_while_refusing_connections_leaves_no_timer_behind() -> None:
    """A `refuse` fault started a bare task that, after `stop`, slept on and then tried to
    listen again on a cleaned-up server."""
    store = ReportStore(":memory:")
    server = LocalServer(store)
    await server.start()
    server.refuse_for(3600)
    await asyncio.sleep(0)  # the refusal has begun: nothing listens
    await server.stop()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    store.close()
