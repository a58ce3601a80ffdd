"""`GET /healthz` and `GET /readyz` for every way the bot runs, so that container probes work in each, and
`GET /metrics` (bot.metrics) beside them, so that one port is both probed and scraped.

Slack HTTP mode answers them on its own server (the port Slack already reaches). Discord-only and
Slack Socket Mode dial out and have no server of their own; there the runner serves them alone on
HOST:PORT. Both list every platform in the process with its state.

- `/healthz` (liveness) is 503 only when a platform is down for good: stopped, its SDK gave up, or it
  has been reconnecting for more than RECONNECT_GRACE. Until then it is alive: the SDKs reconnect by
  themselves, and a restart would only interrupt the other platform. After that, a restart is the fix,
  or at least the signal: slack-sdk retries a revoked app token every 10 s for ever, while a restarted
  bot stops at once with a line naming SLACK_APP_TOKEN.
- `/readyz` (readiness) is 503 while a platform is not connected. When the process serves Slack over
  HTTP, only that server counts: a Discord outage must not take Slack's traffic away from the pod.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aiohttp import web

from bot.errors import ConfigError
from bot.metrics import METRICS_PATH, metrics_handler

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
# Longer than the usual reconnect (seconds), short enough that a bot that cannot get back gets restarted.
RECONNECT_GRACE = 300.0


class PlatformState(enum.StrEnum):
    LISTENING = "listening"  # an HTTP server taking requests
    CONNECTED = "connected"  # a gateway or socket up
    RECONNECTING = "reconnecting"  # dropped; the SDK is reconnecting by itself
    STALLED = "stalled"  # reconnecting for longer than RECONNECT_GRACE
    DISCONNECTED = "disconnected"  # dropped, and the SDK gave up
    STOPPED = "stopped"
    UNKNOWN = "unknown"  # the check itself failed

    @property
    def ready(self) -> bool:
        return self in (PlatformState.LISTENING, PlatformState.CONNECTED)

    @property
    def live(self) -> bool:
        return self.ready or self is PlatformState.RECONNECTING


class HasHealth(Protocol):
    name: str

    async def health(self) -> PlatformState: ...


class HealthCheck:
    """The process's health, asked of every adapter at the moment of the probe.

    `serving`: the adapters whose readiness decides `/readyz` (default: all of them). A platform seen
    reconnecting is timed from the first probe that saw it so, which is soon enough: probes poll.
    """

    def __init__(self, adapters: Sequence[HasHealth], serving: Sequence[HasHealth] | None = None, *,
                 reconnect_grace: float = RECONNECT_GRACE, clock: Callable[[], float] = time.monotonic) -> None:
        self.adapters = list(adapters)
        self.serving = {adapter.name for adapter in (serving or adapters)}
        self.reconnect_grace = reconnect_grace
        self.clock = clock
        self._reconnecting_since: dict[str, float] = {}

    async def states(self) -> dict[str, PlatformState]:
        states: dict[str, PlatformState] = {}
        for adapter in self.adapters:
            try:
                state = await adapter.health()
            except Exception as exc:  # a probe must answer; a check that fails counts as a platform down
                log.warning("health check of %s failed: %s", adapter.name, exc.__class__.__name__)
                state = PlatformState.UNKNOWN
            if state is PlatformState.RECONNECTING:
                since = self._reconnecting_since.setdefault(adapter.name, self.clock())
                if self.clock() - since > self.reconnect_grace:
                    state = PlatformState.STALLED
            else:
                self._reconnecting_since.pop(adapter.name, None)
            states[adapter.name] = state
        return states

    async def live(self) -> tuple[bool, dict[str, Any]]:
        states = await self.states()
        return _verdict(all(state.live for state in states.values()), states)

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        states = await self.states()
        return _verdict(all(state.ready for name, state in states.items() if name in self.serving), states)

    async def handle_live(self, request: web.Request) -> web.Response:
        return _answer(*await self.live())

    async def handle_ready(self, request: web.Request) -> web.Response:
        return _answer(*await self.ready())

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(HEALTH_PATH, self.handle_live)
        app.router.add_get(READY_PATH, self.handle_ready)
        app.router.add_get(METRICS_PATH, metrics_handler)


def _verdict(ok: bool, states: dict[str, PlatformState]) -> tuple[bool, dict[str, Any]]:
    return ok, {"ok": ok, "platforms": {name: str(state) for name, state in states.items()}}


def _answer(ok: bool, body: dict[str, Any]) -> web.Response:
    # Probes poll every few seconds: no proxy or client cache may answer for the bot.
    return web.json_response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})


class HealthServer:
    """`/healthz`, `/readyz` and `/metrics` alone, for a process whose platforms have no HTTP server of their own."""

    def __init__(self, check: HealthCheck, host: str, port: int) -> None:
        self.check, self.host, self.port = check, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        self.check.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            await self.stop()
            raise ConfigError(f"cannot listen on HOST={self.host} PORT={self.port} for {HEALTH_PATH}: "
                              f"{exc.strerror or exc}") from None
        self.port = int(self._runner.addresses[0][1])
        log.info("health check listening on http://%s:%d%s", self.host, self.port, HEALTH_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
