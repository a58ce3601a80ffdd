"""What tests/test_digest_processes.py needs to run `mlops-bot run` against the fakes and move its clock.

The clock is moved in the database, as the bot's own scheduler reads it: a subscription made through the
bot's commands gets its `next_due_at` set to a moment ago or a few seconds ahead, and an expired lease is
`digest_posts.lease_until` set to the past. Nothing here sleeps for a schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from bot.storage import Store, open_store
from bot.storage.schema import digest_posts, digest_subscriptions
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack

SLACK_MOD = "U0MOD"  # in SLACK_MODERATORS of every child
TICK = "0.5"  # DIGEST_TICK of every child, in seconds


# -- the fake Slack, with real timestamps and a post that can be held ----------------------------------

@dataclass
class DigestSlack(FakeSlack):
    """The fake Slack with message timestamps on the real clock, as Slack's are, so that the bot's look
    through conversations.history for a post made since its due time finds it; and a way to hold the next
    chat.postMessage, to kill the bot while it waits for the answer.

    hold("after"): the post is taken and recorded, and its answer never comes (accepted, the answer lost);
    hold("before"): the request hangs before the fake looks at it (nothing posted).
    """

    holding: str | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _last_ts: float = 0.0

    def hold(self, when: str) -> None:
        assert when in ("after", "before"), when
        self.holding = when

    def _next_ts(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 1e-6)
        return f"{self._last_ts:.6f}"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if self.holding is None or request.path != "/api/chat.postMessage":
            return await super()._api(request)
        when, self.holding = self.holding, None
        answer = await super()._api(request) if when == "after" else None
        self.held.set()
        await self.release.wait()  # set once the bot is dead: nobody reads this answer
        return answer or web.json_response({"ok": False, "error": "internal_error"}, status=500)

    def digest_posts(self) -> dict[str, int]:
        """Accepted posts per channel, as a plain dict for readable assertion messages."""
        return dict(self.posts_per_channel())


async def start_slack(*extra_scopes: str, drop: Sequence[str] = ()) -> DigestSlack:
    fake = await DigestSlack().start()
    assert isinstance(fake, DigestSlack)
    fake.scopes = [s for s in (*fake.scopes, *extra_scopes) if s not in drop]
    return fake


# -- the bot as a child process -------------------------------------------------------------------------

class BotProcess:
    """`mlops-bot run` in `cwd` (an empty directory: no developer's .env), its stderr read as it comes, so that
    a long run never fills the pipe, and searchable while it runs."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path, *args: str, name: str = "bot") -> BotProcess:
        cwd.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *args, cwd=cwd, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        return cls(proc, name)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def wait_for_line(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first stderr line matching `pattern`; fails after `timeout` s, or as soon as the bot exits."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if match := re.search(pattern, line):
                    return match
            if self._reader.done() and self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before logging "
                                     f"{pattern!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} logged no line matching {pattern!r} in {timeout} s:\n"
                                     f"{self.output}")
            await asyncio.sleep(0.02)

    async def slack_port(self) -> int:
        match = await self.wait_for_line(r"listening on http://127\.0\.0\.1:(\d+)/slack/events")
        return int(match.group(1))

    async def running(self, *platforms: str) -> None:
        """Every platform named is started; the process then hands each platform's poster to the digest in
        the same step of its loop, before it reads another request."""
        for platform in platforms:
            await self.wait_for_line(rf"\b{platform} is running\b")

    async def sigkill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 10)
        await asyncio.wait_for(self._reader, 10)

    async def stop(self, timeout: float = 20.0) -> str:
        """SIGTERM and wait; everything it wrote to stderr. It must exit 0."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(self._reader, 10)
        assert self.proc.returncode == 0, f"{self.name} exited {self.proc.returncode}:\n{self.output}"
        return self.output

    async def kill(self) -> None:
        """For finally blocks: gone, whatever state it is in."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    def assert_clean(self, *secrets: str) -> None:
        """No traceback, and none of the secrets, anywhere in what it wrote."""
        output = self.output
        assert "Traceback" not in output, f"{self.name} wrote a traceback:\n{output}"
        for secret in secrets:
            assert secret not in output, f"{self.name} wrote a secret ({secret[:6]}…) to stderr"


