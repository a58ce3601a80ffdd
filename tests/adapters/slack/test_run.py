"""`mlops-bot run` itself, as a process: Slack HTTP mode against the fake, SIGTERM, and a bad token."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import RunningBot, clean_env


def run_env(fake: FakeSlack, tmp_path: Path, token: str = BOT_TOKEN) -> dict[str, str]:
    return clean_env(SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
                     HOST="127.0.0.1", PORT="0", DATABASE_URL=f"sqlite:///{tmp_path}/run.db", LOG_LEVEL="INFO")


async def test_run_serves_slack_over_http_and_stops_cleanly_on_sigterm(fake_slack: FakeSlack, tmp_path: Path):
    bot = await RunningBot.start(run_env(fake_slack, tmp_path), tmp_path)
    try:
        port = await bot.port(r"listening on http://127\.0\.0\.1:(\d+)/slack/events")
        async with aiohttp.ClientSession() as session:
            assert (await session.get(f"http://127.0.0.1:{port}/healthz")).status == 200
            message = await SlackClient(session, f"http://127.0.0.1:{port}", fake_slack).command("resource feast")
            assert message["response_type"] == "ephemeral"
        output = await bot.terminate(15)
        assert bot.proc.returncode == 0, output
        assert BOT_TOKEN not in output and SIGNING_SECRET not in output
        assert "Traceback" not in output
    finally:
        await bot.kill()


async def test_run_with_a_bad_token_exits_with_one_line_naming_the_setting(fake_slack: FakeSlack, tmp_path: Path):
    bot = (await RunningBot.start(run_env(fake_slack, tmp_path, "xoxb-not-a-real-token"), tmp_path)).proc
    out, err = await asyncio.wait_for(bot.communicate(), 20)
    assert bot.returncode == 1
    errors = [line for line in err.decode().splitlines() if line.startswith("mlops-bot:")]
    assert len(errors) == 1 and "SLACK_BOT_TOKEN" in errors[0], err.decode()
    assert "xoxb-not-a-real-token" not in (out + err).decode()
    # Nothing logs the failure a second time, and no thread dies with a traceback on the way out.
    assert not re.search(r"(ERROR|CRITICAL) ", err.decode()), err.decode()
    assert "Traceback" not in err.decode()
