"""Fixtures: a fake Discord on loopback, and the real adapter (discord.py unmodified) connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord import DiscordAdapter
from bot.core.catalog import Catalog
from bot.service import BotService
from bot.settings import Settings
from bot.storage import Store, open_store
from tests.adapters.discord.fake_discord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()
    assert not server.problems, server.problems


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/t.db")
    yield opened
    opened.close()


def discord_settings(fake: FakeDiscord, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "discord_token": fake.token, "discord_api_url": fake.base_url, "discord_guild_id": None,
        "discord_application_id": None, "slack_bot_token": None, "slack_app_token": None,
        "slack_signing_secret": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # never a developer's .env


@pytest.fixture
def make_adapter(fake: FakeDiscord, service: BotService, store: Store) -> Iterator[Callable[..., DiscordAdapter]]:
    made: list[DiscordAdapter] = []

    def make(*, defer_after: float | None = None, service_: BotService | None = None,
             **settings: Any) -> DiscordAdapter:
        adapter = DiscordAdapter(service_ or service, discord_settings(fake, **settings), store,
                                 defer_after=defer_after)
        made.append(adapter)
        return adapter

    yield make


@pytest.fixture
async def bot(make_adapter: Callable[..., DiscordAdapter]) -> AsyncIterator[DiscordAdapter]:
    """The adapter, started against the fake, commands synced globally."""
    adapter = make_adapter()
    await adapter.start()
    yield adapter
    await adapter.stop()


@pytest.fixture
async def plain_client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A bare discord.py Client logged in and connected to the fake (no bot code), with mentions off
    as the bot sets them: for tests of the fake itself. REST and gateway URLs are pointed at the fake
    the way DiscordAdapter does it, and put back afterwards."""
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = fake.base_url
    # discord.py waits guild_ready_timeout after the last GUILD_CREATE before "ready"; the fake sends them
    # all at once, so a short wait loses nothing and saves two seconds a test.
    client = discord.Client(intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none(),
                            guild_ready_timeout=0.1)
    task: asyncio.Task[None] | None = None
    try:
        await client.login(fake.token)
        _, url, _ = await client.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        task = asyncio.create_task(client.connect(reconnect=False))
        await asyncio.wait_for(client.wait_until_ready(), 10)
        yield client
    finally:
        await client.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, discord.DiscordException, OSError):
                await asyncio.wait_for(task, 5)
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


def give_bot_a_member(fake: FakeDiscord, roles: list[str] | None = None) -> None:
    """Make the fake's GUILD_CREATE carry the bot's own member, with `roles`, as Discord's does even without
    the members intent (it is discord.py's `guild.me`, from which channel permissions are computed).
    Call before the bot connects."""
    original = fake.guild_create

    def guild_create(guild_id: str) -> dict[str, Any]:
        data = original(guild_id)
        data["members"] = [{"user": fake.bot_user, "roles": list(roles or []),
                            "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": False, "mute": False,
                            "flags": 0, "pending": False, "nick": None, "avatar": None, "premium_since": None,
                            "communication_disabled_until": None}]
        return data

    fake.guild_create = guild_create  # type: ignore[method-assign]


@pytest.fixture
def own_service(catalog: Catalog) -> BotService:
    """A service of this test's own, for registering test handlers (register_form, register_click) on."""
    return BotService(catalog)


@pytest.fixture
async def start_adapter(make_adapter: Callable[..., DiscordAdapter]
                        ) -> AsyncIterator[Callable[..., Awaitable[DiscordAdapter]]]:
    """`await start_adapter(**make_adapter's arguments)`: a started adapter, stopped after the test."""
    running: list[DiscordAdapter] = []

    async def start(**kwargs: Any) -> DiscordAdapter:
        adapter = make_adapter(**kwargs)
        await adapter.start()
        running.append(adapter)
        return adapter

    yield start
    for adapter in reversed(running):
        await adapter.stop()
