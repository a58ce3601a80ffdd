"""DiscordAdapter: discord.py's Client with the `/mlops` tree, started and stopped by the runner.

Start-up: log in over REST (a bad token fails here, naming DISCORD_TOKEN), sync the command tree if
its definitions changed since the last sync, then connect the gateway and return once READY arrived.
No privileged intent: interactions reach a bot whatever its intents.

`DISCORD_API_URL` replaces discord.py's REST base (`discord.http.Route.BASE`). That is a class
attribute, so it applies to the whole process; with it set, the gateway URL is taken from that
server's `GET /gateway/bot` answer (as Discord documents) instead of discord.py's built-in default.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord.commands import (
    FixButton,
    MoreButton,
    RefButton,
    Responder,
    ShareButton,
    build_tree,
    command_payload,
    group_name,
)
from bot.adapters.discord.modals import FORM_TEMPLATE
from bot.adapters.discord.poster import DiscordPoster
from bot.adapters.http_metrics import platform_trace
from bot.errors import PlatformError
from bot.health import HealthCheck, PlatformState
from bot.service import BotService
from bot.settings import Settings
from bot.storage import Store

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 60.0
# A rate limit longer than this raises discord.RateLimited instead of sleeping: an interaction cannot wait
# that long anyway, and a post had better be retried later by its caller (30 s is discord.py's minimum).
MAX_RATELIMIT_WAIT = 30.0


def sync_key(application_id: int, guild_id: int | None) -> str:
    return f"discord:commands:{application_id}:{guild_id if guild_id is not None else 'global'}"


def definitions_hash(payload: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class MlopsClient(discord.Client):
    def __init__(self, responder: Responder, store: Store, settings: Settings,
                 http_trace: aiohttp.TraceConfig | None = None) -> None:
        super().__init__(
            http_trace=http_trace,
            # Interactions need no intent; `guilds` (not privileged) keeps discord.py's channel cache sound.
            intents=discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
            application_id=settings.discord_application_id,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
        )
        self.responder = responder  # read by the buttons (commands.ShareButton, MoreButton)
        self.store = store
        self.guild_id = settings.discord_guild_id
        self.tree = build_tree(self, responder, guild_id=self.guild_id, name=group_name(settings.command_name))
        self.connected = asyncio.Event()
        self.synced: bool | None = None  # whether the last start sent the definitions

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ShareButton, MoreButton, RefButton, FixButton)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync only when the definitions changed: Discord allows 200 command creates a day per guild."""
        assert self.application_id is not None  # known after login
        key = sync_key(self.application_id, self.guild_id)
        digest = definitions_hash(command_payload(self.tree, self.guild_id))
        if await self.store.get(key) == digest:
            log.info("discord: command definitions unchanged, not syncing")
            self.synced = False
            return
        guild = discord.Object(id=self.guild_id) if self.guild_id is not None else None
        try:
            await self.tree.sync(guild=guild)
        except discord.Forbidden as exc:
            raise PlatformError(
                f"Discord refused to register the commands (HTTP {exc.status}): invite the bot with the "
                "applications.commands scope (mlops-bot discord invite-url) to the server in DISCORD_GUILD_ID",
            ) from None
        await self.store.set(key, digest)
        self.synced = True
        log.info("discord: synced the command definitions %s",
                 f"to guild {self.guild_id}" if guild else "globally (may take up to an hour to show)")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Modal submits, by custom_id: the modal needs no memory of having been shown, so one opened before
        a restart is still understood (discord.py's own routing would need the Modal object)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return  # commands go to the tree, buttons to their DynamicItem
        custom_id = (interaction.data or {}).get("custom_id")
        match = FORM_TEMPLATE.fullmatch(custom_id) if isinstance(custom_id, str) else None
        if match is not None:
            await self.responder.submit(interaction, match["kind"], match["ref"])

    async def on_connect(self) -> None:
        self.connected.set()

    async def on_resumed(self) -> None:
        log.info("discord: gateway session resumed")


class DiscordAdapter:
    name = "discord"
    serves_http = False  # the gateway dials out; the runner serves the probes
    health_check: HealthCheck | None = None

    def __init__(self, service: BotService, settings: Settings, store: Store, *,
                 defer_after: float | None = None, http_trace: aiohttp.TraceConfig | None = None) -> None:
        """`defer_after`: seconds before a still-running answer is deferred (0: always defer).
        `http_trace`: aiohttp tracing of discord.py's HTTP requests (the benchmark times callbacks with it)."""
        self.service = service
        self.settings = settings
        self.store = store
        timing = {} if defer_after is None else {"defer_after": defer_after}
        self.responder = Responder(service, guild_id=settings.discord_guild_id, **timing)
        self.client: MlopsClient | None = None
        self.poster: DiscordPoster | None = None  # set by start(): what the app layer posts through
        self._task: asyncio.Task[None] | None = None
        self._saved: tuple[str, yarl.URL] | None = None
        # discord.py's REST calls, counted for /metrics, unless the caller traces them itself (the bench).
        self._http_trace = http_trace or platform_trace("discord")
        self._stopping = False

    async def start(self) -> None:
        if self.settings.discord_token is None:
            raise PlatformError("DISCORD_TOKEN is not set")
        self._point_rest()
        client = self.client = MlopsClient(self.responder, self.store, self.settings, self._http_trace)
        try:
            await client.login(self.settings.discord_token.get_secret_value())
            if self.settings.discord_api_url:
                _, url, _ = await client.http.get_bot_gateway()
                DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        except discord.LoginFailure:
            await self._abort()
            raise PlatformError("Discord rejected DISCORD_TOKEN (401): copy the token again from the "
                                "Developer Portal, Bot page") from None
        except (discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            await self._abort()
            raise PlatformError(f"could not start on Discord ({_where(self.settings)}): "
                                f"{exc.__class__.__name__}: {_one_line(exc)}") from None
        except BaseException:  # ours (BotError), a bug, a cancellation: close the HTTP session all the same
            await self._abort()
            raise

        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        connected = asyncio.create_task(client.connected.wait())
        done, _ = await asyncio.wait({self._task, connected}, timeout=CONNECT_TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        if connected not in done:
            connected.cancel()
            error = self._task.exception() if self._task in done and not self._task.cancelled() else None
            await self._abort()
            if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
                raise PlatformError("the Discord gateway rejected DISCORD_TOKEN (close code 4004)") from None
            if isinstance(error, discord.PrivilegedIntentsRequired):
                raise PlatformError("the Discord gateway asked for privileged intents (close code 4014)") from None
            reason = f"{error.__class__.__name__}: {_one_line(error)}" if error else "timed out"
            raise PlatformError(f"could not connect to the Discord gateway: {reason}")
        self._task.add_done_callback(_log_end)
        self.poster = DiscordPoster(client, guild_id=self.settings.discord_guild_id)
        log.info("discord: connected as %s (application %s)", client.user, client.application_id)

    async def health(self) -> PlatformState:
        client = self.client
        if client is None or self._task is None or self._stopping:
            return PlatformState.STOPPED
        if self._task.done() or client.is_closed():  # discord.py gave up: a fatal close, e.g. a reset token
            return PlatformState.DISCONNECTED
        if client.ws is not None and client.ws.open:
            return PlatformState.CONNECTED
        return PlatformState.RECONNECTING  # discord.py is backing off between attempts

    async def stop(self) -> None:
        self._stopping = True
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, discord.DiscordException, OSError):
                await asyncio.wait_for(self._task, timeout=5)
        self._restore()

    async def _abort(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._restore()

    def _point_rest(self) -> None:
        self._saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self.settings.discord_api_url:
            Route.BASE = self.settings.discord_api_url.rstrip("/")

    def _restore(self) -> None:
        if self._saved is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved
            self._saved = None


def _where(settings: Settings) -> str:
    return f"DISCORD_API_URL={settings.discord_api_url}" if settings.discord_api_url else "discord.com"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def _log_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("discord: the gateway connection ended: %s: %s", error.__class__.__name__, _one_line(error))