def slack_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    from tests.conftest import clean_env

    return clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
                     SLACK_MODERATORS=SLACK_MOD, HOST="127.0.0.1", PORT="0", DATABASE_URL=database_url,
                     LOG_LEVEL="INFO", DIGEST_TICK=TICK, **extra)


def discord_env(fake: FakeDiscord, moderator_role: str) -> dict[str, str]:
    return {"DISCORD_TOKEN": fake.token, "DISCORD_API_URL": fake.base_url, "DISCORD_MODERATOR_ROLES": moderator_role}


# -- the bot's own commands -------------------------------------------------------------------------------

async def slack_command(client: SlackClient, text: str, channel: str, *, user: str = SLACK_MOD,
                        timeout: float = 10.0) -> str:
    """A signed slash command; the text of the bot's answer, from the ack or, when the ack said it was working
    on it, from what it sent to the command's response_url."""
    before = len(client.fake.calls)
    ack = await client.command(text, channel_id=channel, user_id=user)
    shown = json.dumps(ack)
    if "Working on it" not in shown:
        return shown
    response_path = f"/response/cmd{client.trigger}"
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in client.fake.calls[before:] if c.path == response_path]
        if found:
            return json.dumps(found[-1].body)
        assert time.monotonic() < deadline, f"no answer to {text!r} through its response_url in {timeout} s"
        await asyncio.sleep(0.02)


async def discord_answer(fake: FakeDiscord, payload: dict[str, Any], timeout: float = 10.0) -> str:
    """The text of the bot's answer to an interaction: its callback, or the edit that replaced "thinking…"."""
    response = await fake.response(payload, timeout)
    if response["type"] == 5:
        return json.dumps(await fake.edit(payload, timeout))
    return json.dumps(response["data"])


# -- the database, where the clock is moved ----------------------------------------------------------------

class Database:
    """The bot's database, opened beside it (the schema is the bot's, brought up to date by whoever opens it
    first)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store: Store = open_store(url)

    def close(self) -> None:
        self.store.close()

    def subscriptions(self) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(digest_subscriptions).order_by(digest_subscriptions.c.id)))

    def subscription(self, platform: str, channel: str) -> Any:
        found = [s for s in self.subscriptions() if (s.platform, s.channel_id) == (platform, channel)]
        assert len(found) == 1, f"{platform}:{channel} has {len(found)} subscriptions"
        return found[0]

    def due_in(self, seconds: float) -> dt.datetime:
        """Every active subscription due `seconds` from now (negative: a moment ago); that instant."""
        at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).replace(microsecond=0)
        with self.store.engine.begin() as conn:
            conn.execute(update(digest_subscriptions).where(digest_subscriptions.c.active.is_(True))
                         .values(next_due_at=at))
        return at

    def posts(self) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(digest_posts).order_by(digest_posts.c.subscription_id)))

    def states(self) -> dict[int, str]:
        return {row.subscription_id: row.state for row in self.posts()}

    def expire_leases(self) -> None:
        """Every lease held runs out now: its holder is taken to be gone."""
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        with self.store.engine.begin() as conn:
            conn.execute(update(digest_posts).where(digest_posts.c.lease_until.is_not(None))
                         .values(lease_until=past))


async def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll `check()` (sync) until it is truthy; its value. Fails saying `what` was awaited and what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = check()
        if seen:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}; last seen: {seen!r}")
        await asyncio.sleep(0.05)


async def steady(check: Callable[[], Any], seconds: float) -> Any:
    """`check()` gives the same value for `seconds` (a few of the bot's ticks); that value."""
    first = check()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = check()
        assert now == first, f"changed from {first!r} to {now!r} within {seconds} s"
    return first
