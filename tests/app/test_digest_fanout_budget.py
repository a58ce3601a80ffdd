"""A digest fan-out on Slack keeps the workspace's budget: the real DigestService, SlackPoster and slack_sdk
against the fake Slack counting accepted posts in a (shortened) window, with 429s scattered over the posts
as Slack gives them at random. Every channel gets its digest once, and not one post goes past the budget."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import aiohttp

from bot.adapters.slack.poster import SlackPoster
from bot.app.digest import DigestService
from bot.app.posting import Posters
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack, RateLimits, Trouble
from tests.app.digest_fixtures import (  # noqa: F401 (fixtures)
    MONDAY,
    bot_service,
    clock_fixture,
    slack,
    store_fixture,
)

CHANNELS = [f"C{n:04d}" for n in range(40)]


async def test_a_fan_out_keeps_the_workspace_budget_and_posts_each_channel_once(catalog, store, clock):
    fake = await FakeSlack(rate_limits=RateLimits(per_channel=1, workspace=10, window=0.1)).start()
    fake.scopes.extend(["channels:read", "channels:history"])
    try:
        async with aiohttp.ClientSession() as session:
            poster = SlackPoster.create(BOT_TOKEN, api_url=fake.api_url, session=session, workspace_posts=10,
                                        workspace_window=0.1)
            posters = Posters()
            posters.add(poster)
            bot = bot_service(catalog, clock)
            digest = DigestService(bot, store, posters, clock=clock)
            digest.register()
            for channel in CHANNELS:
                assert not (await bot.handle(slack("digest subscribe", channel=channel))).is_error
            # Answered 429 and not counted, as Slack's random ones; retried at once after Retry-After: 0.
            fake.fail_next("/api/chat.postMessage", *[Trouble(status=429, retry_after="0")] * 6)
            clock.set(MONDAY + dt.timedelta(seconds=4))
            result = await digest.run_due()
    finally:
        await fake.close()
    assert (result.posted, result.retrying, result.failed) == (40, 0, 0)
    assert fake.posts_per_channel() == Counter(CHANNELS)
    assert fake.ratelimited == Counter()  # no 429 for going past the budget
    assert len(fake.posts("/api/chat.postMessage")) == 40 + 6
