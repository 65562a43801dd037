"""The manual clock that the decision tests drive time with."""

import asyncio

from wats_converter.testing import ManualClock


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
