"""`mlops-bot run` with Slack and Discord both configured: one process, one loop, both answer,
and SIGTERM stops both cleanly. Each platform is its fake on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import RunningBot, clean_env


async def test_slack_and_discord_in_one_process(tmp_path: Path):
    slack = await FakeSlack().start()
    discord = FakeDiscord()
    await discord.start()
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
                    HOST="127.0.0.1", PORT="0", DISCORD_TOKEN=discord.token, DISCORD_API_URL=discord.base_url,
                    DATABASE_URL=f"sqlite:///{tmp_path}/both.db", LOG_LEVEL="INFO")
    bot = await RunningBot.start(env, tmp_path)
    try:
        port = await bot.port(r"listening on http://127\.0\.0\.1:(\d+)/slack/events")
        await discord.wait_until(lambda: discord.identifies and discord.commands, timeout=30)

        async with aiohttp.ClientSession() as session:
            # The probes are on the Slack server, for both platforms.
            for probe in ("healthz", "readyz"):
                async with session.get(f"http://127.0.0.1:{port}/{probe}") as response:
                    assert response.status == 200
                    assert await response.json() == {"ok": True, "platforms": {"slack": "listening",
                                                                               "discord": "connected"}}
            message = await SlackClient(session, f"http://127.0.0.1:{port}", slack).command("resource feast")
        assert message["response_type"] == "ephemeral"
        assert "Feast" in str(message["blocks"])

        payload = await discord.slash("resource", query="feast")
        response = await discord.response(payload, timeout=10)
        assert response["data"]["flags"] & 64  # ephemeral
        assert "Feast" in str(response["data"]["embeds"])

        output = await bot.terminate()
        assert bot.proc.returncode == 0, output
        assert "Traceback" not in output
        assert BOT_TOKEN not in output and discord.token not in output
    finally:
        await bot.kill()
        await slack.close()
        await discord.close()
    assert not discord.problems, discord.problems


async def test_only_runs_the_platforms_named_of_those_configured(tmp_path: Path):
    slack = await FakeSlack().start()
    discord = FakeDiscord()
    await discord.start()
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
                    HOST="127.0.0.1", PORT="0", DISCORD_TOKEN=discord.token, DISCORD_API_URL=discord.base_url,
                    DATABASE_URL=f"sqlite:///{tmp_path}/only.db", LOG_LEVEL="INFO")
    bot = await RunningBot.start(env, tmp_path, "--only", "slack")
    try:
        port = await bot.port(r"listening on http://127\.0\.0\.1:(\d+)/slack/events")
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert (await response.json())["platforms"] == {"slack": "listening"}
        output = await bot.terminate()
        assert bot.proc.returncode == 0, output
        assert not discord.identifies and not discord.requests  # Discord never contacted
    finally:
        await bot.kill()
        await slack.close()
        await discord.close()


async def test_only_a_platform_that_is_not_configured_is_one_line(tmp_path: Path):
    bot = await RunningBot.start(clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/x.db"), tmp_path, "--only", "discord")
    _, err = await bot.proc.communicate()
    assert bot.proc.returncode == 1
    assert err.decode().strip() == "mlops-bot: --only discord: discord is not configured (it needs DISCORD_TOKEN)"
