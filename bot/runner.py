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
import inspect
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import BotError, ConfigError, PlatformError
from bot.service import BotService
from bot.settings import Settings
from bot.storage import Store

if TYPE_CHECKING:  # bot.health serves HTTP with aiohttp, imported only once a platform is configured
    from bot.health import HealthCheck, HealthServer, PlatformState

log = logging.getLogger(__name__)

# A platform that has neither connected nor failed by then is reported as failing to start: a start-up
# wait (a Retry-After of an hour on auth.test, a gateway that never answers) must not hang the bot.
START_TIMEOUT = 90.0


class PlatformAdapter(Protocol):
    name: str
    serves_http: bool  # has an HTTP server of its own, which then answers the probes for the whole process
    health_check: HealthCheck | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health(self) -> PlatformState: ...


PLATFORMS = ("slack", "discord", "console")


def selected_platforms(settings: Settings, only: frozenset[str] | None = None) -> list[str]:
    """The platforms to run: every configured one, or those of `--only` (each must be configured); the
    console when nothing else is configured, or when asked for."""
    configured = [name for name, on in (("slack", settings.slack_configured),
                                        ("discord", settings.discord_configured)) if on]
    if only is None:
        return configured or ["console"]
    needs = {"slack": "SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)", "discord": "DISCORD_TOKEN"}
    for name in sorted(only - {"console"}):
        if name not in configured:
            raise ConfigError(f"--only {name}: {name} is not configured (it needs {needs[name]})")
    if "console" in only and len(only) > 1:
        raise ConfigError("--only console runs the console chat alone; run the platforms in another process")
    return [name for name in PLATFORMS if name in only]


def configured_adapters(service: BotService, settings: Settings, store: Store,
                        platforms: list[str] | None = None) -> list[PlatformAdapter]:
    chosen = platforms if platforms is not None else selected_platforms(settings)
    adapters: list[PlatformAdapter] = []
    if "slack" in chosen:
        from bot.adapters.slack import SlackAdapter

        adapters.append(SlackAdapter(service, settings, store))
    if "discord" in chosen:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(service, settings, store))
    return adapters


async def serve(adapters: list[PlatformAdapter], stop: asyncio.Event | None = None,
                on_reload: Callable[[], object] | None = None, *,
                health_address: tuple[str, int] | None = None,
                on_started: Callable[[list[PlatformAdapter]], object] | None = None,
                background: Sequence[Callable[[asyncio.Event], Awaitable[None]]] = ()) -> None:
    """Start all adapters, wait for SIGTERM/SIGINT (or `stop`), then stop them all.

    SIGHUP calls `on_reload` (the service's catalog reload), the usual signal for "re-read your files";
    a coroutine it returns runs as a task. SIGTERM and SIGINT win at any moment, during start-up too.
    Once every adapter runs, `on_started(adapters)` is called and each of `background` (the features'
    loops: overlay polling, the scheduler) starts with the stop event, which ends it.
    `health_address` (HOST, PORT): where to serve the probes when no adapter has an HTTP server.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[Any]] = set()

    def reload() -> None:
        # The reload itself runs off the signal handler: an async one (the service loads and indexes in a
        # worker thread) becomes a task, so probes and commands keep being answered meanwhile.
        result = on_reload() if on_reload is not None else None
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            reloads.add(task)
            task.add_done_callback(reloads.discard)

    handlers: dict[signal.Signals, Callable[[], object]] = {signal.SIGTERM: stop.set, signal.SIGINT: stop.set}
    if on_reload is not None:
        handlers[signal.SIGHUP] = reload
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
    running: list[asyncio.Future[None]] = []
    try:
        for adapter in adapters:
            if not await _start(adapter, stop):
                log.info("stopped while %s was starting", adapter.name)
                return
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
        if on_started is not None:
            on_started(started)
        for loop_ in background:
            running.append(asyncio.ensure_future(loop_(stop)))
        # What exists now (modules, SDK clients, the catalog) lives until shutdown: the cyclic collector
        # need not walk it on every full collection while requests come in.
        gc.freeze()
        await stop.wait()
        log.info("shutting down")
    finally:
        stop.set()
        if running:  # the features' loops finish their round (a post under way) before the platforms go
            _, late = await asyncio.wait(running, timeout=10)
            for task in late:
                task.cancel()
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
        for task in list(reloads):
            task.cancel()


async def _start(adapter: PlatformAdapter, stop: asyncio.Event) -> bool:
    """Start `adapter`, unless a stop comes first; False when it did (the start is then cancelled)."""
    starting = asyncio.ensure_future(adapter.start())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({starting, stopping}, timeout=START_TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if starting in done:
        starting.result()  # its PlatformError, if it failed
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, BotError, OSError):
        await starting
    with contextlib.suppress(BotError, OSError, TimeoutError):
        await asyncio.wait_for(adapter.stop(), timeout=10)  # whatever it had opened (a session, a port)
    if stop.is_set():
        return False
    raise PlatformError(f"{adapter.name} did not start within {START_TIMEOUT:.0f} s")
