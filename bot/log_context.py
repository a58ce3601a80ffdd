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

import contextlib
import logging
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["ContextFilter", "current_platform", "current_request_id", "new_request_id", "request_scope"]

_request_id: ContextVar[str | None] = ContextVar("mlops_bot_request_id", default=None)
_platform: ContextVar[str | None] = ContextVar("mlops_bot_platform", default=None)


def new_request_id() -> str:
    # 64 random bits: unique enough to grep one request out of a day of logs, short enough to read.
    return secrets.token_hex(8)


@contextlib.contextmanager
def request_scope(platform: str, request_id: str | None = None) -> Iterator[str]:
    """Marks the block as one request on `platform`; yields its id (a new one unless given)."""
    request_id = request_id or new_request_id()
    id_token = _request_id.set(request_id)
    platform_token = _platform.set(platform)
    try:
        yield request_id
    finally:
        _platform.reset(platform_token)
        _request_id.reset(id_token)


def current_request_id() -> str | None:
    return _request_id.get()


def current_platform() -> str | None:
    return _platform.get()


class ContextFilter(logging.Filter):
    """Stamps each record with the request's id and platform as it is emitted (a handler's filters run
    in the caller's context), for formatters to use as `%(request_id)s` and `%(platform)s`. A value given
    with `extra=` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        if getattr(record, "platform", None) is None:
            record.platform = _platform.get()
        return True
