"""Start a coroutine now, and make a task of it only if it has to wait.

Both adapters must answer within a platform's deadline, so they run `BotService.handle` with a time
budget. A task plus `asyncio.wait` does that, but nearly every answer is CPU-only and finishes in its
first step, and that task and its timer cost about a tenth of a Slack request's CPU. Python 3.12's
eager tasks do what this module does; 3.11, which the bot supports, has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def run_eagerly(coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Run `coro` up to its first real wait, in the caller's task.

    Returns a future that is already done when `coro` finished in that step (its result or its
    exception set), else a task that carries on from where `coro` stopped.
    """
    loop = asyncio.get_running_loop()
    try:
        awaited = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[T] = loop.create_future()
        done.set_result(stop.value)
        return done
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # handed to the caller through the future, as a task would
        failed: asyncio.Future[T] = loop.create_future()
        failed.set_exception(exc)
        return failed
    return loop.create_task(_carry_on(coro, awaited))


async def _carry_on(coro: Coroutine[Any, Any, T], awaited: Any) -> T:
    return await _Continuation(coro, awaited)


class _Continuation:
    """Drives an already started coroutine inside a task: each future it waits on is handed to the
    task (which sleeps on it), and whatever the task sends or throws back is passed on."""

    def __init__(self, coro: Coroutine[Any, Any, Any], awaited: Any) -> None:
        self._coro = coro
        self._awaited = awaited

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, awaited = self._coro, self._awaited
        while True:
            try:
                sent = yield awaited
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation included: the coroutine decides
                try:
                    awaited = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    awaited = coro.send(sent)
                except StopIteration as stop:
                    return stop.value
