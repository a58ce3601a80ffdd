"""GET /healthz from the runner: served for every platform when none has an HTTP server of its own,
answered 503 naming the platform that is down, gone once the bot stops."""

from __future__ import annotations

import asyncio
import logging
import re
import socket

import aiohttp
import pytest

from bot.errors import ConfigError
from bot.health import HealthCheck, PlatformHealth
from bot.runner import serve


class StubPlatform:
    """A platform whose health the test sets (stands in for Discord or Slack Socket Mode)."""

    def __init__(self, name: str, *, serves_http: bool = False) -> None:
        self.name = name
        self.serves_http = serves_http
        self.health_check: HealthCheck | None = None
        self.state = PlatformHealth(True, "connected")
        self.broken = False
        self.stopped = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def health(self) -> PlatformHealth:
        if self.broken:
            raise RuntimeError("the SDK's state could not be read")
        return self.state


async def started_health_port(caplog: pytest.LogCaptureFixture, task: asyncio.Task[None]) -> int:
    for _ in range(500):
        for record in caplog.records:
            if match := re.search(r"health check listening on http://127\.0\.0\.1:(\d+)/healthz",
                                  record.getMessage()):
                return int(match.group(1))
        assert not task.done(), task
        await asyncio.sleep(0.01)
    raise AssertionError("the health server never said it was listening")


async def test_without_an_http_platform_the_runner_answers_healthz_for_every_platform(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    discord, socket_mode = StubPlatform("discord"), StubPlatform("slack")
    stop = asyncio.Event()
    task = asyncio.create_task(serve([discord, socket_mode], stop, health_address=("127.0.0.1", 0)))
    port = await started_health_port(caplog, task)
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            assert await response.json() == {"ok": True, "platforms": {
                "discord": {"ok": True, "state": "connected"}, "slack": {"ok": True, "state": "connected"}}}

        discord.state = PlatformHealth(False, "reconnecting")
        async with session.get(url) as response:
            assert response.status == 503
            body = await response.json()
            assert body["ok"] is False
            assert body["platforms"]["discord"] == {"ok": False, "state": "reconnecting"}
            assert body["platforms"]["slack"]["ok"] is True

        discord.state = PlatformHealth(True, "connected")
        socket_mode.broken = True  # a check that raises still gets an answer, and it is "down"
        async with session.get(url) as response:
            assert response.status == 503
            assert (await response.json())["platforms"]["slack"] == {"ok": False, "state": "unknown"}

        stop.set()
        await asyncio.wait_for(task, 5)
        assert discord.stopped and socket_mode.stopped
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)


async def test_a_platform_with_its_own_http_server_answers_for_all_and_no_second_port_opens(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    slack, discord = StubPlatform("slack", serves_http=True), StubPlatform("discord")
    stop = asyncio.Event()
    task = asyncio.create_task(serve([slack, discord], stop, health_address=("127.0.0.1", 0)))
    while slack.health_check is None:
        await asyncio.sleep(0.01)
    discord.state = PlatformHealth(False, "stopped")
    ok, body = await slack.health_check.report()
    assert not ok and set(body["platforms"]) == {"slack", "discord"}
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not any("health check listening" in r.getMessage() for r in caplog.records)


async def test_a_taken_port_stops_the_bot_with_an_error_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        discord = StubPlatform("discord")
        with pytest.raises(ConfigError, match=f"PORT={port}"):
            await asyncio.wait_for(serve([discord], health_address=("127.0.0.1", port)), 5)
    assert discord.stopped  # what had started is stopped again


async def test_the_console_alone_opens_no_port(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(serve([], stop, health_address=("127.0.0.1", 0)), 5)
    assert not any("health check listening" in r.getMessage() for r in caplog.records)
