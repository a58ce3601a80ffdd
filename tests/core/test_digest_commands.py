"""`/mlops digest` in the core: who may do what, what was typed, and the effect handed to the app layer."""

from __future__ import annotations

import pytest

from bot.core.commands import parse
from bot.core.context import Call, Community, Context
from bot.core.digest import Cadence
from bot.core.digest_commands import (
    DigestNow,
    DigestPreview,
    DigestStatus,
    DigestSubscribe,
    DigestUnsubscribe,
)
from bot.core.handlers import handle
from bot.core.permissions import Actor, Moderators
from bot.core.registry import spec
from bot.core.reply import Reply
from bot.core.search_api import build_search

MOD = Actor("slack", "U0MOD")
MEMBER = Actor("slack", "U0MEMBER")


@pytest.fixture(scope="module")
def ctx(catalog) -> Context:
    community = Community(moderators=Moderators(slack_users=frozenset({"U0MOD"})), digest_timezone="Europe/Berlin")
    return Context(catalog, build_search(catalog), community=community)


def run(ctx, text, actor=MEMBER, channel="C1"):
    return handle(parse(text), ctx, call=Call(actor=actor, channel_id=channel))


def test_digest_alone_shows_anyone_this_channels_schedule(ctx):
    assert run(ctx, "digest") == DigestStatus("C1")
    assert run(ctx, "digest status") == DigestStatus("C1")


def test_subscribe_defaults_to_monday_nine_in_the_digest_timezone(ctx):
    assert run(ctx, "digest subscribe", MOD) == DigestSubscribe("C1", Cadence(0, 9, 0, "Europe/Berlin"))


def test_subscribe_takes_a_day_a_time_and_a_timezone(ctx):
    assert run(ctx, "digest subscribe fri 17:30 america/new_york", MOD) == DigestSubscribe(
        "C1", Cadence(4, 17, 30, "America/New_York"))


def test_a_schedule_that_cannot_be_used_is_explained_with_examples(ctx):
    reply = run(ctx, "digest subscribe Moonday", MOD)
    assert isinstance(reply, Reply) and reply.is_error
    assert "I don't know the day 'Moonday'" in reply.text and "Europe/Berlin" in reply.text


@pytest.mark.parametrize("text", ["digest subscribe", "digest unsubscribe", "digest now"])
def test_only_moderators_change_or_post_the_digest(ctx, text):
    reply = run(ctx, text, MEMBER)
    assert isinstance(reply, Reply) and reply.header == "Moderators only"
    assert "U0MEMBER" in reply.text and "SLACK_MODERATORS" in reply.text


def test_anyone_may_preview(ctx):
    assert run(ctx, "digest preview", MEMBER) == DigestPreview("C1")


def test_moderators_unsubscribe_and_post_now(ctx):
    assert run(ctx, "digest unsubscribe", MOD) == DigestUnsubscribe("C1")
    assert run(ctx, "digest now", MOD) == DigestNow("C1")


def test_the_console_is_one_channel(ctx):
    assert run(ctx, "digest", Actor("console", "console"), channel=None) == DigestStatus("console")


def test_an_unknown_action_answers_with_the_usage(ctx):
    reply = run(ctx, "digest weekly-ish", MOD)
    assert isinstance(reply, Reply) and reply.is_error
    assert "status, subscribe, unsubscribe, preview, now" in reply.text
    assert reply.fields[0].name == "Usage"


def test_actions_other_than_subscribe_take_no_arguments(ctx):
    reply = run(ctx, "digest now Monday", MOD)
    assert isinstance(reply, Reply) and reply.is_error


def test_discord_options_make_the_same_command_line():
    found = spec("digest")
    assert found is not None and found.short == "d"
    assert [o.name for o in found.options] == ["action", "day", "time", "timezone"]
    assert found.text({"action": "subscribe", "day": "Friday", "time": "17:30", "timezone": "Europe/Berlin"}) == (
        "digest subscribe Friday 17:30 Europe/Berlin")
    assert len(found.summary) <= 100
