"""One bot, three processes (issue 14, item 4): three `mlops-bot run --only slack` processes on one fresh
PostgreSQL database, each serving Slack over HTTP on its own port, against one fake Slack on 127.0.0.1.

- 300 signed slash commands, round-robin over the three, 30 at a time: every one answered privately;
- a suggestion made through the first, approved through the second, found by a search through the third
  within 10 s (each replica polls for approvals made elsewhere every SYNC_EVERY = 2 s);
- 20 channels whose digest falls due: each posted exactly once by the three together;
- a process SIGKILLed mid-fan-out: its claims outlive it, another process takes them over once their
  leases ran out (set to the past in the database, standing for the 90 s), and every channel ends with
  exactly one digest, whether the dead process's post had been taken by Slack or not.

The clock is moved in the database, as in tests/test_digest_processes.py: every child ticks every
DIGEST_TICK = 0.5 s, and a subscription falls due when its next_due_at is set to now.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient
from tests.adapters.slack.fake_slack import BOT_TOKEN
from tests.digest_process_support import (
    BotProcess,
    Database,
    DigestSlack,
    eventually,
    slack_command,
    slack_env,
    steady,
)
from tests.pg import fresh_postgres_database

REVIEW_CHANNEL = "C0REVIEW"
READ = ("channels:read", "channels:history")  # conversations.info for subscribe, .history after a crash
CHANNELS = [f"C0REP{n:02d}" for n in range(20)]
HEADER = "This week in MLOps"
MEMBER = "U0MEMBER"


# -- a fake Slack that is slow on some channels, and knows which process sent a request ------------------

def sender_pid(port: int, pids: tuple[int, ...]) -> int | None:
    """The process among `pids` whose TCP socket has local port `port` on loopback (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{parts[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
    return None


@dataclass
class HeldPost:
    """A chat.postMessage to a slow channel, waiting for the test to say what Slack does with it:
    "accept" (taken and recorded now, its answer never sent: the sender dies waiting), "lost" (never
    taken: the sender died before Slack read it), "answer" (taken now and answered, only late)."""

    channel: str
    pid: int | None
    decision: asyncio.Future[str]
    taken: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class SlowSlack(DigestSlack):
    """DigestSlack (real-clock timestamps, so a takeover finds a post in the history since its due time) that
    holds every chat.postMessage to a channel in `slow`, noting which of `pids` sent it."""

    slow: set[str] = field(default_factory=set)
    held_posts: list[HeldPost] = field(default_factory=list)
    pids: tuple[int, ...] = ()

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if not self.slow or request.path != "/api/chat.postMessage":
            return await super()._api(request)
        channel = str((await self._arguments(request)).get("channel") or "")  # the body is read once, cached
        if channel not in self.slow:
            return await super()._api(request)
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        held = HeldPost(channel, sender_pid(peer[1], self.pids) if peer else None,
                        asyncio.get_running_loop().create_future())
        self.held_posts.append(held)
        decision = await held.decision
        if decision == "lost":
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)  # nobody reads it
        answer = await super()._api(request)
        held.taken.set()
        if decision == "accept":
            await self.release.wait()  # set once the sender is dead
        return answer

    def digest_posts(self) -> dict[str, int]:
        """Accepted posts per digest channel (the review channel and DMs left out)."""
        return {c: n for c, n in self.posts_per_channel().items() if c in CHANNELS}


@pytest.fixture
async def fake_slack() -> AsyncIterator[SlowSlack]:
    fake = SlowSlack()
    await fake.start()
    fake.scopes = [*fake.scopes, *READ]
    yield fake
    fake.release.set()
    for held in fake.held_posts:
        if not held.decision.done():
            held.decision.set_result("lost")
    await fake.close()
    assert not fake.problems, fake.problems


# -- three replicas ---------------------------------------------------------------------------------------

@dataclass
class Replicas:
    bots: list[BotProcess]
    clients: list[SlackClient]
    db: Database

    async def stop(self, *, killed: BotProcess | None = None) -> None:
        """Every survivor stops on SIGTERM with exit 0; none (the killed one neither) wrote a traceback or
        a secret."""
        for bot in self.bots:
            if bot is not killed:
                await bot.stop()
            bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)


@contextlib.asynccontextmanager
async def three_replicas(fake: SlowSlack, tmp_path: Path) -> AsyncIterator[Replicas]:
    with fresh_postgres_database() as url:
        db = Database(url)  # brings the schema up first; the three then start on the same database
        env = slack_env(fake, url, SLACK_REVIEW_CHANNEL=REVIEW_CHANNEL)
        started = time.monotonic()
        bots = [await BotProcess.start(env, tmp_path / f"replica{n}", "--only", "slack", name=f"replica {n}")
                for n in (1, 2, 3)]
        try:
            ports = [await bot.slack_port() for bot in bots]
            for bot in bots:
                await bot.running("slack")
            assert len(set(ports)) == 3, ports
            fake.pids = tuple(bot.proc.pid for bot in bots)
            print(f"\nthree replicas up in {time.monotonic() - started:.1f} s on ports {ports}")
            async with aiohttp.ClientSession() as session:
                yield Replicas(bots, [SlackClient(session, f"http://127.0.0.1:{port}", fake) for port in ports], db)
        finally:
            for bot in bots:
                await bot.kill()
            db.close()


def ephemeral_text(message: dict[str, Any]) -> str:
    """The text of a private answer; fails when the message is not one."""
    assert message.get("response_type") == "ephemeral", message
    shown = json.dumps(message.get("blocks") or message.get("text") or "")
    assert len(shown) > 10, message
    return shown


async def subscribe(replicas: Replicas, channels: list[str]) -> None:
    """Each channel subscribed by a moderator through the bot's command in that channel, round-robin."""
    for n, channel in enumerate(channels):
        answer = await slack_command(replicas.clients[n % 3], "digest subscribe Monday 09:00 UTC", channel)
        assert "Weekly digest subscribed" in answer, answer
    assert {s.channel_id for s in replicas.db.subscriptions()} == set(channels)


# -- (a) 300 commands ------------------------------------------------------------------------------------

COMMANDS = ("resource feature store", "resource feast", "list", "help", "week 3", "path beginner",
            "resource kind:paper debt", "compare feature-stores", "resource experiment tracking", "list podcasts")


async def test_three_processes_answer_300_commands_spread_over_them(fake_slack: SlowSlack, tmp_path: Path):
    async with three_replicas(fake_slack, tmp_path) as replicas:
        gate = asyncio.Semaphore(30)
        latencies: list[float] = []
        placeholders = 0

        async def one(n: int) -> int:
            nonlocal placeholders
            client = replicas.clients[n % 3]
            name = f"bulk{n}"
            async with gate:
                sent = time.monotonic()
                ack = await client.command(COMMANDS[n % len(COMMANDS)], response_url=fake_slack.response_url(name),
                                           user_id=f"U0USER{n % 23:02d}", channel_id=f"C0BULK{n % 7}")
                if "Working on it" in json.dumps(ack):  # slower than the ack budget: the answer follows
                    placeholders += 1
                    ephemeral_text(ack)
                    found = await fake_slack.wait_for_posts(f"/response/{name}", 1, timeout=10)
                    ack = found[-1].body
                ephemeral_text(ack)
                latencies.append(time.monotonic() - sent)
            return n % 3

        started = time.monotonic()
        served = Counter(await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(300))), 45))
        wall = time.monotonic() - started
        assert served == {0: 100, 1: 100, 2: 100}, served
        assert len(latencies) == 300
        latencies.sort()
        print(f"300 commands over 3 replicas in {wall:.2f} s: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {latencies[296] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, "
              f"{placeholders} answered through response_url")
        await replicas.stop()


