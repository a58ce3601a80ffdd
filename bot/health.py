"""`GET /healthz` for every way the bot runs, so that container probes work in each of them.

Slack HTTP mode answers it on its own server (the port Slack already reaches). Discord-only and
Slack Socket Mode dial out and have no server of their own; there the runner serves `/healthz`
alone on HOST:PORT. Either way the answer covers every platform in the process: 200 when all are
connected, 503 (with which one is not) while any is down or reconnecting, so a readiness probe takes
the pod out of rotation and a liveness probe restarts a bot whose gateway never came back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from bot.errors import ConfigError

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class PlatformHealth:
    ok: bool
    state: str  # what an operator reads: "listening", "connected", "reconnecting", "stopped"


class HasHealth(Protocol):
    name: str

    async def health(self) -> PlatformHealth: ...


class HealthCheck:
    """The process's health: every adapter's, asked at the moment of the probe."""

    def __init__(self, adapters: Sequence[HasHealth]) -> None:
        self.adapters = list(adapters)

    async def report(self) -> tuple[bool, dict[str, Any]]:
        platforms: dict[str, dict[str, Any]] = {}
        for adapter in self.adapters:
            try:
                health = await adapter.health()
            except Exception as exc:  # a probe must answer; a check that fails is a platform that is down
                log.warning("health check of %s failed: %s", adapter.name, exc.__class__.__name__)
                health = PlatformHealth(False, "unknown")
            platforms[adapter.name] = {"ok": health.ok, "state": health.state}
        ok = all(p["ok"] for p in platforms.values())
        return ok, {"ok": ok, "platforms": platforms}

    async def handle(self, request: web.Request) -> web.Response:
        ok, body = await self.report()
        # Probes poll this every few seconds; the default no-store keeps proxies from answering for us.
        return web.json_response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})


class HealthServer:
    """`GET /healthz` alone, for a process whose platforms have no HTTP server of their own."""

    def __init__(self, check: HealthCheck, host: str, port: int) -> None:
        self.check, self.host, self.port = check, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(HEALTH_PATH, self.check.handle)
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
