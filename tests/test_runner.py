"""The runner: starts adapters in order, stops them in reverse on a signal, reloads on SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from bot.errors import PlatformError
from bot.health import HealthCheck, PlatformState
from bot.runner import serve


class RecordingAdapter:
    """A platform that only records what the runner asks of it (stands in for Slack/Discord)."""

    serves_http = False
    health_check: HealthCheck | None = None

    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    async def health(self) -> PlatformState:
        return PlatformState.CONNECTED

    async def start(self) -> None:
        if self.fail:
            raise PlatformError(f"{self.name.upper()}_TOKEN was rejected")
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


async def test_sigterm_stops_every_adapter_in_reverse_order():
    log: list[str] = []
    reloads: list[int] = []
    task = asyncio.create_task(serve([RecordingAdapter("slack", log), RecordingAdapter("discord", log)],
                                     on_reload=lambda: reloads.append(1)))
    while len(log) < 2:
        await asyncio.sleep(0.01)
    os.kill(os.getpid(), signal.SIGHUP)
    await asyncio.sleep(0.05)
    assert reloads == [1]
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
    assert log == ["start slack", "start discord", "stop discord", "stop slack"]


async def test_a_failing_start_stops_what_already_started():
    log: list[str] = []
    with pytest.raises(PlatformError, match="DISCORD_TOKEN"):
        await serve([RecordingAdapter("slack", log), RecordingAdapter("discord", log, fail=True)])
    assert log == ["start slack", "stop slack"]
