"""The adaptive concurrency limit (AIMD) and the bounded hand-off, on a manual clock."""

from __future__ import annotations

import asyncio

import pytest

from wats_converter.pipeline.concurrency import AdaptiveLimit, HandOff
from wats_converter.testing import ManualClock, settle


async def window(
    limit: AdaptiveLimit, clock: ManualClock, rtt_s: float, *, backpressure: bool = False
) -> int:
    """Fill the limit, let every request take `rtt_s`, answer them all; return the limit.

    A window is judged at the first answer after its end, i.e. by the first answer of the
    next call: what one call does to the limit shows in the value the next call returns."""
    slots = [await limit.acquire() for _ in range(limit.limit)]
    await clock.advance(rtt_s)
    for n, started in enumerate(slots):
        limit.release(started, backpressure=backpressure and n == 0)
    return limit.limit


async def test_the_limit_doubles_while_answers_come_back_as_fast_then_stops_at_the_maximum() -> (
    None
):
    clock = ManualClock()
    limit = AdaptiveLimit(64, clock)
    assert limit.limit == 4
    grown = [await window(limit, clock, 0.1) for _ in range(6)]
    assert grown == [8, 16, 32, 64, 64, 64]  # slow start, then never above the maximum


async def test_back_pressure_halves_the_limit_and_ends_slow_start() -> None:
    clock = ManualClock()
    limit = AdaptiveLimit(64, clock)
    for _ in range(3):
        await window(limit, clock, 0.1)
    assert limit.limit == 32
    await window(limit, clock, 0.1, backpressure=True)  # a 429, 503 or timeout
    assert [await window(limit, clock, 0.1) for _ in range(4)] == [32, 33, 34, 35]
    # halved from 64, and from then on it grows by one per window


async def test_rising_latency_shrinks_the_limit_and_a_steady_one_lets_it_grow_again() -> None:
    clock = ManualClock()
    limit = AdaptiveLimit(64, clock, initial=20)
    for _ in range(2):
        await window(limit, clock, 0.1, backpressure=True)  # out of slow start
    steady = [await window(limit, clock, 0.1) for _ in range(5)]
    assert steady == [10, 11, 12, 13, 14]  # one more per round trip while it holds steady
    slower = [await window(limit, clock, 0.2) for _ in range(8)]
    # the server queues (twice the round trip): a tenth fewer each window ...
    assert slower[:5] == [15, 13, 11, 9, 8]
    # ... until the baseline has followed the new latency; then growth resumes
    assert slower[5:] == [9, 10, 11]


async def test_jitter_below_half_the_round_trip_is_not_taken_for_queueing() -> None:
    clock = ManualClock()
    limit = AdaptiveLimit(64, clock, initial=8)
    await window(limit, clock, 0.1, backpressure=True)
    jittery = [await window(limit, clock, rtt) for rtt in (0.1, 0.14, 0.1, 0.145, 0.12, 0.1)]
    assert jittery == sorted(jittery) and jittery[-1] >= jittery[0] + 4  # never cut


async def test_the_limit_never_drops_below_one() -> None:
    clock = ManualClock()
    limit = AdaptiveLimit(8, clock)
    for _ in range(10):
        await window(limit, clock, 0.1, backpressure=True)
    assert limit.limit == 1


async def test_unused_room_does_not_grow_the_limit() -> None:
    clock = ManualClock()
    limit = AdaptiveLimit(64, clock)
    for _ in range(5):  # one request at a time while four may be in flight
        started = await limit.acquire()
        await clock.advance(0.1)
        limit.release(started)
    assert limit.limit == 4


async def test_a_full_limit_makes_the_next_request_wait_for_an_answer() -> None:
    clock = ManualClock()
    limit = AdaptiveLimit(2, clock, initial=2)
    first, second = await limit.acquire(), await limit.acquire()
    third = asyncio.create_task(limit.acquire())
    await settle()
    assert not third.done() and limit.in_flight == 2
    limit.release(first)
    await settle()
    assert third.done() and limit.in_flight == 2
    limit.release(second)
    limit.release(third.result())
    assert limit.in_flight == 0 and limit.peak_in_flight == 2


async def test_a_hand_off_makes_the_caller_wait_when_it_is_full_and_runs_each_in_its_task() -> None:
    handoff = HandOff(room=2)
    owner = asyncio.create_task(handoff.run())
    await settle()
    release = asyncio.Event()
    done: list[int] = []

    async def work(n: int) -> None:
        await release.wait()
        done.append(n)

    for n in range(2):
        await handoff.submit(lambda n=n: work(n))
    third = asyncio.create_task(handoff.submit(lambda: work(2)))
    await settle()
    assert not third.done() and handoff.waiting == 2  # back-pressure on the caller
    release.set()
    await settle()
    await third
    await settle()
    assert done == [0, 1, 2] and handoff.waiting == 0
    owner.cancel()
    await asyncio.gather(owner, return_exceptions=True)


async def test_a_failure_in_handed_over_work_is_logged_and_the_owner_stops_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handoff = HandOff(room=4)
    owner = asyncio.create_task(handoff.run())
    await settle()
    stopped = asyncio.Event()

    async def fails() -> None:
        raise OSError("disk full")

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    await handoff.submit(fails)
    await handoff.submit(stuck)
    await settle()
    assert "disk full" in caplog.text and not owner.done()  # the owner goes on
    owner.cancel()
    await asyncio.gather(owner, return_exceptions=True)
    assert stopped.is_set() and handoff.waiting == 0


async def test_work_the_owner_stops_before_it_began_is_dropped_not_lost() -> None:
    handoff = HandOff(room=4)
    owner = asyncio.create_task(handoff.run())
    await settle()
    began, dropped = [], []
    owner.cancel()  # the stop comes first: the work's task is cancelled before its first step
    await handoff.submit(lambda: asyncio.sleep(0, began.append(1)), lambda: dropped.append(1))
    await asyncio.gather(owner, return_exceptions=True)
    assert began == [] and dropped == [1] and handoff.waiting == 0


async def test_a_caller_waiting_for_room_when_the_owner_stops_does_the_work_itself() -> None:
    # review finding: the waiting submit then created a task in a task group that was shutting
    # down (RuntimeError, a traceback at every stop) and never gave its room back
    handoff = HandOff(room=1)
    owner = asyncio.create_task(handoff.run())
    await settle()
    done: list[str] = []
    await handoff.submit(asyncio.Event().wait)  # fills the only room
    waiting = asyncio.create_task(handoff.submit(lambda: asyncio.sleep(0, done.append("inline"))))
    await settle()
    assert not waiting.done()
    owner.cancel()
    await asyncio.gather(owner, return_exceptions=True)
    await waiting
    assert done == ["inline"] and handoff.waiting == 0
