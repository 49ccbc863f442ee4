"""common.deadlines: many deadlines of one length on one timer, on a real event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from common.deadlines import Deadlines

LENGTH_S = 0.2


async def test_a_task_waiting_past_its_deadline_gets_timeout_error_on_time() -> None:
    deadlines = Deadlines(LENGTH_S)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def waiter() -> float:
        deadline = deadlines.start()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await deadline.run(lambda: never)
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0  # the deadline's cancel was taken back
        return time.monotonic() - started

    waited = await asyncio.wait_for(waiter(), 5)
    assert LENGTH_S - 0.01 <= waited < LENGTH_S + 0.15


async def test_each_of_many_deadlines_ends_in_its_turn() -> None:
    deadlines = Deadlines(LENGTH_S)
    ended: dict[int, float] = {}
    t0 = time.monotonic()

    async def waiter(i: int) -> None:
        deadline = deadlines.start()
        with pytest.raises(TimeoutError):
            await deadline.run(lambda: asyncio.sleep(10))
        ended[i] = time.monotonic() - t0

    tasks = []
    for i in range(3):  # started 0.05 s apart: they end 0.05 s apart
        tasks.append(asyncio.create_task(waiter(i)))
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    for i in range(3):
        assert LENGTH_S + 0.05 * i - 0.01 <= ended[i] < LENGTH_S + 0.05 * i + 0.1, ended


async def test_work_done_in_time_is_not_cut_and_a_finished_deadline_cancels_nothing() -> None:
    deadlines = Deadlines(LENGTH_S)
    deadline = deadlines.start()
    assert await deadline.run(lambda: asyncio.sleep(0.05, result="in time")) == "in time"
    deadline.finish()
    await asyncio.sleep(LENGTH_S + 0.1)  # the timer fires for it, finished: nothing happens
    assert await asyncio.sleep(0, result="still running") == "still running"


async def test_a_deadline_passed_while_not_waiting_refuses_the_next_wait_without_calling() -> None:
    deadlines = Deadlines(LENGTH_S)
    deadline = deadlines.start()
    await asyncio.sleep(LENGTH_S + 0.1)  # not inside run(): the task is not cancelled
    called = []

    async def call() -> None:
        called.append(True)

    with pytest.raises(TimeoutError):
        await deadline.run(call)
    assert called == []


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    deadlines = Deadlines(10.0)

    async def waiter() -> None:
        await deadlines.start().run(lambda: asyncio.sleep(10))

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
