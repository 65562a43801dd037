"""WorkQueue: priority at dispatch, FIFO within a priority, one entry per path, delays."""

from __future__ import annotations

import asyncio
from pathlib import Path

from wats_converter.config import ConverterEntry
from wats_converter.converters.builtin import CSVConverter
from wats_converter.converters.registry import ConverterSlot
from wats_converter.pipeline.work_queue import WorkQueue
from wats_converter.testing import ManualClock, settle


def slot(priority: int) -> ConverterSlot:
    entry = ConverterEntry(
        name=f"p{priority}",
        class_name="CSVConverter",
        watch_folder=Path("/w"),
        priority=priority,
        post_process_action="DELETE",
    )
    return ConverterSlot(0, entry, CSVConverter(), ("*.csv",))


async def drain(queue: WorkQueue, n: int) -> list[str]:
    out = []
    for _ in range(n):
        item = await asyncio.wait_for(queue.get(), 2)
        queue.done(item.path)
        out.append(item.path.name)
    return out


async def test_higher_priority_first_then_arrival_order() -> None:
    queue = WorkQueue()
    low, high = slot(1), slot(10)
    for i in range(3):
        queue.put_nowait(Path(f"/w/low{i}"), low)
    queue.put_nowait(Path("/w/high0"), high)
    queue.put_nowait(Path("/w/high1"), high)
    assert await drain(queue, 5) == ["high0", "high1", "low0", "low1", "low2"]


async def test_a_late_high_priority_file_overtakes_a_waiting_backlog() -> None:
    queue = WorkQueue()
    for i in range(5000):
        queue.put_nowait(Path(f"/w/low{i}"), slot(1))
    assert await drain(queue, 3) == ["low0", "low1", "low2"]
    queue.put_nowait(Path("/w/urgent"), slot(10))
    assert await drain(queue, 1) == ["urgent"]
    assert queue.qsize() == 4997


async def test_a_path_is_held_once_and_not_while_in_work() -> None:
    queue = WorkQueue()
    s = slot(5)
    assert queue.put_nowait(Path("/w/a"), s)
    assert not queue.put_nowait(Path("/w/a"), s)
    item = await queue.get()
    assert not queue.put_nowait(Path("/w/a"), s)  # in work: not twice at once, but...
    queue.done(item.path)
    # ...not forgotten either: the name may now be another file (replaced in place)
    assert queue.qsize() == 1 and not queue.put_nowait(Path("/w/a"), s)
    item = await queue.get()
    queue.done(item.path)
    assert queue.empty()
    assert queue.put_nowait(Path("/w/a"), s)


async def test_delayed_files_wait_and_a_new_hint_can_only_bring_them_forward() -> None:
    clock = ManualClock()
    queue = WorkQueue(clock)
    s = slot(5)
    queue.put_nowait(Path("/w/later"), s, delay_s=30)
    queue.put_nowait(Path("/w/now"), s)
    assert await drain(queue, 1) == ["now"]
    getter = asyncio.create_task(queue.get())
    await clock.advance(29)
    assert not getter.done()
    queue.put_nowait(Path("/w/later"), s, delay_s=60)  # later hint: ignored
    await clock.advance(0.5)
    assert not getter.done()
    queue.put_nowait(Path("/w/later"), s, delay_s=0.0)  # sooner hint: ready now
    await settle()
    assert getter.done() and getter.result().path.name == "later"


async def test_a_delayed_file_is_handed_out_when_its_time_comes() -> None:
    clock = ManualClock()
    queue = WorkQueue(clock)
    queue.put_nowait(Path("/w/a"), slot(5), delay_s=10)
    getter = asyncio.create_task(queue.get())
    await clock.advance(9.9)
    assert not getter.done()
    await clock.advance(0.1)
    assert getter.done() and getter.result().path.name == "a"


async def test_quiet_waits_for_the_files_in_work_but_not_for_those_queued_for_later() -> None:
    clock = ManualClock()
    queue = WorkQueue(clock)
    s = slot(5)
    queue.put_nowait(Path("/w/now"), s)
    queue.put_nowait(Path("/w/later"), s, delay_s=10)
    quiet = asyncio.create_task(queue.quiet())
    await settle()
    assert not quiet.done()  # one file is ready: a worker has something to do
    item = await queue.get()
    await settle()
    assert not quiet.done()  # in work
    queue.done(item.path)
    await settle()
    assert quiet.done() and queue.qsize() == 1
