"""run_eagerly: a coroutine that needs no wait is finished on the spot; one that waits goes on in a task."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.eager import run_eagerly


async def instant(value: int) -> int:
    return value * 2


async def waits(value: int, delay: float = 0.01) -> int:
    await asyncio.sleep(0)  # a bare yield first, then a real future
    await asyncio.sleep(delay)
    return value * 3


async def fails_at_once() -> int:
    raise ValueError("at once")


async def fails_later() -> int:
    await asyncio.sleep(0.01)
    raise ValueError("later")


async def test_a_coroutine_that_never_waits_is_done_before_any_task_exists() -> None:
    before = len(asyncio.all_tasks())
    future = run_eagerly(instant(21))
    assert future.done() and future.result() == 42
    assert not isinstance(future, asyncio.Task)
    assert len(asyncio.all_tasks()) == before


async def test_an_exception_in_the_first_step_lands_in_the_future() -> None:
    future = run_eagerly(fails_at_once())
    assert future.done()
    with pytest.raises(ValueError, match="at once"):
        future.result()


async def test_a_coroutine_that_waits_is_carried_on_by_a_task() -> None:
    future = run_eagerly(waits(5))
    assert isinstance(future, asyncio.Task) and not future.done()
    assert await future == 15


async def test_waiting_with_a_timeout_works_as_with_a_plain_task() -> None:
    future = run_eagerly(waits(1, delay=0.2))
    done, _ = await asyncio.wait({future}, timeout=0.01)
    assert not done
    assert await future == 3


async def test_an_exception_after_a_wait_reaches_whoever_awaits() -> None:
    with pytest.raises(ValueError, match="later"):
        await run_eagerly(fails_later())


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    cleaned: list[str] = []

    async def long() -> int:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append("finally ran")
        return 0

    future = run_eagerly(long())
    await asyncio.sleep(0.01)
    future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await future
    assert cleaned == ["finally ran"]


async def test_a_coroutine_can_catch_what_the_task_throws_in_and_still_return() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)
            return "finished anyway"
        return "slept"

    future = run_eagerly(stubborn())
    await asyncio.sleep(0.01)
    future.cancel()
    assert await future == "finished anyway"
