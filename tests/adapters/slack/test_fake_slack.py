"""The fake Slack itself, driven with slack_sdk's real AsyncWebClient: it must answer as Slack does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.slack.conftest import SlackClient, sign
from tests.adapters.slack.fake_slack import BOT_TOKEN, DEFAULT_SCOPES, FakeSlack, RateLimits

REVIEW = "C0REVIEW"


@pytest.fixture
async def web_client(fake_slack: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    client = AsyncWebClient(base_url=fake_slack.api_url, token=BOT_TOKEN)
    yield client
    if client.session is not None:
        await client.session.close()


class ManualClock:
    """The fake's time source, moved by hand, so rate-limit windows need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def modal(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal", "callback_id": "suggest", "private_metadata": '{"channel": "C0CHANNEL"}',
        "title": {"type": "plain_text", "text": "Suggest a resource"},
        "submit": {"type": "plain_text", "text": "Suggest"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "url", "label": {"type": "plain_text", "text": "Link"},
             "element": {"type": "plain_text_input", "action_id": "value", "max_length": 300}},
            {"type": "input", "block_id": "why", "optional": True, "label": {"type": "plain_text", "text": "Why"},
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                         "initial_value": "Because", "max_length": 500}},
        ],
    }
    view.update(overrides)
    return view


def payload_of(body: bytes) -> dict[str, Any]:
    return json.loads(dict(parse_qsl(body.decode()))["payload"])


def error_of(caught: pytest.ExceptionInfo[SlackApiError]) -> str:
    return caught.value.response["error"]


# -- auth.test ---------------------------------------------------------------------------------------

async def test_auth_test_reports_the_granted_scopes_in_the_x_oauth_scopes_header(web_client: AsyncWebClient,
                                                                               fake_slack: FakeSlack):
    answer = await web_client.auth_test()
    assert answer["user_id"] == "U0BOT"
    assert answer.headers["x-oauth-scopes"] == ",".join(DEFAULT_SCOPES)
    fake_slack.scopes = ["commands"]
    assert (await web_client.auth_test()).headers["X-OAuth-Scopes"] == "commands"


async def test_a_wrong_token_is_invalid_auth(fake_slack: FakeSlack):
    client = AsyncWebClient(base_url=fake_slack.api_url, token="xoxb-wrong")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0X", text="hi")
    assert error_of(caught) == "invalid_auth"
    if client.session is not None:
        await client.session.close()


async def test_a_method_the_fake_does_not_know_is_a_404(web_client: AsyncWebClient):
    with pytest.raises(SlackApiError) as caught:
        await web_client.api_call("reactions.add", json={"channel": "C0X", "name": "tada", "timestamp": "1.2"})
    assert caught.value.response.status_code == 404


# -- chat.postMessage ----------------------------------------------------------------------------------

async def test_post_message_stores_it_with_a_unique_increasing_ts(web_client: AsyncWebClient,
                                                                 fake_slack: FakeSlack):
    first = await web_client.chat_postMessage(channel=REVIEW, text="one", unfurl_links=False, unfurl_media=False,
                                              metadata={"event_type": "suggestion", "event_payload": {"id": 7}})
    second = await web_client.chat_postMessage(channel=REVIEW, text="two",
                                               blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*2*"}}])
    assert first["channel"] == REVIEW and first["message"]["text"] == "one"
    assert float(first["ts"]) < float(second["ts"])
    assert [m["text"] for m in fake_slack.messages(REVIEW)] == ["one", "two"]
    assert fake_slack.messages(REVIEW)[0]["metadata"] == {"event_type": "suggestion", "event_payload": {"id": 7}}
    assert fake_slack.sent(REVIEW)[0]["unfurl_links"] is False
    assert fake_slack.posts_per_channel() == {REVIEW: 2}


async def test_post_message_with_a_form_body_is_read_like_json(fake_slack: FakeSlack):
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{fake_slack.api_url}chat.postMessage", data={
            "token": BOT_TOKEN, "channel": REVIEW, "text": "form",
            "blocks": json.dumps([{"type": "divider"}])})
        assert (await response.json())["ok"] is True
    assert fake_slack.messages(REVIEW)[0]["blocks"] == [{"type": "divider"}]


