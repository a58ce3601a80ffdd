"""SlackPoster (bot.app.posting.Poster) against the fake Slack, through the real slack_sdk client the adapter
builds: posts with metadata, updates without buttons, DMs, can_post, find, and every refusal as a PostError."""

from __future__ import annotations

import datetime as dt
import logging
import time

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack.poster import EVENT_TYPE, SlackPoster
from bot.app.posting import Poster, PostError
from bot.core.reply import Button, ButtonAction, Item, Reply
from bot.service import BotService
from bot.storage import Store
from tests.adapters.slack.conftest import SlackClient, slack_settings
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack, Trouble

REVIEWS = "G0REVIEWS"  # private, the bot a member
DIGEST = "C0DIGEST"  # public
SINCE = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
ALL_SCOPES = ["commands", "chat:write", "chat:write.public", "im:write", "channels:read", "groups:read",
              "channels:history", "groups:history"]
REVIEW = Reply(header="Suggestion #3: Feast <docs>", items=(Item("Feast", "https://docs.feast.dev/"),),
               buttons=(Button("Approve", ButtonAction.APPROVE, ref="3"),
                        Button("Reject", ButtonAction.REJECT, ref="3")))


@pytest.fixture
async def poster(adapter: SlackAdapter, fake_slack: FakeSlack) -> SlackPoster:
    fake_slack.scopes[:] = ALL_SCOPES
    assert adapter.poster is not None
    return adapter.poster


def refusal(caught: pytest.ExceptionInfo[PostError]) -> tuple[str, bool]:
    return caught.value.code, caught.value.permanent


async def test_the_adapter_exposes_a_poster_after_start(adapter: SlackAdapter):
    assert isinstance(adapter.poster, SlackPoster)
    poster: Poster = adapter.poster  # it is what the app layer's services post through
    assert poster.platform == "slack"


