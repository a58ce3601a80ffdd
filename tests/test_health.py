"""The probes from the runner: /healthz (liveness) and /readyz (readiness) for every platform, served
on their own port when no platform has an HTTP server, 503 naming the platform at fault, gone once the
bot stops; and /metrics beside them, on the same port."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.health import HealthCheck, PlatformState
from bot.runner import serve
from tests.conftest import eventually

State = PlatformState


class StubPlatform:
    """A platform whose state the test sets (stands in for Discord or Slack)."""

    def __init__(self, name: str, *, serves_http: bool = False) -> None:
        self.name = name
        self.serves_http = serves_http
        self.health_check: HealthCheck | None = None
        self.state = State.CONNECTED
        self.broken = False
        self.stopped = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def health(self) -> PlatformState:
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


async def probe(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(url) as response:
        assert response.headers["Cache-Control"] == "no-store"
        return response.status, await response.json()


@pytest.mark.parametrize(("state", "live", "ready"), [
    (State.LISTENING, True, True), (State.CONNECTED, True, True), (State.RECONNECTING, True, False),
    (State.STALLED, False, False), (State.DISCONNECTED, False, False), (State.STOPPED, False, False),
    (State.UNKNOWN, False, False)])
def test_what_each_state_means_for_the_probes(state: PlatformState, live: bool, ready: bool) -> None:
    assert (state.live, state.ready) == (live, ready)


async def test_without_an_http_platform_the_runner_serves_the_probes_for_every_platform(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    discord, socket_mode = StubPlatform("discord"), StubPlatform("slack")
    stop = asyncio.Event()
    task = asyncio.create_task(serve([discord, socket_mode], stop, health_address=("127.0.0.1", 0)))
    base = f"http://127.0.0.1:{await started_health_port(caplog, task)}"
    async with aiohttp.ClientSession() as session:
        up = {"ok": True, "platforms": {"discord": "connected", "slack": "connected"}}
        assert await probe(session, f"{base}/healthz") == (200, up)
        assert await probe(session, f"{base}/readyz") == (200, up)

        # Reconnecting: alive (the SDK is on it), not ready.
        discord.state = State.RECONNECTING
        assert (await probe(session, f"{base}/healthz"))[0] == 200
        status, body = await probe(session, f"{base}/readyz")
        assert status == 503 and body == {"ok": False, "platforms": {"discord": "reconnecting", "slack": "connected"}}

        # Given up: neither, so that a liveness probe restarts the bot.
        discord.state = State.DISCONNECTED
        status, body = await probe(session, f"{base}/healthz")
        assert status == 503 and body["platforms"]["discord"] == "disconnected"

        # A check that raises still gets an answer, and counts as down.
        discord.state, socket_mode.broken = State.CONNECTED, True
        status, body = await probe(session, f"{base}/healthz")
        assert status == 503 and body["platforms"] == {"discord": "connected", "slack": "unknown"}

        stop.set()
        await asyncio.wait_for(task, 5)
        assert discord.stopped and socket_mode.stopped
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{base}/healthz")


async def test_with_a_slack_http_server_it_answers_for_all_and_only_its_own_state_decides_readiness(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    slack, discord = StubPlatform("slack", serves_http=True), StubPlatform("discord")
    slack.state = State.LISTENING
    stop = asyncio.Event()
    task = asyncio.create_task(serve([slack, discord], stop, health_address=("127.0.0.1", 0)))
    while slack.health_check is None:
        await asyncio.sleep(0.01)
    check = slack.health_check
    # A Discord outage must not take Slack's traffic away from the pod...
    discord.state = State.RECONNECTING
    ok, body = await check.ready()
    assert ok and body["platforms"] == {"slack": "listening", "discord": "reconnecting"}
    # ...but a Discord that gave up still fails liveness, and a Slack server that is down fails readiness.
    discord.state = State.DISCONNECTED
    assert (await check.live())[0] is False
    discord.state, slack.state = State.CONNECTED, State.STOPPED
    assert (await check.ready())[0] is False
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not any("health check listening" in r.getMessage() for r in caplog.records)  # no second port


async def test_reconnecting_for_longer_than_the_grace_fails_liveness_until_connected_again() -> None:
    now = [1000.0]
    discord = StubPlatform("discord")
    check = HealthCheck([discord], reconnect_grace=300, clock=lambda: now[0])
    discord.state = State.RECONNECTING
    assert (await check.live())[0] is True
    now[0] += 299
    assert (await check.live())[0] is True
    now[0] += 2
    ok, body = await check.live()
    assert not ok and body["platforms"] == {"discord": "stalled"}
    discord.state = State.CONNECTED  # back: the clock starts again from the next drop
    assert (await check.live())[0] is True
    discord.state = State.RECONNECTING
    now[0] += 10
    assert (await check.live())[0] is True


async def test_a_taken_port_leaves_the_bot_running_without_probes_and_says_so(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.runner")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        discord = StubPlatform("discord")
        stop = asyncio.Event()
        task = asyncio.create_task(serve([discord], stop, health_address=("127.0.0.1", port)))

        async def warned() -> bool:
            return any(f"PORT={port}" in r.getMessage() and "running without /healthz" in r.getMessage()
                       for r in caplog.records)

        await eventually(warned, True, timeout=5)
        assert not task.done() and not discord.stopped  # Discord keeps answering
        stop.set()
        await asyncio.wait_for(task, 5)
    assert discord.stopped


async def test_the_console_alone_opens_no_port(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(serve([], stop, health_address=("127.0.0.1", 0)), 5)
    assert not any("health check listening" in r.getMessage() for r in caplog.records)


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        assert response.headers["Cache-Control"] == "no-store"
        return {family.name: family for family in text_string_to_metric_families(await response.text())}


async def test_the_runners_own_probe_port_serves_the_metrics_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.health")
    stop = asyncio.Event()
    task = asyncio.create_task(serve([StubPlatform("discord")], stop, health_address=("127.0.0.1", 0)))
    base = f"http://127.0.0.1:{await started_health_port(caplog, task)}"
    try:
        async with aiohttp.ClientSession() as session:
            metrics.count_command("week", "discord", "ok")
            found = await scrape(session, f"{base}/metrics")
            (sample,) = [s for s in found["mlops_commands"].samples
                         if s.labels == {"command": "week", "platform": "discord", "outcome": "ok"}]
            metrics.count_command("week", "discord", "ok")
            (again,) = [s for s in (await scrape(session, f"{base}/metrics"))["mlops_commands"].samples
                        if s.labels == sample.labels]
            assert again.value == sample.value + 1
            assert "process_resident_memory_bytes" in found  # what the pods' memory limits are set from
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_any_server_the_health_check_adds_its_routes_to_serves_the_metrics() -> None:
    # The Slack HTTP server is built so: its own routes, then the health check's.
    app = web.Application()
    HealthCheck([StubPlatform("slack", serves_http=True)]).add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            assert "mlops_reply_seconds" in await scrape(session, f"http://127.0.0.1:{port}/metrics")
            status, _ = await probe(session, f"http://127.0.0.1:{port}/healthz")
            assert status == 200
    finally:
        await runner.cleanup()


async def test_a_scrape_reads_the_database_gauges_first_and_still_answers_when_that_fails(
        caplog: pytest.LogCaptureFixture) -> None:
    async def counts_from_the_database() -> None:
        await asyncio.sleep(0)
        metrics.set_suggestions({"pending": 7, "approved": 40, "rejected": 3})

    def broken() -> None:
        raise ConnectionError("the database is down")

    app = web.Application()
    HealthCheck([StubPlatform("discord")]).add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
    removers = [metrics.on_scrape(counts_from_the_database), metrics.on_scrape(broken)]
    try:
        metrics.set_suggestions({})
        async with aiohttp.ClientSession() as session:
            found = await scrape(session, url)
        states = {s.labels["state"]: s.value for s in found["mlops_suggestions"].samples}
        assert states == {"pending": 7, "approved": 40, "rejected": 3}
        assert any("refreshing metrics before a scrape failed: ConnectionError" in r.getMessage()
                   for r in caplog.records)
    finally:
        for remove in removers:
            remove()
        await runner.cleanup()