# -- (b) suggested on one, approved on a second, found on the third --------------------------------------

URL = "https://example.org/guides/quorum-canary"
TITLE = "Quorum Canary Handbook"


async def test_a_suggestion_made_on_one_approved_on_another_is_found_on_the_third_within_10_s(
        fake_slack: SlowSlack, tmp_path: Path):
    async with three_replicas(fake_slack, tmp_path) as replicas:
        first, second, third = replicas.clients

        async def found_on(client: SlackClient) -> bool:
            return URL in await slack_command(client, f"resource {TITLE.lower()}", "C0ASK", user=MEMBER)

        answer = await slack_command(first, f"suggest {URL} {TITLE} | canary releases across replicas", "C0ASK",
                                     user=MEMBER)
        match = re.search(r"Suggestion #(\d+) received", answer)
        assert match, answer
        number = int(match.group(1))
        assert not await found_on(third), "found before it was approved"
        # Its review post, made by the first process, is in the review channel.
        await eventually(lambda: fake_slack.messages(REVIEW_CHANNEL), "the review post", timeout=10)

        answer = await slack_command(second, f"approve {number}", REVIEW_CHANNEL)
        approved_at = time.monotonic()
        assert f"Suggestion #{number} approved" in answer, answer
        assert await found_on(second), "the approving replica does not find it at once"

        deadline = approved_at + 10
        while not await found_on(third):
            assert time.monotonic() < deadline, "the third replica did not find the approved resource in 10 s"
            await asyncio.sleep(0.05)
        latency = time.monotonic() - approved_at
        print(f"approved on replica 2, found by a search on replica 3 after {latency:.2f} s")
        while not await found_on(first):
            assert time.monotonic() < deadline, "the first replica did not find the approved resource in 10 s"
            await asyncio.sleep(0.05)
        print(f"... and on replica 1 after {time.monotonic() - approved_at:.2f} s")

        # The member is told once, and the review post says who decided.
        await eventually(lambda: fake_slack.dms_to(MEMBER), "the member's DM", timeout=10)
        await steady(lambda: len(fake_slack.dms_to(MEMBER)), 1.0)
        assert len(fake_slack.dms_to(MEMBER)) == 1, fake_slack.dms_to(MEMBER)
        assert len(fake_slack.messages(REVIEW_CHANNEL)) == 1
        await replicas.stop()