async def test_post_sends_the_rendered_reply_with_its_key_in_the_metadata(poster: SlackPoster, fake_slack: FakeSlack):
    ts = await poster.post(REVIEWS, REVIEW, key="review:3", metadata={"number": 3})
    (sent,) = fake_slack.sent(REVIEWS)
    assert sent["unfurl_links"] is False and sent["unfurl_media"] is False and "link_names" not in sent
    assert "Suggestion #3: Feast &lt;docs&gt;" in sent["text"]
    message = fake_slack.message(REVIEWS, ts)
    assert message is not None
    assert message["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"number": 3, "key": "review:3"}}
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["mlops_approve_0", "mlops_reject_1"]


async def test_post_without_a_key_sends_no_metadata(poster: SlackPoster, fake_slack: FakeSlack):
    ts = await poster.post(REVIEWS, Reply(header="hello"))
    assert "metadata" not in (fake_slack.message(REVIEWS, ts) or {})


async def test_update_replaces_the_post_and_leaves_no_buttons(poster: SlackPoster, fake_slack: FakeSlack):
    ts = await poster.post(REVIEWS, REVIEW, key="review:3")
    await poster.update(REVIEWS, ts, Reply(header="Suggestion #3", text="Approved by grace", buttons=REVIEW.buttons))
    message = fake_slack.message(REVIEWS, ts)
    assert message is not None and "Approved by grace" in str(message["blocks"])
    assert all(b["type"] != "actions" for b in message["blocks"])
    assert "link_names" not in fake_slack.posts("/api/chat.update")[0].body


async def test_dm_opens_the_conversation_and_posts_there(poster: SlackPoster, fake_slack: FakeSlack):
    await poster.dm("U0ADA", Reply(header="Your suggestion #3 was approved"))
    assert [c.path for c in fake_slack.calls][-2:] == ["/api/conversations.open", "/api/chat.postMessage"]
    (dm,) = fake_slack.dms_to("U0ADA")
    assert "approved" in dm["text"]


@pytest.mark.parametrize("error", ["user_not_found", "user_disabled", "cannot_dm_bot"])
async def test_a_member_who_takes_no_dms_is_dm_closed_for_good(poster: SlackPoster, fake_slack: FakeSlack,
                                                               error: str):
    fake_slack.fail_dm("U0GONE", error)
    with pytest.raises(PostError) as caught:
        await poster.dm("U0GONE", Reply(header="x"))
    assert refusal(caught) == ("dm_closed", True)


async def test_dms_without_im_write_name_the_scope(poster: SlackPoster, fake_slack: FakeSlack):
    fake_slack.scopes.remove("im:write")
    with pytest.raises(PostError) as caught:
        await poster.dm("U0ADA", Reply(header="x"))
    assert refusal(caught) == ("missing_scope", True)
    assert "im:write" in caught.value.hint and "reinstall" in caught.value.hint


# -- can_post ---------------------------------------------------------------------------------------

async def test_can_post_in_a_channel_the_bot_is_in(poster: SlackPoster, fake_slack: FakeSlack):
    fake_slack.channel(REVIEWS)
    assert await poster.can_post(REVIEWS) is None


async def test_can_post_in_a_public_channel_not_joined_with_chat_write_public(poster: SlackPoster,
                                                                            fake_slack: FakeSlack):
    fake_slack.channel(DIGEST, is_member=False)
    assert await poster.can_post(DIGEST) is None
    fake_slack.scopes.remove("chat:write.public")
    problem = await poster.can_post(DIGEST)
    assert problem is not None and problem.startswith("Invite the bot to this channel: /invite @")
    assert "chat:write.public" in problem


async def test_a_private_channel_not_joined_says_to_invite_the_bot(poster: SlackPoster, fake_slack: FakeSlack):
    fake_slack.channel(REVIEWS, is_member=False)  # Slack hides it: channel_not_found
    problem = await poster.can_post(REVIEWS)
    assert problem is not None and "/invite @" in problem


async def test_an_archived_channel_says_so(poster: SlackPoster, fake_slack: FakeSlack):
    fake_slack.channel(DIGEST, is_archived=True)
    problem = await poster.can_post(DIGEST)
    assert problem is not None and "archived" in problem


@pytest.mark.parametrize("scope", ["chat:write", "groups:read"])
async def test_a_missing_scope_says_to_reinstall_from_the_manifest(poster: SlackPoster, fake_slack: FakeSlack,
                                                                    scope: str):
    fake_slack.scopes.remove(scope)
    problem = await poster.can_post(REVIEWS)
    assert problem == f"The app lacks the {scope} scope: reinstall it from the manifest (deploy/slack/manifest.yaml)."


# -- find -------------------------------------------------------------------------------------------

async def test_find_returns_the_post_with_that_key(poster: SlackPoster, fake_slack: FakeSlack):
    await poster.post(DIGEST, Reply(header="an older digest"), key="digest:2024-W01")
    ts = await poster.post(DIGEST, Reply(header="the digest"), key="digest:2024-W02")
    await poster.post(DIGEST, Reply(header="no key"))
    assert await poster.find(DIGEST, "digest:2024-W02", SINCE) == ts
    assert await poster.find(DIGEST, "digest:2024-W03", SINCE) is None
    assert await poster.find(DIGEST, "digest:2024-W02", dt.datetime.now(dt.UTC)) is None  # older than `since`
    history = fake_slack.posts("/api/conversations.history")[0].body
    assert str(history["include_all_metadata"]).lower() in ("1", "true") and float(history["oldest"]) > 0


async def test_find_ignores_someone_elses_message_with_the_same_metadata(poster: SlackPoster,
                                                                         fake_slack: FakeSlack):
    ts = await poster.post(DIGEST, Reply(header="x"), key="k1")
    message = fake_slack.message(DIGEST, ts)
    assert message is not None
    message["bot_id"], message["user"] = "B0OTHER", "U0OTHER"
    assert await poster.find(DIGEST, "k1", SINCE) is None


@pytest.mark.parametrize("setup, code", [
    (lambda fake: fake.scopes.remove("channels:history"), "missing_scope"),
    (lambda fake: fake.channel(DIGEST, is_member=False), "not_in_channel"),
])
async def test_find_raises_when_it_may_not_read_the_history(poster: SlackPoster, fake_slack: FakeSlack,
                                                            setup, code: str):
    await poster.post(DIGEST, Reply(header="x"), key="k1")
    setup(fake_slack)
    with pytest.raises(PostError) as caught:
        await poster.find(DIGEST, "k1", SINCE)
    assert refusal(caught) == (code, True)


# -- refusals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("error, code, permanent, hint", [
    ("not_in_channel", "not_in_channel", True, "/invite @"),
    ("channel_not_found", "channel_not_found", True, "channel's ID"),
    ("is_archived", "is_archived", True, "archived"),
    ("missing_scope", "missing_scope", True, "chat:write.public scope"),
    ("503", "server_error", False, "try again"),
    ("msg_too_long", "msg_too_long", True, "msg_too_long"),
])
async def test_every_refusal_of_a_post_maps_to_a_post_error(poster: SlackPoster, fake_slack: FakeSlack, error: str,
                                                            code: str, permanent: bool, hint: str):
    fake_slack.fail_channel(DIGEST, error, needed="chat:write.public")
    with pytest.raises(PostError) as caught:
        await poster.post(DIGEST, Reply(header="x"))
    assert refusal(caught) == (code, permanent)
    assert hint in caught.value.hint
    assert caught.value.user_message == caught.value.hint


