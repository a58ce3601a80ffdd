"""PostWindow (bot.app.posting): at most N posts a platform counts in any window, each holding its place from
sending until a window after its answer; a post refused for its rate gives its place back at once."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from bot.app.posting import PostWindow


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_post_holds_its_place_from_sending_until_a_window_after_its_answer():
    clock = Clock()
    window = PostWindow(1, 1.0, clock=clock)
    assert window.delay() == 0
    async with window.place():
        assert window.delay() is None  # only the answer can free it
        clock.now += 0.4  # the answer comes 0.4 s later
    assert window.delay() == pytest.approx(1.0)
    clock.now += 0.7
    assert window.delay() == pytest.approx(0.3)
    clock.now += 0.3
    assert window.delay() == 0


async def test_a_post_refused_for_its_rate_gives_its_place_back_at_once():
    clock = Clock()
    window = PostWindow(1, 1.0, clock=clock)
    async with window.place() as place:
        place.refused()
    assert window.delay() == 0


async def test_a_post_that_failed_otherwise_keeps_its_place():
    clock = Clock()
    window = PostWindow(1, 1.0, clock=clock)
    with pytest.raises(ConnectionResetError):
        async with window.place():
            raise ConnectionResetError("the answer never came: the platform may have counted it")
    assert window.delay() == pytest.approx(1.0)


async def test_the_limit_counts_posts_in_flight_and_answered_within_the_window():
    clock = Clock()
    window = PostWindow(3, 1.0, clock=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(window.place())
        assert window.delay() == 0
        clock.now += 0.2
        await stack.enter_async_context(window.place())
        assert window.delay() == 0
    clock.now += 0.5  # both answered at 100.2; the first place frees at 101.2
    async with window.place():
        assert window.delay() == pytest.approx(0.5)
        clock.now += 0.5
        assert window.delay() == 0


async def test_waiting_posts_take_the_places_that_free_in_the_order_they_asked():
    window = PostWindow(1, 3600.0, clock=Clock())  # a place frees only by a refusal: no time passes here
    order: list[str] = []
    release: dict[str, asyncio.Event] = {}

    async def post(name: str, refused: bool) -> None:
        release[name] = asyncio.Event()
        async with window.place() as place:
            order.append(name)
            await release[name].wait()
            if refused:
                place.refused()

    first = asyncio.create_task(post("first", refused=True))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(post(name, refused=True)) for name in ("second", "third")]
    await asyncio.sleep(0.01)
    assert order == ["first"]
    release["first"].set()
    await first
    await asyncio.sleep(0.01)
    assert order == ["first", "second"]
    release["second"].set()
    await asyncio.sleep(0.01)
    assert order == ["first", "second", "third"]
    release["third"].set()
    await asyncio.gather(*waiting)


async def test_a_post_waits_until_the_place_of_an_answered_one_leaves_the_window():
    window = PostWindow(1, 0.05)  # the event loop's clock
    loop = asyncio.get_running_loop()
    async with window.place():
        answered = loop.time()  # the answer's arrival, as the post sees it
    async with window.place():
        sent = loop.time()
    assert sent >= answered + 0.05


def test_a_window_needs_a_limit_and_a_length():
    with pytest.raises(ValueError):
        PostWindow(0, 1.0)
    with pytest.raises(ValueError):
        PostWindow(5, 0)
