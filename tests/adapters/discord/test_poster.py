"""DiscordPoster against the fake Discord, through discord.py: posts, edits, DMs, permissions, refusals."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.poster import DiscordPoster, nonce
from bot.app.posting import Poster, PostError
from bot.core.reply import Button, ButtonAction, Item, Reply
from tests.adapters.discord.conftest import give_bot_a_member
from tests.adapters.discord.fake_discord import EMBED_LINKS, SEND_MESSAGES, VIEW_CHANNEL, FakeDiscord

Start = Callable[..., Awaitable[DiscordAdapter]]
REVIEW = Reply("Suggestion #7: A guide", items=(Item("A guide", "https://example.org/guide"),), buttons=(
    Button("Approve", ButtonAction.APPROVE, ref="7"), Button("Reject", ButtonAction.REJECT, ref="7")))
DECIDED = Reply("Suggestion #7: A guide", text="Approved by discord:1 (Grace).")


@pytest.fixture
async def poster(fake: FakeDiscord, start_adapter: Start) -> DiscordPoster:
    give_bot_a_member(fake)
    adapter = await start_adapter()
    assert adapter.poster is not None
    return adapter.poster


@pytest.fixture
def review(fake: FakeDiscord) -> str:
    return fake.add_channel(name="review")["id"]  # before the bot connects, so that it is in its cache


def ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


async def refusal(work: Awaitable[Any]) -> PostError:
    with pytest.raises(PostError) as caught:
        await work
    return caught.value


def test_it_is_a_poster_for_discord_with_short_stable_nonces() -> None:
    poster: Poster = DiscordPoster(None)  # type: ignore[arg-type]  # the protocol, checked by the type checker
    assert poster.platform == "discord"
    assert len(nonce("review:123456789:discord")) <= 25 and nonce("a") == nonce("a") != nonce("b")


async def test_the_adapter_has_no_poster_until_it_started(make_adapter: Callable[..., DiscordAdapter]) -> None:
    assert make_adapter().poster is None


async def test_a_post_is_embeds_and_reference_buttons_without_mentions(fake: FakeDiscord, poster: DiscordPoster,
                                                                       review: str) -> None:
    ref = await poster.post(review, REVIEW, key="review:7:discord")
    [message] = fake.channel_messages(review)
    assert ref == message["id"]
    assert message["embeds"][0]["title"] == "Suggestion #7: A guide"
    assert ids(message) == ["mlops:a:7", "mlops:r:7"]
    request = next(r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{review}/messages")
    assert request.body["allowed_mentions"] == {"parse": []}
    assert request.body["nonce"] == nonce("review:7:discord") and request.body["enforce_nonce"] is True


async def test_posting_again_with_the_same_key_gives_back_the_first_message(fake: FakeDiscord, poster: DiscordPoster,
                                                                           review: str) -> None:
    first = await poster.post(review, REVIEW, key="review:7:discord")
    again = await poster.post(review, REVIEW, key="review:7:discord")  # a retry after a lost answer
    assert again == first and len(fake.channel_messages(review)) == 1
    other = await poster.post(review, REVIEW, key="review:8:discord")
    assert other != first and len(fake.channel_messages(review)) == 2


async def test_within_the_nonce_window_posting_again_is_safe_and_past_it_the_bot_cannot_tell(
        poster: DiscordPoster, review: str) -> None:
    await poster.post(review, REVIEW, key="review:7:discord")
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    assert await poster.find(review, "review:7:discord", recent) is None
    # An attempt begun longer ago than Discord keeps nonces: a repeat might be a second post.
    old = dt.datetime.now(dt.UTC) - DiscordPoster.NONCE_TRUST - dt.timedelta(seconds=1)
    with pytest.raises(PostError) as info:
        await poster.find(review, "review:7:discord", old)
    assert info.value.permanent


async def test_an_update_replaces_the_embeds_and_removes_the_buttons(fake: FakeDiscord, poster: DiscordPoster,
                                                                     review: str) -> None:
    ref = await poster.post(review, REVIEW, key="review:7:discord")
    await poster.update(review, ref, DECIDED)
    [message] = fake.channel_messages(review)
    assert message["components"] == []
    assert message["embeds"][0]["description"].startswith("Approved by discord:1")
    [(edited, body)] = fake.message_edits
    assert edited == ref and body["components"] == [] and body["allowed_mentions"] == {"parse": []}


async def test_a_dm_reaches_the_member(fake: FakeDiscord, poster: DiscordPoster) -> None:
    await poster.dm(str(fake.user_id), Reply("Your suggestion #7 was approved"))
    [message] = fake.dms_to(fake.user_id)
    assert message["embeds"][0]["title"] == "Your suggestion #7 was approved"


async def test_a_member_who_accepts_no_dms_is_a_permanent_dm_closed(fake: FakeDiscord, poster: DiscordPoster) -> None:
    fake.refuse_dms(fake.user_id)
    error = await refusal(poster.dm(str(fake.user_id), Reply("Approved")))
    assert (error.code, error.permanent) == ("dm_closed", True)
    assert not fake.dms_to(fake.user_id)


async def test_can_post_where_the_bot_may_view_send_and_embed(poster: DiscordPoster, review: str) -> None:
    assert await poster.can_post(review) is None


async def test_can_post_names_each_missing_permission_and_how_to_grant_it(fake: FakeDiscord, start_adapter: Start
                                                                          ) -> None:
    locked = fake.add_channel(name="locked")
    locked["permission_overwrites"] = [{"id": str(fake.guild_id), "type": 0, "allow": "0",
                                        "deny": str(SEND_MESSAGES | EMBED_LINKS)}]
    hidden = fake.add_channel(name="hidden")
    hidden["permission_overwrites"] = [{"id": str(fake.guild_id), "type": 0, "allow": "0",
                                        "deny": str(VIEW_CHANNEL)}]
    give_bot_a_member(fake)
    adapter = await start_adapter()
    assert adapter.poster is not None

    problem = await adapter.poster.can_post(locked["id"])
    assert problem is not None
    assert "Send Messages and Embed Links" in problem and "View Channel" not in problem
    assert "#locked" in problem and "mlops-bot discord invite-url" in problem and "grant" in problem
    problem = await adapter.poster.can_post(hidden["id"])
    assert problem is not None and "View Channel" in problem  # no view: nothing else works either


async def test_can_post_says_what_is_wrong_with_a_channel_that_is_not_there(fake: FakeDiscord,
                                                                           poster: DiscordPoster) -> None:
    unknown = await poster.can_post("123456789012345678")
    assert unknown is not None and "There is no channel 123456789012345678" in unknown
    assert "is not a Discord channel id" in (await poster.can_post("#review") or "")


async def test_can_post_refuses_a_channel_of_another_server_when_a_guild_is_set(
        fake: FakeDiscord, start_adapter: Start) -> None:
    elsewhere = fake.add_channel(name="general", guild_id=900_000_000_000_000_999)
    give_bot_a_member(fake)
    adapter = await start_adapter(discord_guild_id=fake.guild_id)
    assert adapter.poster is not None
    problem = await adapter.poster.can_post(elsewhere["id"])
    assert problem is not None and "another server" in problem and "DISCORD_GUILD_ID" in problem


@pytest.mark.parametrize(("error", "code", "words"), [
    ("missing_access", "missing_access", "cannot see"),
    ("missing_permissions", "missing_permissions", "Send Messages and Embed Links"),
    ("unknown_channel", "unknown_channel", "There is no channel"),
])
async def test_a_refused_post_is_a_permanent_error_with_what_to_fix_and_a_log_line(
        fake: FakeDiscord, poster: DiscordPoster, review: str, caplog: pytest.LogCaptureFixture, error: str,
        code: str, words: str) -> None:
    fake.fail_channel(review, error)
    with caplog.at_level(logging.WARNING, logger="bot.adapters.discord.poster"):
        refused = await refusal(poster.post(review, REVIEW, key="review:7:discord"))
    assert (refused.code, refused.permanent) == (code, True)
    assert words in refused.hint and words in refused.user_message
    if code != "unknown_channel":
        assert "mlops-bot discord invite-url" in refused.hint
    assert any(str(refused) in r.getMessage() and refused.hint in r.getMessage() for r in caplog.records)
    assert not fake.channel_messages(review)


async def test_an_update_that_is_refused_is_mapped_the_same_way(fake: FakeDiscord, poster: DiscordPoster,
                                                                review: str) -> None:
    ref = await poster.post(review, REVIEW, key="review:7:discord")
    fake.fail_channel(review, "missing_permissions")
    refused = await refusal(poster.update(review, ref, DECIDED))
    assert refused.code == "missing_permissions" and refused.permanent


async def test_a_server_error_is_transient(fake: FakeDiscord, poster: DiscordPoster, review: str) -> None:
    fake.inject("POST", rf"/channels/{review}/messages", 503, {"message": "Service Unavailable", "code": 0})
    refused = await refusal(poster.post(review, REVIEW, key="review:7:discord"))
    assert (refused.code, refused.permanent) == ("server_error", False)
    await poster.post(review, REVIEW, key="review:7:discord")  # the retry goes through, once
    assert len(fake.channel_messages(review)) == 1


async def test_a_long_rate_limit_is_transient_with_its_retry_after(fake: FakeDiscord, poster: DiscordPoster,
                                                                   review: str) -> None:
    fake.ratelimit_channel(review, retry_after=120)
    refused = await refusal(poster.post(review, REVIEW, key="review:7:discord"))
    assert (refused.code, refused.permanent, refused.retry_after) == ("rate_limited", False, 120)


async def test_a_short_rate_limit_is_waited_out(fake: FakeDiscord, poster: DiscordPoster, review: str) -> None:
    fake.ratelimit_channel(review, retry_after=0.05)
    await poster.post(review, REVIEW, key="review:7:discord")
    assert len(fake.channel_messages(review)) == 1


async def test_a_post_that_takes_too_long_is_transient(fake: FakeDiscord, poster: DiscordPoster, review: str) -> None:
    fake.fail_channel(review, "server_error")  # discord.py keeps retrying a 500, a second and more apart
    poster.timeout = 0.3
    refused = await refusal(poster.post(review, REVIEW, key="review:7:discord"))
    assert (refused.code, refused.permanent) == ("network", False)