async def test_a_channel_the_bot_is_not_in_without_chat_write_public_is_not_in_channel(poster: SlackPoster,
                                                                                     fake_slack: FakeSlack):
    fake_slack.scopes.remove("chat:write.public")
    fake_slack.channel(DIGEST, is_member=False)
    with pytest.raises(PostError) as caught:
        await poster.post(DIGEST, Reply(header="x"))
    assert refusal(caught) == ("not_in_channel", True)


async def test_an_update_of_a_message_slack_will_not_change_is_permanent(poster: SlackPoster,
                                                                         fake_slack: FakeSlack):
    ts = await poster.post(REVIEWS, Reply(header="x"))
    fake_slack.refuse_update(REVIEWS, ts)
    with pytest.raises(PostError) as caught:
        await poster.update(REVIEWS, ts, Reply(header="y"))
    assert refusal(caught) == ("cant_update_message", True)


async def test_a_rate_limit_waits_for_retry_after_then_posts(poster: SlackPoster, fake_slack: FakeSlack):
    fake_slack.fail_next("/api/chat.postMessage", Trouble(status=429, retry_after="1"))
    started = time.monotonic()
    ts = await poster.post(REVIEWS, Reply(header="x"))
    assert time.monotonic() - started >= 1.0
    assert fake_slack.message(REVIEWS, ts) is not None
    assert len(fake_slack.posts("/api/chat.postMessage")) == 2


async def test_a_rate_limit_longer_than_the_bot_waits_is_transient_with_its_retry_after(poster: SlackPoster,
                                                                                       fake_slack: FakeSlack):
    fake_slack.fail_next("/api/chat.postMessage", Trouble(status=429, retry_after="120"))
    started = time.monotonic()
    with pytest.raises(PostError) as caught:
        await poster.post(REVIEWS, Reply(header="x"))
    assert time.monotonic() - started < 5
    assert refusal(caught) == ("ratelimited", False) and caught.value.retry_after == 120


async def test_slack_unreachable_is_a_transient_network_error():
    async with aiohttp.ClientSession() as session:
        poster = SlackPoster.create(BOT_TOKEN, api_url="http://127.0.0.1:9/api/", session=session)
        with pytest.raises(PostError) as caught:
            await poster.post(REVIEWS, Reply(header="x"))
    assert refusal(caught) == ("network", False)


# -- start-up -----------------------------------------------------------------------------------------

async def test_an_old_commands_only_install_still_answers_and_the_log_names_whats_missing(
        fake_slack: FakeSlack, store: Store, service: BotService, caplog: pytest.LogCaptureFixture):
    fake_slack.scopes[:] = ["commands"]
    adapter = SlackAdapter(service, slack_settings(fake_slack), store)
    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack"):
        await adapter.start()
    try:
        (line,) = [r.getMessage() for r in caplog.records if "lacks scope" in r.getMessage()]
        for scope in ("chat:write", "chat:write.public", "im:write", "channels:history", "groups:history",
                      "channels:read", "groups:read"):
            assert scope in line
        assert "searches work" in line and "deploy/slack/manifest.yaml" in line
        async with aiohttp.ClientSession() as session:
            message = await SlackClient(session, f"http://127.0.0.1:{adapter.port}", fake_slack).command(
                "resource feature-store")
        assert message["blocks"]
        assert adapter.poster is not None
        with pytest.raises(PostError) as caught:
            await adapter.poster.post(REVIEWS, Reply(header="x"))
        assert refusal(caught) == ("missing_scope", True) and "chat:write" in caught.value.hint
    finally:
        await adapter.stop()


async def test_a_review_channel_the_bot_cannot_post_in_is_named_at_start(
        fake_slack: FakeSlack, store: Store, service: BotService, caplog: pytest.LogCaptureFixture):
    fake_slack.scopes[:] = ALL_SCOPES
    fake_slack.channel(REVIEWS, is_member=False)
    settings = slack_settings(fake_slack).model_copy(update={"slack_review_channel": REVIEWS})
    adapter = SlackAdapter(service, settings, store)
    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack"):
        await adapter.start()
    await adapter.stop()
    (line,) = [r.getMessage() for r in caplog.records if "SLACK_REVIEW_CHANNEL" in r.getMessage()]
    assert REVIEWS in line and "/invite @" in line
    assert not any("lacks scope" in r.getMessage() for r in caplog.records)
