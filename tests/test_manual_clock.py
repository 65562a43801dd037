"""The manual clock that the decision tests drive time with."""

import asyncio

from wats_converter.clock import SystemClock, wait_event
from wats_converter.testing import ManualClock, settle


def test_sleepers_wake_in_order_only_when_advanced_past_their_time() -> None:
    async def scenario() -> list[str]:
        clock = ManualClock()
        woke: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(f"{name}@{clock.now() - 1000.0:g}")

        tasks = [asyncio.create_task(sleeper("b", 20)), asyncio.create_task(sleeper("a", 5))]
        await clock.advance(0)
        assert clock.sleepers == 2 and woke == []
        await clock.advance(4.9)
        assert woke == []
        await clock.advance(30)
        await asyncio.gather(*tasks)
        assert clock.now() == 1000.0 + 34.9
        return woke

    assert asyncio.run(scenario()) == ["a@5", "b@20"]


def test_wait_event_ends_on_the_event_or_on_the_clock_whichever_comes_first() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        event = asyncio.Event()
        waiter = asyncio.create_task(wait_event(event, clock, 30))
        await clock.advance(29)
        assert not waiter.done()
        await clock.advance(1)
        assert waiter.done() and not event.is_set()
        waiter = asyncio.create_task(wait_event(event, clock, 30))
        await clock.advance(1)
        event.set()
        await settle()
        assert waiter.done() and clock.sleepers == 0  # the clock's sleep is not left behind
        await wait_event(event, SystemClock(), 30)  # set: returns at once on the real clock too

    asyncio.run(scenario())
