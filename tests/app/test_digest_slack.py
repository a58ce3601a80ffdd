"""The digest end to end on Slack: the real SlackPoster and slack_sdk against the fake Slack."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest

from bot.adapters.slack.poster import SlackPoster
from bot.app.digest import DigestService, digest_key
from bot.app.posting import Posters
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.app.digest_fixtures import (  # noqa: F401 (fixtures)
    MONDAY,
    bot_service,
    clock_fixture,
    slack,
    store_fixture,
)


@pytest.fixture
async def fake():
    fake = await FakeSlack().start()
    fake.scopes.extend(["channels:read", "channels:history"])
    yield fake
    await fake.close()
    assert not fake.problems, fake.problems


@pytest.fixture
async def on_slack(catalog, store, clock, fake):
    async with aiohttp.ClientSession() as session:
        poster = SlackPoster.create(BOT_TOKEN, api_url=fake.api_url, session=session)
        await poster.refresh()
        posters = Posters()
        posters.add(poster)
        bot = bot_service(catalog, clock)
        digest = DigestService(bot, store, posters, clock=clock)
        digest.register()
        yield bot, digest


async def test_a_scheduled_digest_reaches_the_channel_once_with_its_key_in_the_metadata(on_slack, fake, clock):
    bot, digest = on_slack
    assert (await bot.handle(slack("digest subscribe"))).header == "Weekly digest subscribed"
    clock.set(MONDAY + dt.timedelta(seconds=4))
    assert (await digest.run_due()).posted == 1
    clock.move(seconds=30)
    assert (await digest.run_due()).posted == 0
    [message] = fake.messages("C1")
    sub = digest.repo.get("slack", "C1")
    assert message["metadata"]["event_payload"]["key"] == digest_key(sub.id, "2026-03-02")
    assert message["blocks"][0]["text"]["text"].startswith("This week in MLOps")
    assert fake.posts_per_channel() == {"C1": 1}


async def test_subscribing_where_the_bot_is_not_a_member_of_a_private_channel_says_to_invite_it(on_slack, fake):
    bot, digest = on_slack
    fake.channel("G1", is_member=False)
    reply = await bot.handle(slack("digest subscribe", channel="G1"))
    assert reply.is_error and "/invite @" in reply.text
    assert digest.repo.get("slack", "G1") is None


async def test_after_a_crash_between_post_and_mark_slack_history_prevents_a_second_post(on_slack, fake, clock):
    bot, digest = on_slack
    # The fake's message timestamps start at 1700000000 (Tuesday 14 November 2023): the digest due the
    # Monday before is looked for in the history since then.
    monday = dt.datetime(2023, 11, 13, 8, 0, tzinfo=dt.UTC)
    clock.set(monday - dt.timedelta(days=2))
    await bot.handle(slack("digest subscribe"))
    sub = digest.repo.get("slack", "C1")
    assert sub.next_due_at == monday
    clock.set(monday + dt.timedelta(seconds=4))
    # The killed replica: it claimed, and the platform took its post, but it never marked it.
    claim = digest.repo.claim(sub.id, "2023-11-13", monday, clock(), digest.lease)
    assert claim is not None
    poster = digest.posters.get("slack")
    await poster.post("C1", (await bot.handle(slack("digest preview"))), key=digest_key(sub.id, "2023-11-13"))
    clock.move(minutes=5)
    result = await digest.run_due()
    assert (result.posted, len(fake.messages("C1"))) == (1, 1)
    assert digest.repo.post_row(sub.id, "2023-11-13").state == "posted"
    assert [c.path for c in fake.calls].count("/api/conversations.history") == 1


async def test_a_channel_that_refuses_is_reported_in_its_status(on_slack, fake, clock):
    bot, digest = on_slack
    await bot.handle(slack("digest subscribe"))
    await bot.handle(slack("digest subscribe", channel="C2"))
    fake.fail_channel("C1", "is_archived")
    clock.set(MONDAY + dt.timedelta(seconds=4))
    result = await digest.run_due()
    assert (result.posted, result.failed) == (1, 1)
    status = await bot.handle(slack("digest"))
    failure = {f.name: f.value for f in status.fields}["Last failure"]
    assert failure.startswith("is_archived: Channel C1 is archived")
