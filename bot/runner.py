"""`mlops-bot run`: start every configured platform in one event loop and stop them cleanly.

An adapter is anything with `name`, `async start()` (returns once it is connected or listening,
raises PlatformError on a bad token), `async stop()` and `async health()`. The console is used when
none is configured. `GET /healthz` and `/readyz` cover every adapter: on the Slack HTTP server when
there is one, otherwise on a server of their own (see bot.health).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from bot.errors import BotError, ConfigError
from bot.service import BotService
from bot.settings import Settings
from bot.storage import Store

if TYPE_CHECKING:  # bot.health serves HTTP with aiohttp, imported only once a platform is configured
    from bot.health import HealthCheck, HealthServer, PlatformState

log = logging.getLogger(__name__)


class PlatformAdapter(Protocol):
    name: str
    serves_http: bool  # has an HTTP server of its own, which then answers the probes for the whole process
    health_check: HealthCheck | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health(self) -> PlatformState: ...


def configured_adapters(service: BotService, settings: Settings, store: Store) -> list[PlatformAdapter]:
    adapters: list[PlatformAdapter] = []
    if settings.slack_configured:
        from bot.adapters.slack import SlackAdapter

        adapters.append(SlackAdapter(service, settings, store))
    if settings.discord_configured:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(service, settings, store))
    return adapters


async def serve(adapters: list[PlatformAdapter], stop: asyncio.Event | None = None,
                on_reload: Callable[[], object] | None = None, *,
                health_address: tuple[str, int] | None = None) -> None:
    """Start all adapters, wait for SIGTERM/SIGINT (or `stop`), then stop them all.

    SIGHUP calls `on_reload` (the service's catalog reload), the usual signal for "re-read your files".
    `health_address` (HOST, PORT): where to serve the probes when no adapter has an HTTP server.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handlers: dict[signal.Signals, Callable[[], object]] = {signal.SIGTERM: stop.set, signal.SIGINT: stop.set}
    if on_reload is not None:
        handlers[signal.SIGHUP] = on_reload
    for sig, callback in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, callback)
    hosts = [adapter for adapter in adapters if adapter.serves_http]
    check: HealthCheck | None = None
    if adapters:
        from bot.health import HealthCheck

        # Readiness is about the traffic this pod receives: with a Slack HTTP server, that server's alone.
        check = HealthCheck(adapters, serving=hosts or None)
        for adapter in hosts:
            adapter.health_check = check
    health_server: HealthServer | None = None
    started: list[PlatformAdapter] = []
    try:
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
            log.info("%s is running", adapter.name)
        if check is not None and not hosts and health_address is not None:
            from bot.health import HealthServer

            health_server = HealthServer(check, *health_address)
            try:
                await health_server.start()
            except ConfigError as exc:
                # Here the port serves only the probes, and the platforms work without it: a port that is
                # taken on a laptop (3000 often is) must not stop the bot. A probe that finds nothing says so.
                log.warning("%s; running without /healthz and /readyz (set PORT to a free port)", exc)
                health_server = None
        # What exists now (modules, SDK clients, the catalog) lives until shutdown: the cyclic collector
        # need not walk it on every full collection while requests come in.
        gc.freeze()
        await stop.wait()
        log.info("shutting down")
    finally:
        if health_server is not None:  # first: probes see the bot go before its platforms do
            await health_server.stop()
        for adapter in reversed(started):
            try:
                await asyncio.wait_for(adapter.stop(), timeout=10)
            except (BotError, OSError, TimeoutError) as exc:
                log.warning("%s did not stop cleanly: %s", adapter.name, exc)
        for sig in handlers:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
