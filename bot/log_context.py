"""A request id that follows one command or click through every log line it causes.

Each adapter opens a scope where a request enters the process (a slash command, a click, a form, a
console line):

    with request_scope("slack") as request_id:
        ...   # every log record from here, in this task and in the tasks and threads it starts, has it

The id lives in a ContextVar: asyncio copies the context into each task created inside the scope
(`asyncio.create_task`, `asyncio.to_thread`), so a reply finished in the background still carries the
id of the request that asked for it. `loop.run_in_executor` does not copy it: use `asyncio.to_thread`.
A record logged outside any scope (start-up, the scheduler) has none.
"""

from __future__ import annotations

import logging
import random
from contextvars import ContextVar, Token
from types import TracebackType

__all__ = ["ContextFilter", "current_platform", "current_request_id", "new_request_id", "request_scope"]

# (request id, platform) in one variable: one set and one reset a request, the hot path of every command.
_scope: ContextVar[tuple[str, str] | None] = ContextVar("mlops_bot_request", default=None)


def new_request_id() -> str:
    # 64 random bits: unique enough to grep one request out of a day of logs, short enough to read. Not a
    # secret, so the module's generator (reseeded in a forked child) serves, without a system call each time.
    return random.randbytes(8).hex()


class request_scope:  # lower case: it is used as a function, `with request_scope("slack") as request_id:`
    """Marks the block as one request on `platform`; yields its id (a new one unless given).

    A class rather than a @contextmanager generator: it is entered for every request, and a generator's
    set-up costs about twice what the scope itself does."""

    __slots__ = ("_platform", "_token", "request_id")

    def __init__(self, platform: str, request_id: str | None = None) -> None:
        self.request_id = request_id or new_request_id()
        self._platform = platform
        self._token: Token[tuple[str, str] | None] | None = None

    def __enter__(self) -> str:
        self._token = _scope.set((self.request_id, self._platform))
        return self.request_id

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._token is not None:
            _scope.reset(self._token)
            self._token = None


def current_request_id() -> str | None:
    scope = _scope.get()
    return None if scope is None else scope[0]


def current_platform() -> str | None:
    scope = _scope.get()
    return None if scope is None else scope[1]


class ContextFilter(logging.Filter):
    """Stamps each record with the request's id and platform as it is emitted (a handler's filters run
    in the caller's context), for formatters to use as `%(request_id)s` and `%(platform)s`. A value given
    with `extra=` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _scope.get()
        if getattr(record, "request_id", None) is None:
            record.request_id = None if scope is None else scope[0]
        if getattr(record, "platform", None) is None:
            record.platform = None if scope is None else scope[1]
        return True