@pytest.mark.parametrize(("blocks", "error"), [
    ([{"type": "divider"}] * 51, "invalid_blocks"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "invalid_blocks"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "invalid_blocks"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}], "invalid_blocks"),
])
async def test_blocks_over_slacks_limits_are_invalid_blocks(web_client: AsyncWebClient, fake_slack: FakeSlack,
                                                            blocks: list[dict[str, Any]], error: str):
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel=REVIEW, text="t", blocks=blocks)
    assert error_of(caught) == error
    assert "json-pointer:/blocks" in caught.value.response["response_metadata"]["messages"][0]
    assert fake_slack.messages(REVIEW) == []
    assert fake_slack.posts_per_channel() == {}


async def test_blocks_at_the_limits_are_accepted(web_client: AsyncWebClient, fake_slack: FakeSlack):
    blocks = ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]
              + [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3000}}] * 49)
    await web_client.chat_postMessage(channel=REVIEW, text="t", blocks=blocks)
    assert len(fake_slack.messages(REVIEW)[0]["blocks"]) == 50


async def test_link_names_is_recorded_as_a_problem(web_client: AsyncWebClient, fake_slack: FakeSlack):
    await web_client.chat_postMessage(channel=REVIEW, text="@here look", link_names=True)
    assert fake_slack.problems == ["chat.postMessage to C0REVIEW sets link_names=True"]
    fake_slack.problems.clear()  # the fixture fails a test that leaves one


async def test_invalid_metadata_is_refused(web_client: AsyncWebClient):
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel=REVIEW, text="t", metadata={"event_type": "x"})
    assert error_of(caught) == "invalid_metadata_schema"


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
async def test_a_scripted_channel_error_raises_slack_api_error_with_it(web_client: AsyncWebClient,
                                                                     fake_slack: FakeSlack, error: str):
    fake_slack.fail_channel("C0GONE", error)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0GONE", text="digest")
    assert error_of(caught) == error
    assert caught.value.response.status_code == 200  # Slack's errors are HTTP 200
    await web_client.chat_postMessage(channel="C0OTHER", text="digest")  # other channels are unaffected
    assert fake_slack.posts_per_channel() == {"C0OTHER": 1}


async def test_missing_scope_names_what_is_needed_and_what_was_provided(web_client: AsyncWebClient,
                                                                        fake_slack: FakeSlack):
    fake_slack.fail_channel("C0LOCKED", "missing_scope", needed="chat:write.customize")
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0LOCKED", text="t")
    assert caught.value.response.data == {"ok": False, "error": "missing_scope", "needed": "chat:write.customize",
                                          "provided": ",".join(DEFAULT_SCOPES)}
    fake_slack.scopes = ["commands"]
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0FREE", text="t")
    assert caught.value.response["needed"] == "chat:write"


async def test_a_scripted_error_can_last_a_few_posts_or_be_a_5xx(web_client: AsyncWebClient,
                                                                 fake_slack: FakeSlack):
    fake_slack.fail_channel("C0FLAKY", "503", times=1)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0FLAKY", text="t")
    assert caught.value.response.status_code == 503
    await web_client.chat_postMessage(channel="C0FLAKY", text="t")
    assert fake_slack.posts_per_channel() == {"C0FLAKY": 1}


async def test_the_channels_state_decides_like_slack(web_client: AsyncWebClient, fake_slack: FakeSlack):
    fake_slack.channel("C0PUBLIC", is_member=False)
    await web_client.chat_postMessage(channel="C0PUBLIC", text="t")  # chat:write.public covers it
    fake_slack.scopes.remove("chat:write.public")
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0PUBLIC", text="t")
    assert error_of(caught) == "not_in_channel"
    fake_slack.channel("G0SECRET", is_member=False)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="G0SECRET", text="t")
    assert error_of(caught) == "channel_not_found"  # a private channel is invisible to non-members
    fake_slack.channel("C0OLD", is_archived=True)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0OLD", text="t")
    assert error_of(caught) == "is_archived"


