"""The operator's `digest list` and `digest preview`, called as bot/cli.py calls them."""

from __future__ import annotations

import datetime as dt
import io
import json

from bot.app.digest_cli import run_digest_list, run_digest_preview
from bot.app.posting import PostError
from tests.app.digest_fixtures import (  # noqa: F401 (fixtures)
    MONDAY,
    bot_service,
    clock_fixture,
    digest_service,
    poster_fixture,
    slack,
    store_fixture,
)


async def two_channels(catalog, store, poster, clock):
    bot = bot_service(catalog, clock)
    digest = digest_service(bot, store, poster, clock)
    await bot.handle(slack("digest subscribe", channel="C1"))
    await bot.handle(slack("digest subscribe Fri 17:30 America/New_York", channel="C2"))
    poster.refuse["C2"] = [PostError("x", code="not_in_channel", permanent=True, hint="Invite the bot.")]
    clock.set(dt.datetime(2026, 2, 27, 22, 30, 5, tzinfo=dt.UTC))
    await digest.run_due()
    clock.set(MONDAY + dt.timedelta(seconds=5))
    await digest.run_due()
    return bot


async def test_digest_list_shows_every_subscription_with_next_run_last_post_and_failure(catalog, store, poster,
                                                                                          clock):
    await two_channels(catalog, store, poster, clock)
    out = io.StringIO()
    assert run_digest_list(store, out) == 0
    text = out.getvalue()
    assert "slack:C1  Mondays at 09:00 Europe/Berlin" in text
    assert "next:         Monday 9 March 2026, 09:00 Europe/Berlin (08:00 UTC)" in text
    assert "last post:    Monday 2 March 2026, 09:00 Europe/Berlin (08:00 UTC)" in text
    assert "slack:C2  Fridays at 17:30 America/New_York" in text
    assert "next:         Friday 6 March 2026, 17:30 America/New_York (22:30 UTC)" in text
    assert "last failure: not_in_channel: Invite the bot. (Friday 27 February 2026, 17:30" in text
    assert text.endswith("2 subscriptions\n")


async def test_digest_list_as_json(catalog, store, poster, clock):
    await two_channels(catalog, store, poster, clock)
    out = io.StringIO()
    assert run_digest_list(store, out, "json") == 0
    first, second = json.loads(out.getvalue())
    assert first["channel_id"] == "C1" and first["schedule"] == {
        "day": "Monday", "time": "09:00", "timezone": "Europe/Berlin", "text": "Mondays at 09:00 Europe/Berlin"}
    assert first["next_due"] == {"utc": "2026-03-09T08:00:00+00:00", "local": "2026-03-09T09:00:00+01:00"}
    assert first["last_posted"]["utc"].startswith("2026-03-02T08:00:05")
    assert first["last_failure"] is None
    assert second["failures"] == 1 and second["last_failure"].startswith("not_in_channel")


def test_digest_list_without_subscriptions_says_so(store):
    out = io.StringIO()
    assert run_digest_list(store, out) == 0
    assert out.getvalue() == "No channel is subscribed to the digest.\n"
    out = io.StringIO()
    run_digest_list(store, out, "json")
    assert json.loads(out.getvalue()) == []


async def test_digest_preview_of_a_channel_shows_its_next_digest_and_posts_nothing(catalog, store, poster, clock):
    bot = await two_channels(catalog, store, poster, clock)
    sent = len(poster.sent)
    out = io.StringIO()
    assert await _preview(bot, store, out, channel="C1", clock=clock) == 0
    text = out.getvalue()
    assert text.startswith("This week in MLOps · Monday 2 March 2026")
    assert "Newsletter of the week" in text
    assert len(poster.sent) == sent


async def test_digest_preview_of_an_unknown_channel_is_an_error(catalog, store, poster, clock):
    bot = bot_service(catalog, clock)
    err = io.StringIO()
    assert await _preview(bot, store, io.StringIO(), channel="C404", clock=clock, err=err) == 1
    assert "no subscription for channel C404" in err.getvalue()


async def test_digest_preview_without_a_channel_shows_a_first_digest(catalog, store, clock):
    out = io.StringIO()
    assert await _preview(bot_service(catalog, clock), store, out, clock=clock) == 0
    assert "Podcast of the week" in out.getvalue()


async def _preview(bot, store, out, **kwargs):
    # The CLI runs it with no event loop of its own; from this async test, in a thread as the CLI would be.
    import asyncio

    return await asyncio.to_thread(run_digest_preview, bot, store, out, **kwargs)
