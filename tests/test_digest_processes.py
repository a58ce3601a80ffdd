"""The weekly digest through `mlops-bot run` processes, against the fake Slack and the fake Discord on
127.0.0.1: subscribed with the bot's own commands, due when the database says so (the tests move the
clock there), posted exactly once per channel across a SIGKILL, two replicas and Slack's rate limits.

Each child ticks every DIGEST_TICK=0.5 s; a test sets a subscription's next_due_at a few seconds ahead or
a moment ago, and an expired lease is digest_posts.lease_until set to the past.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.discord.conftest import give_bot_a_member
from tests.adapters.discord.fake_discord import FakeDiscord, Member
from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient
from tests.adapters.slack.fake_slack import BOT_TOKEN, RateLimits
from tests.digest_process_support import (
    BotProcess,
    Database,
    DigestSlack,
    discord_answer,
    discord_env,
    eventually,
    slack_command,
    slack_env,
    start_slack,
    steady,
)
from tests.pg import fresh_postgres_database

HEADER = "This week in MLOps"
READ = ("channels:read", "channels:history")  # conversations.info for subscribe, .history after a crash
CHANNEL = "C0DIGEST"


@pytest.fixture
async def fake_slack():
    fake = await start_slack(*READ)
    yield fake
    fake.release.set()
    await fake.close()
    assert not fake.problems, fake.problems


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/digest.db"


async def subscribe_on_slack(port: int, fake: DigestSlack, *channels: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = SlackClient(session, f"http://127.0.0.1:{port}", fake)
        for channel in channels:
            answer = await slack_command(client, "digest subscribe Monday 09:00 UTC", channel)
            assert "Weekly digest subscribed" in answer, answer


def slack_digest(fake: DigestSlack, channel: str) -> dict:
    [message] = fake.messages(channel)
    assert message["blocks"][0]["text"]["text"].startswith(HEADER), message["blocks"][0]
    return message


# -- 1. due in a few seconds: once on Slack, once on Discord ---------------------------------------------

async def test_a_subscription_due_in_a_few_seconds_posts_once_on_slack_and_once_on_discord(
        fake_slack: DigestSlack, tmp_path: Path):
    discord = FakeDiscord()
    moderators = discord.add_role("Moderators")
    give_bot_a_member(discord)  # the bot's own member: subscribe checks its permissions in the channel
    await discord.start()
    db = Database(sqlite_url(tmp_path))
    env = slack_env(fake_slack, db.url, **discord_env(discord, moderators))
    bot = await BotProcess.start(env, tmp_path / "run")
    try:
        port = await bot.slack_port()
        await bot.running("slack", "discord")
        await subscribe_on_slack(port, fake_slack, CHANNEL)
        await discord.wait_until(lambda: discord.commands, timeout=10)
        grace = Member(900_000_000_000_000_777, "grace", roles=[moderators])
        payload = await discord.slash("digest", member=grace, action="subscribe", day="Monday", time="09:00",
                                      timezone="UTC")
        assert "Weekly digest subscribed" in await discord_answer(discord, payload)
        assert {(s.platform, s.channel_id) for s in db.subscriptions()} == {
            ("slack", CHANNEL), ("discord", str(discord.channel_id))}

        db.due_in(3)  # the clock, moved: both digests fall due a few seconds from now
        assert not fake_slack.messages(CHANNEL) and not discord.channel_messages(discord.channel_id)
        await eventually(lambda: fake_slack.digest_posts() == {CHANNEL: 1}
                         and len(discord.channel_messages(discord.channel_id)) == 1,
                         "a digest in the Slack channel and in the Discord channel", timeout=10)
        await eventually(lambda: set(db.states().values()) == {"posted"}, "both periods marked posted")
        # Several more ticks: nothing more is posted.
        await steady(lambda: (fake_slack.digest_posts(), len(discord.channel_messages(discord.channel_id))), 1.5)

        digest = slack_digest(fake_slack, CHANNEL)
        sub = db.subscription("slack", CHANNEL)
        assert digest["metadata"]["event_payload"]["key"].startswith(f"dg:{sub.id}:")  # found again after a crash
        [sent] = fake_slack.sent(CHANNEL)
        assert "link_names" not in sent  # the fake also notes it in problems: no @channel or @here pings
        [message] = discord.channel_messages(discord.channel_id)
        assert message["embeds"][0]["title"].startswith(HEADER), message["embeds"][0]
        [request] = [r for r in discord.requests
                     if r.method == "POST" and r.path == f"/channels/{discord.channel_id}/messages"]
        mentions = request.body["allowed_mentions"]
        assert mentions["parse"] == [] and not mentions.get("users") and not mentions.get("roles"), mentions
        assert request.body["enforce_nonce"] is True and request.body["nonce"]

        output = await bot.stop()
        assert "Traceback" not in output
        bot.assert_clean(BOT_TOKEN, SIGNING_SECRET, discord.token)
    finally:
        await bot.kill()
        db.close()
        await discord.close()
    assert not discord.problems, discord.problems


# -- 2. SIGKILL between the claim and the post; a restart posts once ------------------------------------

async def killed_while_posting(fake: DigestSlack, tmp_path: Path, db: Database, when: str) -> BotProcess:
    """Start the bot, subscribe CHANNEL, make it due, hold its chat.postMessage (`when`: after or before the
    fake takes it), and SIGKILL the bot while it waits for the answer. Returns the dead process."""
    bot = await BotProcess.start(slack_env(fake, db.url), tmp_path / "first", name="the first bot")
    try:
        port = await bot.slack_port()
        await bot.running("slack")
        await subscribe_on_slack(port, fake, CHANNEL)
        fake.hold(when)
        db.due_in(-1)
        await asyncio.wait_for(fake.held.wait(), 10)
        assert list(db.states().values()) == ["claimed"], db.posts()  # claimed, and waiting on Slack
        await bot.sigkill()
    finally:
        await bot.kill()
        fake.release.set()  # the answer goes nowhere: nobody is left to read it
    assert fake.digest_posts() == ({CHANNEL: 1} if when == "after" else {})
    bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)
    return bot


async def restarted(fake: DigestSlack, tmp_path: Path, db: Database) -> BotProcess:
    """The lease the dead bot held runs out (in the database), and a new bot starts on the same database."""
    db.expire_leases()
    bot = await BotProcess.start(slack_env(fake, db.url), tmp_path / "second", name="the restarted bot")
    await bot.running("slack")
    return bot


async def test_a_bot_killed_after_slack_took_the_post_finds_it_in_the_history_after_a_restart(
        fake_slack: DigestSlack, tmp_path: Path):
    db = Database(sqlite_url(tmp_path))
    await killed_while_posting(fake_slack, tmp_path, db, "after")
    bot = await restarted(fake_slack, tmp_path, db)
    try:
        await eventually(lambda: list(db.states().values()) == ["posted"], "the period marked posted")
        await bot.wait_for_line(r"had gone out before a restart")
        await steady(fake_slack.digest_posts, 1.5)
        assert fake_slack.digest_posts() == {CHANNEL: 1}
        slack_digest(fake_slack, CHANNEL)
        looked = [c for c in fake_slack.calls if c.path == "/api/conversations.history"]
        assert looked and looked[0].body["channel"] == CHANNEL
        sub = db.subscription("slack", CHANNEL)
        assert sub.last_posted_at is not None and sub.next_due_at > db.posts()[0].due_at  # on to next week
        await bot.stop()
        bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)
    finally:
        await bot.kill()
        db.close()


async def test_a_bot_killed_before_slack_took_the_post_posts_it_once_after_a_restart(
        fake_slack: DigestSlack, tmp_path: Path):
    db = Database(sqlite_url(tmp_path))
    await killed_while_posting(fake_slack, tmp_path, db, "before")
    bot = await restarted(fake_slack, tmp_path, db)
    try:
        await eventually(lambda: fake_slack.digest_posts() == {CHANNEL: 1}, "the digest posted once")
        await eventually(lambda: list(db.states().values()) == ["posted"], "the period marked posted")
        await steady(fake_slack.digest_posts, 1.5)
        slack_digest(fake_slack, CHANNEL)
        # It looked first (the dead bot's post might have gone out), found nothing, and posted.
        assert [c.path for c in fake_slack.calls].count("/api/conversations.history") == 1
        await bot.stop()
        bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)
    finally:
        await bot.kill()
        db.close()


async def test_a_bot_killed_mid_post_that_may_not_read_the_history_gives_the_week_up_and_never_posts_twice(
        tmp_path: Path):
    fake = await start_slack("channels:read")  # installed without channels:history
    db = Database(sqlite_url(tmp_path))
    try:
        await killed_while_posting(fake, tmp_path, db, "after")
        bot = await restarted(fake, tmp_path, db)
        try:
            await bot.wait_for_line(r"cannot tell whether it went out .*missing_scope.*not posting it again")
            await eventually(lambda: list(db.states().values()) == ["unknown"], "the period given up as unknown")
            await steady(fake.digest_posts, 1.5)
            assert fake.digest_posts() == {CHANNEL: 1}
            sub = db.subscription("slack", CHANNEL)
            assert sub.next_due_at > db.posts()[0].due_at and sub.active  # the next week comes on schedule
            await bot.stop()
            bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)
        finally:
            await bot.kill()
    finally:
        db.close()
        fake.release.set()
        await fake.close()
    assert not fake.problems, fake.problems


# -- 3. two replicas on one PostgreSQL -------------------------------------------------------------------

CHANNELS = [f"C0FAN{n:02d}" for n in range(20)]


async def test_two_bot_processes_on_one_postgresql_post_each_channels_digest_once(
        fake_slack: DigestSlack, tmp_path: Path):
    with fresh_postgres_database() as url:
        db = Database(url)
        bots = [await BotProcess.start(slack_env(fake_slack, url), tmp_path / f"replica{n}", name=f"replica {n}")
                for n in (1, 2)]
        try:
            ports = [await bot.slack_port() for bot in bots]
            for bot in bots:
                await bot.running("slack")
            await subscribe_on_slack(ports[0], fake_slack, *CHANNELS[:10])
            await subscribe_on_slack(ports[1], fake_slack, *CHANNELS[10:])
            db.due_in(2)  # all twenty at the same instant, seen by both replicas' ticks
            await eventually(lambda: set(fake_slack.digest_posts()) == set(CHANNELS), "a digest in every channel",
                             timeout=12)
            await eventually(lambda: list(db.states().values()) == ["posted"] * len(CHANNELS),
                             "every period marked posted")
            await steady(fake_slack.digest_posts, 1.5)
            assert fake_slack.digest_posts() == dict.fromkeys(CHANNELS, 1)
            for channel in CHANNELS:
                slack_digest(fake_slack, channel)
            for bot in bots:
                await bot.stop()
                bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)
        finally:
            for bot in bots:
                await bot.kill()
            db.close()


# -- 4. Slack's rate limits: 429 with Retry-After, every digest still once -------------------------------

async def test_with_slacks_rate_limits_answering_429_every_digest_still_arrives_once(
        fake_slack: DigestSlack, tmp_path: Path):
    db = Database(sqlite_url(tmp_path))
    bot = await BotProcess.start(slack_env(fake_slack, db.url), tmp_path / "run")
    try:
        port = await bot.slack_port()
        await bot.running("slack")
        await subscribe_on_slack(port, fake_slack, *CHANNELS)
        fake_slack.rate_limits = RateLimits(per_channel=1, workspace=8, window=1.0, random_share=0.2, seed=12)
        db.due_in(1)
        await eventually(lambda: set(fake_slack.digest_posts()) == set(CHANNELS), "a digest in every channel",
                         timeout=15)
        await eventually(lambda: list(db.states().values()) == ["posted"] * len(CHANNELS),
                         "every period marked posted")
        await steady(fake_slack.digest_posts, 1.5)
        assert fake_slack.digest_posts() == dict.fromkeys(CHANNELS, 1)
        assert sum(fake_slack.ratelimited.values()), "no post was answered 429: the limits were not exercised"
        for channel in CHANNELS:
            slack_digest(fake_slack, channel)
        await bot.stop()
        bot.assert_clean(BOT_TOKEN, SIGNING_SECRET)
    finally:
        await bot.kill()
        db.close()
