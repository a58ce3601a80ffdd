"""`mlops-bot run` itself, as a process: Slack HTTP mode against the fake, SIGTERM, and a bad token."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp

from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack


def run_env(fake: FakeSlack, tmp_path: Path, token: str = BOT_TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "MLOPS_BOT_", "DATABASE_URL", "PORT", "HOST"))}
    env.update(SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
               HOST="127.0.0.1", PORT="0", DATABASE_URL=f"sqlite:///{tmp_path}/run.db", LOG_LEVEL="INFO")
    return env


async def start_bot(fake: FakeSlack, tmp_path: Path, token: str = BOT_TOKEN) -> asyncio.subprocess.Process:
    # cwd is an empty directory, so no developer's .env is read.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=run_env(fake, tmp_path, token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_run_serves_slack_over_http_and_stops_cleanly_on_sigterm(fake_slack: FakeSlack, tmp_path: Path):
    bot = await start_bot(fake_slack, tmp_path)
    assert bot.stderr is not None
    try:
        port = None
        lines: list[str] = []
        while port is None:
            line = (await asyncio.wait_for(bot.stderr.readline(), 20)).decode()
            assert line, "mlops-bot exited early:\n" + "".join(lines)
            lines.append(line)
            if match := re.search(r"listening on http://127\.0\.0\.1:(\d+)/slack/events", line):
                port = int(match.group(1))
        async with aiohttp.ClientSession() as session:
            assert (await session.get(f"http://127.0.0.1:{port}/healthz")).status == 200
            message = await SlackClient(session, f"http://127.0.0.1:{port}", fake_slack).command("resource feast")
            assert message["response_type"] == "ephemeral"
        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 15)
        assert bot.returncode == 0, err.decode()
        output = "".join(lines) + err.decode()
        assert BOT_TOKEN not in output and SIGNING_SECRET not in output
        assert "Traceback" not in output
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()


async def test_run_with_a_bad_token_exits_with_one_line_naming_the_setting(fake_slack: FakeSlack, tmp_path: Path):
    bot = await start_bot(fake_slack, tmp_path, token="xoxb-not-a-real-token")
    out, err = await asyncio.wait_for(bot.communicate(), 20)
    assert bot.returncode == 1
    errors = [line for line in err.decode().splitlines() if line.startswith("mlops-bot:")]
    assert len(errors) == 1 and "SLACK_BOT_TOKEN" in errors[0], err.decode()
    assert "xoxb-not-a-real-token" not in (out + err).decode()
    # Nothing logs the failure a second time, and no thread dies with a traceback on the way out.
    assert not re.search(r"(ERROR|CRITICAL) ", err.decode()), err.decode()
    assert "Traceback" not in err.decode()
