"""Start-up against the fake Discord: login, command sync (only when changed), gateway, errors, resume."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.client import sync_key
from bot.adapters.discord.commands import command_payload
from bot.core.registry import specs
from bot.errors import PlatformError
from bot.health import PlatformState
from bot.service import BotService
from bot.storage import Store
from tests.adapters.discord.conftest import discord_settings
from tests.adapters.discord.fake_discord import PRIVILEGED_INTENTS, FakeDiscord
from tests.conftest import RunningBot, clean_env, eventually


async def test_start_logs_in_syncs_the_tree_and_connects(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    assert bot.client is not None
    # REST went to DISCORD_API_URL, the gateway to what its GET /gateway/bot named.
    assert fake.base_url == Route.BASE
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
    paths = [(r.method, r.path) for r in fake.requests]
    assert ("GET", "/users/@me") in paths
    assert paths.count(("PUT", f"/applications/{fake.app_id}/commands")) == 1

    scope, payload = fake.sync_requests[0]
    assert scope is None  # no DISCORD_GUILD_ID: global commands
    assert payload == command_payload(bot.client.tree, None)
    (group,) = payload
    assert group["name"] == "mlops"
    subcommands = {o["name"]: o for o in group["options"]}
    # One subcommand per command of the registry, whatever it holds.
    assert set(subcommands) == {s.name for s in specs()} >= {"resource", "list", "compare", "path", "week", "help"}
    options = {o["name"]: o for o in subcommands["resource"]["options"]}
    assert options["query"]["autocomplete"] is True and options["query"]["required"] is True
    assert [c["value"] for c in options["level"]["choices"]] == ["beginner", "intermediate", "advanced"]
    assert "paper" in [c["value"] for c in options["kind"]["choices"]]
    assert {o["name"]: o for o in subcommands["list"]["options"]}["category"]["autocomplete"] is True
    assert [c["value"] for c in subcommands["path"]["options"][0]["choices"]] == ["beginner", "intermediate",
                                                                                  "advanced"]
    week = subcommands["week"]["options"][0]
    assert (week["type"], week["min_value"], week["max_value"]) == (4, 1, 10)

    # No privileged intents (no intents at all), and heartbeats are acknowledged.
    (identify,) = fake.identifies
    assert identify["intents"] & PRIVILEGED_INTENTS == 0
    await fake.wait_until(lambda: fake.heartbeats >= 2)
    assert bot.client.is_ws_ratelimited() is False


async def test_stop_restores_the_process_wide_urls(make_adapter: Callable[..., DiscordAdapter]) -> None:
    before = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    adapter = make_adapter()
    await adapter.start()
    await adapter.stop()
    assert before == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


async def test_guild_commands_sync_to_that_guild(fake: FakeDiscord, make_adapter: Callable[..., DiscordAdapter],
                                                 store: Store) -> None:
    adapter = make_adapter(discord_guild_id=fake.guild_id)
    await adapter.start()
    try:
        assert [scope for scope, _ in fake.sync_requests] == [fake.guild_id]
        assert fake.requests[-1].path != f"/applications/{fake.app_id}/commands"
        assert await store.get(sync_key(fake.app_id, fake.guild_id)) is not None
        payload = await fake.slash("help", scope=fake.guild_id)
        body = await fake.response(payload)
        assert body["data"]["embeds"][0]["title"] == "MLOps learning resources"
    finally:
        await adapter.stop()


async def test_syncs_only_when_the_definitions_changed(fake: FakeDiscord,
                                                       make_adapter: Callable[..., DiscordAdapter]) -> None:
    first = make_adapter()
    await first.start()
    await first.stop()
    assert len(fake.sync_requests) == 1 and first.client is not None and first.client.synced is True

    again = make_adapter()  # same definitions, same store: no request at all
    await again.start()
    try:
        assert len(fake.sync_requests) == 1 and again.client is not None and again.client.synced is False
        payload = await fake.slash("help")  # the commands Discord has are still answered
        await fake.response(payload)
    finally:
        await again.stop()

    renamed = make_adapter(command_name="/learn")  # a changed definition syncs again
    await renamed.start()
    await renamed.stop()
    assert len(fake.sync_requests) == 2
    assert fake.sync_requests[-1][1][0]["name"] == "learn"


async def test_a_429_with_retry_after_is_waited_out_and_retried(fake: FakeDiscord,
                                                                make_adapter: Callable[..., DiscordAdapter]) -> None:
    fake.inject_429("PUT", rf"/applications/{fake.app_id}/commands", retry_after=0.2)
    adapter = make_adapter()
    started = asyncio.get_running_loop().time()
    await adapter.start()
    try:
        puts = [r for r in fake.requests if r.method == "PUT"]
        assert [r.status for r in puts] == [429, 200]
        assert puts[0].body == puts[1].body
        assert asyncio.get_running_loop().time() - started >= 0.2
        assert len(fake.commands[None]) == 1
    finally:
        await adapter.stop()


async def test_a_rate_limited_interaction_callback_is_retried(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    fake.inject_429("POST", r"/interactions/\d+/[^/]+/callback", retry_after=0.05)
    payload = await fake.slash("help")
    body = await fake.response(payload)
    statuses = [r.status for r in fake.requests if r.path.endswith("/callback")]
    assert statuses == [429, 200]
    assert body["type"] == 4


async def test_a_resumable_close_resumes_the_session_and_still_answers(fake: FakeDiscord,
                                                                       bot: DiscordAdapter) -> None:
    await fake.wait_until(lambda: fake.seq >= 1)
    session, seq = fake.session_id, fake.seq
    await fake.close_gateway(4000)  # "unknown error": Discord says reconnect and resume
    await fake.wait_until(lambda: fake.resumes)
    assert fake.resumes[0]["session_id"] == session
    assert fake.resumes[0]["seq"] == seq
    assert len(fake.identifies) == 1  # resumed, not re-identified
    await fake.wait_until(lambda: len([ws for ws in fake.sockets if not ws.closed]) == 1)

    payload = await fake.slash("resource", query="feature-store")
    body = await fake.response(payload)
    assert body["data"]["embeds"][0]["title"] == "Resources for “feature-store”"


async def test_health_follows_the_gateway_connection(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    assert await bot.health() == PlatformState.CONNECTED
    fake.gateway_down = True  # an outage: the session drops and reconnecting fails for a while
    await fake.close_gateway(4000)
    await eventually(bot.health, PlatformState.RECONNECTING, timeout=3)
    fake.gateway_down = False
    await eventually(bot.health, PlatformState.CONNECTED, timeout=30)  # discord.py backs off between attempts
    await bot.stop()
    assert await bot.health() == PlatformState.STOPPED


async def test_a_gateway_that_refuses_the_session_for_good_is_reported_disconnected(
        fake: FakeDiscord, bot: DiscordAdapter) -> None:
    await fake.close_gateway(4004)  # "authentication failed", e.g. the token was reset: discord.py gives up
    await eventually(bot.health, PlatformState.DISCONNECTED, timeout=5)
    assert not PlatformState.DISCONNECTED.live  # /healthz fails, and the bot is restarted


async def test_cli_run_discord_only_serves_healthz_on_port(fake: FakeDiscord, tmp_path: Path) -> None:
    env = clean_env(DISCORD_TOKEN=fake.token, DISCORD_API_URL=fake.base_url, HOST="127.0.0.1", PORT="0",
                    DATABASE_URL=f"sqlite:///{tmp_path}/health.db", LOG_LEVEL="INFO")
    bot = await RunningBot.start(env, tmp_path)
    try:
        port = await bot.port(r"health check listening on http://127\.0\.0\.1:(\d+)/healthz")
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"ok": True, "platforms": {"discord": "connected"}}
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/readyz") as response:
            assert response.status == 200
        # The container's own check (deploy/Dockerfile) passes against it, and fails where nothing answers.
        assert await docker_healthcheck(port) == 0
        output = await bot.terminate()
        assert bot.proc.returncode == 0, output
        assert await docker_healthcheck(port) != 0
    finally:
        await bot.kill()


async def docker_healthcheck(port: int) -> int:
    """Run deploy/Dockerfile's HEALTHCHECK command, as Docker would inside the container, on `port`."""
    dockerfile = (Path(__file__).parents[3] / "deploy" / "Dockerfile").read_text()
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", dockerfile.replace("\\\n", ""), re.MULTILINE)
    assert match, "deploy/Dockerfile has no HEALTHCHECK in exec form"
    program, *args = json.loads(match.group(1))
    assert program == "python"
    check = await asyncio.create_subprocess_exec(sys.executable, *args, env=clean_env(PORT=str(port)),
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return await asyncio.wait_for(check.wait(), 20)


async def test_a_bad_token_fails_start_with_an_error_naming_the_setting(
        fake: FakeDiscord, make_adapter: Callable[..., DiscordAdapter]) -> None:
    bad = "NDI0MjQy.bad.token-value"
    adapter = make_adapter(discord_token=bad)
    with pytest.raises(PlatformError) as caught:
        await adapter.start()
    message = str(caught.value)
    assert "DISCORD_TOKEN" in message and "\n" not in message and bad not in message
    assert not fake.sync_requests and not fake.identifies
    assert fake.base_url != Route.BASE  # restored


async def test_cli_run_with_a_bad_token_exits_with_one_line(fake: FakeDiscord, tmp_path: object) -> None:
    env = clean_env(DISCORD_TOKEN="NDI0MjQy.bad.token-value", DISCORD_API_URL=fake.base_url,
                    DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", LOG_LEVEL="ERROR")
    proc = (await RunningBot.start(env, Path(tmp_path))).proc
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert proc.returncode == 1, stderr.decode()
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0], lines
    assert "bad.token-value" not in stderr.decode() + stdout.decode()


async def test_an_unexpected_error_at_start_is_logged_with_secrets_masked(fake: FakeDiscord, tmp_path: Path) -> None:
    # discord.py fails on a malformed user with a ValueError that quotes the value: here, the token.
    fake.inject("GET", "/users/@me", 200, {"id": fake.token, "username": "mlops", "discriminator": "0"})
    env = clean_env(DISCORD_TOKEN=fake.token, DISCORD_API_URL=fake.base_url, HOST="127.0.0.1", PORT="0",
                    DATABASE_URL=f"sqlite:///{tmp_path}/crash.db", LOG_LEVEL="INFO")
    proc = (await RunningBot.start(env, Path(tmp_path))).proc
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    output = stderr.decode() + stdout.decode()
    assert proc.returncode == 1, output
    assert "mlops-bot stopped on an unexpected error" in output and "ValueError" in output
    assert fake.token not in output
    assert "Unclosed" not in output  # the adapter closed its HTTP session on the way out


async def test_the_client_disables_every_mention(bot: DiscordAdapter) -> None:
    assert bot.client is not None and bot.client.allowed_mentions is not None
    assert bot.client.allowed_mentions.to_dict() == {"parse": []}


def test_with_slack_configured_too_both_adapters_run(fake: FakeDiscord, service: BotService, store: Store) -> None:
    from bot.runner import configured_adapters

    settings = discord_settings(fake, slack_bot_token="xoxb-1", slack_signing_secret="s" * 32)
    assert [a.name for a in configured_adapters(service, settings, store)] == ["slack", "discord"]