# -- rate limits -------------------------------------------------------------------------------------

async def test_the_per_channel_limit_answers_429_with_retry_after(web_client: AsyncWebClient,
                                                                  fake_slack: FakeSlack):
    clock = fake_slack.clock = ManualClock()
    fake_slack.rate_limits = RateLimits(per_channel=1, window=1.0)
    await web_client.chat_postMessage(channel="C0A", text="1")
    await web_client.chat_postMessage(channel="C0B", text="1")  # another channel has its own budget
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0A", text="2")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["Retry-After"] == "1"
    clock.now += 1.0
    await web_client.chat_postMessage(channel="C0A", text="2")
    assert fake_slack.posts_per_channel() == {"C0A": 2, "C0B": 1}
    assert fake_slack.ratelimited == {"C0A": 1}


async def test_the_workspace_limit_spans_channels_and_retry_after_is_whole_seconds(web_client: AsyncWebClient,
                                                                                   fake_slack: FakeSlack):
    clock = fake_slack.clock = ManualClock()
    fake_slack.rate_limits = RateLimits(workspace=3, window=60.0)
    for channel in ("C01", "C02", "C03"):
        await web_client.chat_postMessage(channel=channel, text="digest")
    clock.now += 20.5
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C04", text="digest")
    assert caught.value.response.headers["Retry-After"] == "40"  # ceil(39.5)
    clock.now += 39.5
    await web_client.chat_postMessage(channel="C04", text="digest")


