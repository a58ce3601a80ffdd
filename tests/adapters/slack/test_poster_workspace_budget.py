"""SlackPoster keeps the workspace's chat.postMessage budget against the fake Slack, which counts accepted
posts in a sliding window and answers 429 past it: every try, retries after a 429 included, goes through
the poster's window, and a 429 gives its place back. Windows are shortened so that the tests run quickly."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.poster import SlackPoster
from bot.app.posting import PostError
from bot.core.reply import Reply
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack, RateLimits, Trouble

SCOPES = ["commands", "chat:write", "chat:write.public", "channels:read", "channels:history"]


@pytest.fixture
async def fake() -> AsyncIterator[Callable[..., Awaitable[FakeSlack]]]:
    """A fake Slack with these RateLimits, closed after the test."""
    started: list[FakeSlack] = []

    async def start(**limits: float) -> FakeSlack:
        slack = await FakeSlack(rate_limits=RateLimits(**limits)).start()  # type: ignore[arg-type]
        slack.scopes[:] = SCOPES
        started.append(slack)
        return slack

    yield start
    for slack in started:
            assert not slack.problems, slack.problems


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post_to(poster: SlackPoster, channels: list[str]) -> None:
    await asyncio.gather(*(poster.post(c, Reply(header=f"digest for {c}"), key=f"dg:{c}") for c in channels))


async def test_a_burst_of_posts_stays_within_the_workspace_budget(fake, session):
    slack = await fake(workspace=5, window=0.1)
    poster = SlackPoster.create(BOT_TOKEN, api_url=slack.api_url, session=session, workspace_posts=5,
                                workspace_window=0.1)
    channels = [f"C{n:04d}" for n in range(30)]
    await post_to(poster, channels)
    assert slack.ratelimited == Counter()  # not one post past the budget
    assert slack.posts_per_channel() == Counter(channels)


async def test_the_retries_after_a_429_go_through_the_window_too(fake, session):
    slack = await fake(workspace=3, window=0.2)
    poster = SlackPoster.create(BOT_TOKEN, api_url=slack.api_url, session=session, workspace_posts=3,
                                workspace_window=0.2)
    # Refused at once and retried at once: past the window, unless the retries wait for a place too.
    slack.fail_next("/api/chat.postMessage", *[Trouble(status=429, retry_after="0")] * 3)
    channels = [f"C{n:04d}" for n in range(9)]
    await post_to(poster, channels)
    assert slack.ratelimited == Counter()
    assert slack.posts_per_channel() == Counter(channels)
    assert len(slack.posts("/api/chat.postMessage")) == 9 + 3


async def test_a_post_refused_with_429_gives_its_place_back_for_its_retry(fake, session):
    # One post per half hour: a retry that waited for the refused try's place would not finish in the test.
    slack = await fake(workspace=1, window=1800)
    poster = SlackPoster.create(BOT_TOKEN, api_url=slack.api_url, session=session, workspace_posts=1,
                                workspace_window=1800)
    slack.fail_next("/api/chat.postMessage", Trouble(status=429, retry_after="0"))
    ts = await asyncio.wait_for(poster.post("C0001", Reply(header="x")), 10)
    assert slack.message("C0001", ts) is not None
    assert len(slack.posts("/api/chat.postMessage")) == 2


async def test_a_post_waiting_out_its_retry_after_leaves_its_place_to_others(fake, session):
    slack = await fake(workspace=1, window=0.3)
    poster = SlackPoster.create(BOT_TOKEN, api_url=slack.api_url, session=session, workspace_posts=1,
                                workspace_window=0.3)
    slack.fail_next("/api/chat.postMessage", Trouble(status=429, retry_after="0.5"))
    waiting = asyncio.create_task(poster.post("C0001", Reply(header="refused first")))
    await slack.wait_for_posts("/api/chat.postMessage", 1)
    await poster.post("C0002", Reply(header="sent while the first waits"))
    await waiting
    assert list(slack.posts_per_channel()) == ["C0002", "C0001"]
    assert slack.ratelimited == Counter()


async def test_a_client_without_a_429_handler_leaves_the_429_to_the_caller(fake, session):
    slack = await fake()
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, session=session)  # slack_sdk's defaults
    poster = SlackPoster(client)
    slack.fail_next("/api/chat.postMessage", Trouble(status=429, retry_after="0"))
    with pytest.raises(PostError) as caught:
        await poster.post("C0001", Reply(header="x"))
    assert (caught.value.code, caught.value.retry_after) == ("ratelimited", 0)
    assert len(slack.posts("/api/chat.postMessage")) == 1


async def test_other_calls_keep_the_clients_own_429_retries(fake, session):
    slack = await fake()
    poster = SlackPoster.create(BOT_TOKEN, api_url=slack.api_url, session=session)
    slack.fail_next("/api/conversations.history", Trouble(status=429, retry_after="0"))
    assert await poster.find("C0001", "dg:1:2026-03-02", dt.datetime(2023, 1, 1, tzinfo=dt.UTC)) is None
    assert len(slack.posts("/api/conversations.history")) == 2