# -- (c) 20 channels due: each posted once by the three --------------------------------------------------

def slack_digest(fake: SlowSlack, channel: str) -> None:
    [message] = fake.messages(channel)
    assert message["blocks"][0]["text"]["text"].startswith(HEADER), message["blocks"][0]


async def test_twenty_channels_due_are_each_posted_once_by_three_processes(fake_slack: SlowSlack, tmp_path: Path):
    async with three_replicas(fake_slack, tmp_path) as replicas:
        db = replicas.db
        await subscribe(replicas, CHANNELS)
        db.due_in(0)  # every one due now, seen by all three replicas' ticks
        started = time.monotonic()
        await eventually(lambda: set(fake_slack.digest_posts()) == set(CHANNELS), "a digest in every channel",
                         timeout=10)
        print(f"20 digests out {time.monotonic() - started:.2f} s after falling due")
        await eventually(lambda: list(db.states().values()) == ["posted"] * len(CHANNELS),
                         "every period marked posted")
        await steady(fake_slack.digest_posts, 1.5)  # three ticks of each replica: nothing more
        assert fake_slack.digest_posts() == dict.fromkeys(CHANNELS, 1)
        for channel in CHANNELS:
            slack_digest(fake_slack, channel)
        await replicas.stop()


# -- (d) one process SIGKILLed mid-fan-out --------------------------------------------------------------

SLOW = CHANNELS[2::3][:6]  # six channels whose posts the fake holds, wherever they come from