async def test_slack_sdks_rate_limit_handler_retries_a_429_and_posts_once(fake_slack: FakeSlack):
    fake_slack.rate_limits = RateLimits(per_channel=1, window=0.2)  # a short window; Retry-After is still 1
    client = AsyncWebClient(base_url=fake_slack.api_url, token=BOT_TOKEN,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    try:
        await client.chat_postMessage(channel="C0DIGEST", text="1")
        await client.chat_postMessage(channel="C0DIGEST", text="2")
    finally:
        if client.session is not None:
            await client.session.close()
    assert fake_slack.ratelimited == {"C0DIGEST": 1}
    assert fake_slack.posts_per_channel() == {"C0DIGEST": 2}
    assert [m["text"] for m in fake_slack.messages("C0DIGEST")] == ["1", "2"]


async def test_a_seeded_random_share_of_posts_is_ratelimited_the_same_way_each_run(fake_slack: FakeSlack,
                                                                                   web_client: AsyncWebClient):
    def outcomes() -> list[bool]:
        fake = FakeSlack(rate_limits=RateLimits(random_share=0.5, seed=3))
        return [fake._rate_limited("C0X") is None for _ in range(20)]

    assert outcomes() == outcomes()
    assert 3 < outcomes().count(False) < 17
    fake_slack.rate_limits = RateLimits(random_share=1.0)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C0X", text="t")
    assert caught.value.response.headers["Retry-After"] == "1"


# -- chat.update ------------------------------------------------------------------------------------

async def test_update_changes_the_stored_message(web_client: AsyncWebClient, fake_slack: FakeSlack):
    posted = await web_client.chat_postMessage(channel=REVIEW, text="pending", blocks=[{"type": "divider"}])
    answer = await web_client.chat_update(channel=REVIEW, ts=posted["ts"], text="approved", blocks=[])
    assert answer["ts"] == posted["ts"] and answer["text"] == "approved"
    assert fake_slack.message(REVIEW, posted["ts"])["text"] == "approved"
    assert fake_slack.message(REVIEW, posted["ts"])["blocks"] == []
    assert fake_slack.posts_per_channel() == {REVIEW: 1}  # an update is not a post


async def test_update_of_an_unknown_or_refused_message_fails(web_client: AsyncWebClient, fake_slack: FakeSlack):
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_update(channel=REVIEW, ts="1699999999.000001", text="x")
    assert error_of(caught) == "message_not_found"
    posted = await web_client.chat_postMessage(channel=REVIEW, text="pending")
    fake_slack.refuse_update(REVIEW, posted["ts"])
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_update(channel=REVIEW, ts=posted["ts"], text="x")
    assert error_of(caught) == "cant_update_message"


# -- DMs, history, info --------------------------------------------------------------------------------

async def test_conversations_open_gives_a_dm_channel_and_posts_there_are_dms(web_client: AsyncWebClient,
                                                                             fake_slack: FakeSlack):
    opened = await web_client.conversations_open(users=["U0ADA"])
    channel = opened["channel"]["id"]
    assert channel.startswith("D")
    assert (await web_client.conversations_open(users="U0ADA"))["channel"]["id"] == channel
    await web_client.chat_postMessage(channel=channel, text="Your suggestion was approved")
    await web_client.chat_postMessage(channel="U0ADA", text="posting to the user ID lands in the same DM")
    assert [m["text"] for m in fake_slack.dms_to("U0ADA")] == [
        "Your suggestion was approved", "posting to the user ID lands in the same DM"]
    assert fake_slack.dms_to("U0NOBODY") == []


async def test_conversations_open_fails_for_a_scripted_user_or_without_im_write(web_client: AsyncWebClient,
                                                                                fake_slack: FakeSlack):
    fake_slack.fail_dm("U0LEFT", "user_disabled")
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_open(users="U0LEFT")
    assert error_of(caught) == "user_disabled"
    fake_slack.scopes.remove("im:write")
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_open(users="U0ADA")
    assert caught.value.response["needed"] == "im:write"


async def test_history_is_newest_first_with_metadata_only_when_asked(web_client: AsyncWebClient,
                                                                     fake_slack: FakeSlack):
    fake_slack.scopes.append("channels:history")
    meta = {"event_type": "digest", "event_payload": {"week": "2026-W49"}}
    first = await web_client.chat_postMessage(channel="C0SUB", text="old", metadata=meta)
    await web_client.chat_postMessage(channel="C0SUB", text="new")
    history = await web_client.conversations_history(channel="C0SUB", limit=10, include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["new", "old"]
    assert history["messages"][1]["metadata"] == meta
    plain = await web_client.conversations_history(channel="C0SUB")
    assert "metadata" not in plain["messages"][1]
    newer = await web_client.conversations_history(channel="C0SUB", oldest=first["ts"])
    assert [m["text"] for m in newer["messages"]] == ["new"]  # oldest is exclusive
    limited = await web_client.conversations_history(channel="C0SUB", limit=1)
    assert len(limited["messages"]) == 1 and limited["has_more"] is True


async def test_history_needs_its_scope_and_membership(web_client: AsyncWebClient, fake_slack: FakeSlack):
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_history(channel="C0SUB")
    assert caught.value.response["needed"] == "channels:history"  # not among the default scopes
    fake_slack.scopes.append("channels:history")
    fake_slack.channel("C0SUB", is_member=False)
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_history(channel="C0SUB")
    assert error_of(caught) == "not_in_channel"
    fake_slack.fail_channel("C0ELSE", "missing_scope", method="conversations.history", needed="groups:history")
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_history(channel="C0ELSE")
    assert caught.value.response["needed"] == "groups:history"


async def test_conversations_info_reports_membership_and_archival(web_client: AsyncWebClient,
                                                                  fake_slack: FakeSlack):
    fake_slack.scopes.append("channels:read")
    fake_slack.channel("C0SUB", name="ml-weekly", is_member=False, is_archived=True)
    info = (await web_client.conversations_info(channel="C0SUB"))["channel"]
    assert (info["name"], info["is_member"], info["is_archived"], info["is_private"]) == (
        "ml-weekly", False, True, False)
    fake_slack.fail_channel("C0GONE", "channel_not_found", method="conversations.info")
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_info(channel="C0GONE")
    assert error_of(caught) == "channel_not_found"


async def test_conversations_info_without_channels_read_is_missing_scope(web_client: AsyncWebClient):
    with pytest.raises(SlackApiError) as caught:
        await web_client.conversations_info(channel="C0SUB")
    assert caught.value.response["needed"] == "channels:read"


# -- views -------------------------------------------------------------------------------------------

async def test_views_open_answers_the_view_with_an_id_and_records_it(web_client: AsyncWebClient,
                                                                     fake_slack: FakeSlack):
    answer = await web_client.views_open(trigger_id=fake_slack.new_trigger(), view=modal())
    view = answer["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "suggest" and view["hash"]
    assert fake_slack.views[view["id"]]["private_metadata"] == '{"channel": "C0CHANNEL"}'
    assert fake_slack.views_opened[0]["view"]["title"]["text"] == "Suggest a resource"


@pytest.mark.parametrize("overrides", [
    {"type": "home"},
    {"title": {"type": "plain_text", "text": "x" * 25}},
    {"title": {"type": "mrkdwn", "text": "Suggest"}},
    {"submit": {"type": "plain_text", "text": "x" * 25}},
    {"close": {"type": "plain_text", "text": "x" * 25}},
    {"submit": None},  # input blocks need a submit button
    {"callback_id": "x" * 256},
    {"private_metadata": "x" * 3001},
    {"blocks": [{"type": "divider"}] * 101},
    {"blocks": [{"type": "input", "block_id": "url", "label": {"type": "plain_text", "text": "Link"},
                 "element": {"type": "plain_text_input", "action_id": "v", "max_length": 3001}}]},
    {"blocks": [{"type": "input", "block_id": "url", "label": {"type": "plain_text", "text": "Link"},
                 "element": {"type": "plain_text_input", "action_id": "v", "max_length": 5,
                             "initial_value": "too long"}}]},
])
async def test_views_open_refuses_what_slack_refuses(web_client: AsyncWebClient, fake_slack: FakeSlack,
                                                     overrides: dict[str, Any]):
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_open(trigger_id=fake_slack.new_trigger(), view=modal(**overrides))
    assert error_of(caught) == "invalid_arguments"
    assert "json-pointer:/view" in caught.value.response["response_metadata"]["messages"][0]
    assert fake_slack.views == {}


async def test_views_open_needs_a_live_trigger_id_used_once(web_client: AsyncWebClient, fake_slack: FakeSlack):
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_open(trigger_id="123.456.made-up", view=modal())
    assert error_of(caught) == "invalid_trigger_id"
    trigger = fake_slack.new_trigger()
    await web_client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_open(trigger_id=trigger, view=modal())
    assert error_of(caught) == "expired_trigger_id"
    clock = fake_slack.clock = ManualClock()
    late = fake_slack.new_trigger()
    clock.now += 3.5  # Slack's trigger_ids last 3 seconds
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_open(trigger_id=late, view=modal())
    assert error_of(caught) == "expired_trigger_id"


async def test_an_input_without_block_id_is_recorded_as_a_problem(web_client: AsyncWebClient,
                                                                  fake_slack: FakeSlack):
    blocks = [{"type": "input", "label": {"type": "plain_text", "text": "Link"},
               "element": {"type": "plain_text_input"}}]
    await web_client.views_open(trigger_id=fake_slack.new_trigger(), view=modal(blocks=blocks))
    assert fake_slack.problems == ["view input block 0 has no block_id", "view input block 0 element has no action_id"]
    fake_slack.problems.clear()


async def test_views_update_by_id_or_external_id_checks_the_hash(web_client: AsyncWebClient,
                                                                 fake_slack: FakeSlack):
    opened = (await web_client.views_open(trigger_id=fake_slack.new_trigger(),
                                          view=modal(external_id="suggest-1")))["view"]
    updated = (await web_client.views_update(view_id=opened["id"], hash=opened["hash"],
                                             view=modal(title={"type": "plain_text", "text": "Thanks"},
                                                        external_id="suggest-1")))["view"]
    assert updated["id"] == opened["id"] and updated["title"]["text"] == "Thanks"
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    assert error_of(caught) == "hash_conflict"
    await web_client.views_update(external_id="suggest-1", view=modal())
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_update(view_id="V0NOPE", view=modal())
    assert error_of(caught) == "not_found"


# -- SlackClient: what Slack sends the bot ------------------------------------------------------------

async def test_a_view_submission_body_carries_the_opened_views_state(web_client: AsyncWebClient,
                                                                     fake_slack: FakeSlack):
    async with aiohttp.ClientSession() as session:
        client = SlackClient(session, "http://unused", fake_slack)
        opened = (await web_client.views_open(trigger_id=fake_slack.new_trigger(), view=modal()))["view"]
        body = client.view_submission_body({"url": {"value": "https://example.org"}}, user_id="U0MOD")
    payload = payload_of(body)
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U0MOD"
    assert payload["view"]["id"] == opened["id"] and payload["view"]["callback_id"] == "suggest"
    assert payload["view"]["private_metadata"] == opened["private_metadata"]
    assert payload["view"]["state"]["values"] == {
        "url": {"value": {"type": "plain_text_input", "value": "https://example.org"}},
        "why": {"value": {"type": "plain_text_input", "value": None}},  # Slack sends null for an empty input
    }
    assert payload["response_urls"] == []
    sign(body, "1")  # signable as sent


async def test_a_view_submission_refuses_what_slacks_client_would_not_send(web_client: AsyncWebClient,
                                                                           fake_slack: FakeSlack):
    async with aiohttp.ClientSession() as session:
        client = SlackClient(session, "http://unused", fake_slack)
        await web_client.views_open(trigger_id=fake_slack.new_trigger(), view=modal())
        with pytest.raises(AssertionError, match="empty url"):
            client.view_submission_body({})
        with pytest.raises(AssertionError, match="over 300"):
            client.view_submission_body({"url": {"value": "x" * 301}})
        with pytest.raises(AssertionError, match="no input"):
            client.view_submission_body({"nope": {"value": "x"}})


async def test_a_click_on_a_posted_message_carries_the_message_and_the_clicker(web_client: AsyncWebClient,
                                                                               fake_slack: FakeSlack):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "New suggestion"}},
              {"type": "actions", "block_id": "review", "elements": [
                  {"type": "button", "action_id": "approve", "value": "7",
                   "text": {"type": "plain_text", "text": "Approve"}}]}]
    posted = await web_client.chat_postMessage(channel=REVIEW, text="New suggestion", blocks=blocks)
    async with aiohttp.ClientSession() as session:
        client = SlackClient(session, "http://unused", fake_slack)
        button = blocks[1]["elements"][0]
        body = client.click_body(button, message_ts=posted["ts"], channel_id=REVIEW, ephemeral=False,
                                 user_id="U0MOD", user_name="grace", block_id="review")
    payload = payload_of(body)
    assert payload["user"] == {"id": "U0MOD", "username": "grace", "name": "grace", "team_id": "T0TEST"}
    assert payload["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": REVIEW,
                                     "is_ephemeral": False}
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["actions"][0]["block_id"] == "review" and payload["actions"][0]["value"] == "7"


async def test_a_command_can_come_from_another_user_and_channel_with_a_live_trigger(fake_slack: FakeSlack):
    async with aiohttp.ClientSession() as session:
        client = SlackClient(session, "http://unused", fake_slack)
        body = dict(parse_qsl(client.command_body("suggest", user_id="U0MOD", user_name="grace",
                                                  channel_id=REVIEW).decode()))
    assert (body["user_id"], body["user_name"], body["channel_id"], body["text"]) == ("U0MOD", "grace", REVIEW,
                                                                                      "suggest")
    assert body["trigger_id"] in fake_slack.triggers