async def test_a_process_killed_mid_fan_out_leaves_every_channel_with_exactly_one_digest(
        fake_slack: SlowSlack, tmp_path: Path):
    async with three_replicas(fake_slack, tmp_path) as replicas:
        db = replicas.db
        await subscribe(replicas, CHANNELS)
        fake_slack.slow = set(SLOW)
        db.due_in(0)
        # The fast channels go out; the six slow ones are claimed, each by one replica, and held at Slack.
        await eventually(lambda: len(fake_slack.held_posts) == len(SLOW), "the six slow posts held", timeout=10)
        fast = sorted(set(CHANNELS) - set(SLOW))
        await eventually(lambda: set(fake_slack.digest_posts()) == set(fast), "a digest in every fast channel")
        assert sorted(h.channel for h in fake_slack.held_posts) == sorted(SLOW), fake_slack.held_posts
        # Slack records a fast post before its sender reads the answer and marks the period posted: wait for
        # the marks too, so that the process killed below dies holding its slow claims and nothing else.
        ids = {s.channel_id: s.id for s in db.subscriptions()}
        await eventually(lambda: all(db.states().get(ids[c]) == "posted" for c in fast),
                         "every fast channel marked posted")

        by_pid = Counter(h.pid for h in fake_slack.held_posts)
        assert None not in by_pid, f"could not tell which process sent a held post: {fake_slack.held_posts}"
        victim_pid, held_count = by_pid.most_common(1)[0]
        assert held_count >= 2, by_pid  # six posts over three replicas: one holds two or more
        victim = next(bot for bot in replicas.bots if bot.proc.pid == victim_pid)
        mine = [h for h in fake_slack.held_posts if h.pid == victim_pid]
        accepted, lost = mine[:len(mine) // 2], mine[len(mine) // 2:]
        others = [h for h in fake_slack.held_posts if h.pid != victim_pid]

        # Slack takes some of the victim's posts (their answers never come), and has not read the others.
        for held in accepted:
            held.decision.set_result("accept")
        await asyncio.wait_for(asyncio.gather(*(h.taken.wait() for h in accepted)), 5)
        await victim.sigkill()
        for held in lost:
            held.decision.set_result("lost")
        fake_slack.slow.clear()
        fake_slack.release.set()
        for held in others:  # the survivors' slow posts are answered, late
            held.decision.set_result("answer")
        print(f"killed {victim.name} holding {len(mine)} claims: {len(accepted)} posts taken by Slack and "
              f"unanswered, {len(lost)} never taken; {len(others)} slow posts of the survivors answered late")

        survivors_channels = {h.channel for h in others}
        victims_channels = {h.channel for h in mine}
        await eventually(lambda: all(db.states().get(ids[c]) == "posted" for c in set(fast) | survivors_channels),
                         "every channel but the dead process's marked posted")
        assert {c for c in CHANNELS if db.states().get(ids[c]) == "claimed"} == victims_channels, db.posts()
        # Its claims outlive it: for as long as their leases run, nobody posts in its channels.
        await steady(fake_slack.digest_posts, 1.0)
        assert set(fake_slack.digest_posts()) == set(CHANNELS) - {h.channel for h in lost}

        db.expire_leases()  # the 90 s, passed: another process takes its claims over
        taken_over = time.monotonic()
        await eventually(lambda: set(fake_slack.digest_posts()) == set(CHANNELS), "a digest in every channel",
                         timeout=10)
        await eventually(lambda: list(db.states().values()) == ["posted"] * len(CHANNELS),
                         "every period marked posted", timeout=10)
        print(f"the dead process's {len(mine)} channels resolved {time.monotonic() - taken_over:.2f} s "
              "after its leases ran out")
        await steady(fake_slack.digest_posts, 1.5)
        assert fake_slack.digest_posts() == dict.fromkeys(CHANNELS, 1)
        for channel in CHANNELS:
            slack_digest(fake_slack, channel)

        # Whoever took over looked in the history of each of the dead process's channels before posting, and
        # found the posts Slack had taken.
        looked = Counter(c.body.get("channel") for c in fake_slack.calls if c.path == "/api/conversations.history")
        assert set(looked) == victims_channels, looked
        survivors = [bot for bot in replicas.bots if bot is not victim]
        found_again = sum(len(re.findall(r"had gone out before a restart", bot.output)) for bot in survivors)
        assert found_again == len(accepted), [bot.output for bot in survivors]
        subs = {s.channel_id: s for s in db.subscriptions()}
        assert all(subs[c].next_due_at > dt.datetime.now(dt.UTC) for c in CHANNELS), "not on to next week"
        await replicas.stop(killed=victim)

