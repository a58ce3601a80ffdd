"""The real bolt app behind the real aiohttp server, driven with signed requests, against a fake Slack."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.core.reply import Reply
from bot.errors import PlatformError
from bot.service import BotService, Request
from bot.storage import Store
from tests.adapters.slack.conftest import CHANNEL_ID, SlackClient, buttons, sign, slack_settings
from tests.adapters.slack.fake_slack import FakeSlack, Trouble


def texts(message: dict) -> str:
    """Every piece of text in a message, for "does it mention X" assertions."""
    return json.dumps(message, ensure_ascii=False)


# -- item 1: running, health, auth.test ----------------------------------------------------------------

async def test_start_calls_auth_test_and_serves_healthz(adapter: SlackAdapter, slack: SlackClient,
                                                        fake_slack: FakeSlack):
    assert [c.path for c in fake_slack.calls] == ["/api/auth.test"]
    response = await slack.session.get(f"{slack.base}/healthz")
    assert response.status == 200
    assert await response.json() == {"ok": True, "platforms": {"slack": "listening"}}
    assert (await slack.session.get(f"{slack.base}/readyz")).status == 200


async def test_a_bad_token_stops_start_with_an_error_naming_the_setting(fake_slack, store, service):
    adapter = SlackAdapter(service, slack_settings(fake_slack, bot_token="xoxb-wrong"), store)
    with pytest.raises(PlatformError, match="SLACK_BOT_TOKEN") as caught:
        await adapter.start()
    assert "xoxb-wrong" not in str(caught.value)
    assert adapter.port is None


async def test_slack_api_url_that_answers_nothing_is_named(fake_slack, store, service):
    adapter = SlackAdapter(service, slack_settings(fake_slack, api_url="http://127.0.0.1:9/api/"), store)
    with pytest.raises(PlatformError, match="SLACK_API_URL"):
        await adapter.start()


# -- item 2: every command, as ephemeral Block Kit ---------------------------------------------------

async def test_resource_search_is_an_ephemeral_block_kit_reply(slack: SlackClient, fake_slack: FakeSlack):
    message = await slack.command("resource feature-store")
    assert message["response_type"] == "ephemeral"
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    assert "feature-store" in blocks[0]["text"]["text"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any(s.startswith("*<https://docs.feast.dev/|Feast>*") for s in sections)
    feast = next(i for i, b in enumerate(blocks) if b["type"] == "section" and "Feast>" in b["text"]["text"])
    assert "<https://github.com/feast-dev/feast|GitHub>" in blocks[feast]["text"]["text"]  # extra links
    assert blocks[feast + 1]["type"] == "context"
    assert blocks[feast + 1]["elements"][0]["text"] == "tool · intermediate · free"  # kind · level · cost
    assert blocks[-1]["type"] == "context" and "Showing 1–5" in blocks[-1]["elements"][0]["text"]
    assert set(buttons(message)) == {"share", "more"}
    assert "link_names" not in message
    # Answered in the ack: nothing else went to Slack.
    assert [c.path for c in fake_slack.calls] == ["/api/auth.test"]


async def test_a_command_is_answered_as_soon_as_it_is_computed(slack: SlackClient):
    """bolt's default runs the listener as a task and looks for its ack every 10 ms, so no answer came
    sooner than that; the bot runs it inline. The median of a few sequential commands shows which."""
    await slack.command("resource feature-store")  # warm-up
    took = []
    for _ in range(15):
        started = time.perf_counter()
        await slack.command("resource feature-store")
        took.append(time.perf_counter() - started)
    assert sorted(took)[len(took) // 2] < 0.008, took


@pytest.mark.parametrize("text, header", [
    ("help", "MLOps learning resources"),
    ("", "MLOps learning resources"),
    ("list", "Categories"),
    ("list podcasts", "Podcasts"),
    ("compare feature-stores", "Feature"),
    ("path beginner", "Beginner"),
    ("week 3", "Week 3"),
    ("resource zzzqqqxxy", "No resources match"),
    ("frobnicate", "I don't know that command"),
    ("resource", "What are you looking for?"),
])
async def test_every_command_answers_privately(slack: SlackClient, text: str, header: str):
    message = await slack.command(text)
    assert message["response_type"] == "ephemeral"
    assert header.lower() in message["blocks"][0]["text"]["text"].lower()
    assert message["text"]


# -- item 2: Share and More -----------------------------------------------------------------------------

async def test_share_posts_the_same_reply_publicly_once_and_removes_the_private_copy(
        slack: SlackClient, fake_slack: FakeSlack, store):
    private = await slack.command("resource feature-store")
    share = buttons(private)["share"]
    await slack.click(share)
    posts = await fake_slack.wait_for_posts("/response/click", 2)
    public, delete = posts[0].body, posts[1].body
    assert public["response_type"] == "in_channel" and public["replace_original"] is False
    assert delete == {"delete_original": True}
    # The same results, without a Share button (it is public already), and who shared it.
    assert [b for b in public["blocks"] if b["type"] == "section"] == \
           [b for b in private["blocks"] if b["type"] == "section"]
    assert set(buttons(public)) == {"more"}
    assert "Shared by ada" in public["blocks"][-1]["elements"][0]["text"]
    assert "link_names" not in public


async def test_a_double_click_or_a_slack_retry_never_posts_twice(slack: SlackClient, fake_slack: FakeSlack):
    share = buttons(await slack.command("resource feature-store"))["share"]
    # A double click (two clicks, two action_ts) and Slack retrying the same payload.
    await asyncio.gather(slack.click(share, action_ts="1.1"), slack.click(share, action_ts="1.2"))
    await slack.click(share, action_ts="1.1", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    await fake_slack.wait_for_posts("/response/click", 2)
    await asyncio.sleep(0.3)  # give a (wrong) second post every chance to arrive
    public = [c for c in fake_slack.posts("/response/click") if c.body.get("response_type") == "in_channel"]
    assert len(public) == 1


async def test_a_failed_share_can_be_tried_again(slack: SlackClient, fake_slack: FakeSlack):
    share = buttons(await slack.command("resource feature-store"))["share"]
    fake_slack.fail_next("/response/click", Trouble(status=500, retry_after=None))
    await slack.click(share)
    calls = await fake_slack.wait_for_posts("/response/click", 2)
    assert calls[1].body["response_type"] == "ephemeral" and "try again" in texts(calls[1].body)
    await slack.click(share, action_ts="9.9")
    calls = await fake_slack.wait_for_posts("/response/click", 4)
    assert calls[2].body["response_type"] == "in_channel" and calls[3].body == {"delete_original": True}


async def test_a_share_when_the_database_is_down_tells_the_member_and_posts_nothing(
        slack: SlackClient, fake_slack: FakeSlack, store: Store, tmp_path: Path):
    share = buttons(await slack.command("resource feature-store"))["share"]
    with sqlite3.connect(tmp_path / "t.db") as db:  # the claims table is gone: every claim fails
        db.execute("ALTER TABLE claims RENAME TO claims_away")
    await slack.click(share)
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert call.body["response_type"] == "ephemeral" and call.body["replace_original"] is False
    assert "could not reach its database" in texts(call.body)


async def test_more_replaces_the_private_reply_with_the_next_page(slack: SlackClient, fake_slack: FakeSlack):
    first = await slack.command("resource feature-store")
    await slack.click(buttons(first)["more"])
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert call.body["replace_original"] is True and call.body["response_type"] == "ephemeral"
    assert "Showing 6–" in texts(call.body)
    assert "Feast>" not in texts(call.body)


async def test_more_on_a_shared_message_answers_the_clicker_privately(slack: SlackClient, fake_slack: FakeSlack):
    first = await slack.command("resource feature-store")
    await slack.click(buttons(first)["more"], ephemeral=False)
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert call.body["replace_original"] is False and call.body["response_type"] == "ephemeral"


async def test_buttons_keep_their_state_across_a_restart(fake_slack, store, service):
    """The button value carries command and offset, so a click after a restart still pages correctly."""
    settings = slack_settings(fake_slack)
    first = SlackAdapter(service, settings, store)
    await first.start()
    async with aiohttp.ClientSession() as session:
        message = await SlackClient(session, f"http://127.0.0.1:{first.port}", fake_slack).command(
            "resource feature-store")
    await first.stop()
    second = SlackAdapter(service, settings, store)
    await second.start()
    try:
        async with aiohttp.ClientSession() as session:
            await SlackClient(session, f"http://127.0.0.1:{second.port}", fake_slack).click(buttons(message)["more"])
        (call,) = await fake_slack.wait_for_posts("/response/click", 1)
        assert "Showing 6–" in texts(call.body)
    finally:
        await second.stop()


async def test_a_tampered_button_value_is_ignored(slack: SlackClient, fake_slack: FakeSlack):
    await slack.click({"action_id": "mlops_share_0", "text": {"type": "plain_text", "text": "x"},
                       "value": '{"c": 5, "o": "x"}'})
    await asyncio.sleep(0.2)
    assert fake_slack.posts("/response") == []


# -- item 3: hostile text never pings ---------------------------------------------------------------

async def test_member_text_cannot_ping_or_inject_links(slack: SlackClient):
    message = await slack.command("resource <!channel> @here <!everyone> <@U123> <https://evil.example|click>")
    # Button values hold the query as typed (JSON, never displayed); everything Slack shows is checked.
    for block in message["blocks"]:
        for element in block.get("elements", []):
            element.pop("value", None)
    dumped = texts(message)
    for needle in ("<!channel>", "<!everyone>", "<@U123>", "<https://evil", "@here"):
        assert needle not in dumped
    assert "&lt;!channel&gt;" in dumped


# -- item 4: within 3 seconds ----------------------------------------------------------------------------

class SlowService(BotService):
    """The real service behind a slow dependency (a database far away, say): its answer takes 0.6 s."""

    async def handle(self, request: Request) -> Reply:
        await asyncio.sleep(0.6)
        return await super().handle(request)


async def test_a_slow_answer_is_acked_in_time_and_delivered_by_the_lazy_listener(
        fake_slack: FakeSlack, store, service: BotService):
    """With an ack budget of 0.2 s the 0.6 s answer misses it: the ack must still come in time, with a
    placeholder, and the lazy listener must replace it with the real reply through response_url."""
    slow = SlowService(service.catalog)
    adapter = SlackAdapter(slow, slack_settings(fake_slack), store, ack_budget=0.2)
    await adapter.start()
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"http://127.0.0.1:{adapter.port}", fake_slack)
            started = time.perf_counter()
            message = await slack.command("resource feature-store", response_url=fake_slack.response_url("slow"))
            assert time.perf_counter() - started < 0.5
            assert message["response_type"] == "ephemeral"
            assert "Working on it" in message["blocks"][0]["text"]["text"]
            (call,) = await fake_slack.wait_for_posts("/response/slow", 1)
            assert call.body["replace_original"] is True and call.body["response_type"] == "ephemeral"
            assert "Feast" in texts(call.body)
    finally:
        await adapter.stop()


async def test_a_fast_answer_is_not_posted_a_second_time(slack: SlackClient, fake_slack: FakeSlack):
    await slack.command("resource feature-store", response_url=fake_slack.response_url("fast"))
    await asyncio.sleep(0.2)
    assert fake_slack.posts("/response/fast") == []


# -- item 5: request verification ------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["forged", "missing signature", "missing timestamp", "stale", "non-numeric",
                                  "huge timestamp", "unicode digits"])
async def test_unverified_requests_are_401_and_change_nothing(slack: SlackClient, fake_slack: FakeSlack,
                                                              store, case: str):
    body = slack.click_body({"action_id": "mlops_share_0", "text": {"type": "plain_text", "text": "Share"},
                             "value": '{"c":"resource feature-store","o":0}'})
    now = str(int(time.time()))
    headers: dict = {
        "forged": {"X-Slack-Signature": "v0=" + "0" * 64},
        "missing signature": {"X-Slack-Signature": None},
        "missing timestamp": {"X-Slack-Request-Timestamp": None},
        "non-numeric": {"X-Slack-Request-Timestamp": "soon"},
        "huge timestamp": {"X-Slack-Request-Timestamp": "9" * 5000},
        "unicode digits": {"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠"},
        "stale": {},
    }[case]
    timestamp = str(int(time.time()) - 6 * 60) if case == "stale" else now
    response = await slack.post(body, headers=headers, timestamp=timestamp)
    assert response.status == 401
    await asyncio.sleep(0.1)
    assert [c.path for c in fake_slack.calls] == ["/api/auth.test"]
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from claims").scalar() == 0
    # The genuine request still works afterwards.
    assert (await slack.post(body)).status == 200


async def test_a_body_changed_after_signing_is_refused(slack: SlackClient):
    body = slack.command_body("help")
    timestamp = str(int(time.time()))
    response = await slack.session.post(f"{slack.base}/slack/events", data=body + b"&x=1", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(body, timestamp)})
    assert response.status == 401


# -- item 6: Web API and response_url retries, without blocking the loop ---------------------------------

async def test_a_429_is_retried_after_retry_after_while_the_bot_keeps_answering(
        slack: SlackClient, fake_slack: FakeSlack):
    share = buttons(await slack.command("resource feature-store"))["share"]
    fake_slack.fail_next("/response/click", Trouble(status=429, retry_after="1"))
    await slack.click(share)
    await fake_slack.wait_for_posts("/response/click", 1)
    # During the Retry-After wait the event loop is free: health checks and commands answer at once.
    started = time.perf_counter()
    assert (await slack.session.get(f"{slack.base}/healthz")).status == 200
    await slack.command("help")
    assert time.perf_counter() - started < 0.5
    assert len(fake_slack.posts("/response/click")) == 1  # still waiting
    calls = await fake_slack.wait_for_posts("/response/click", 3, timeout=5)
    assert calls[1].body["response_type"] == "in_channel"
    assert calls[2].body == {"delete_original": True}


async def test_a_dropped_connection_is_retried(slack: SlackClient, fake_slack: FakeSlack):
    first = await slack.command("resource feature-store")
    fake_slack.fail_next("/response/click", Trouble(drop=True))
    await slack.click(buttons(first)["more"])
    calls = await fake_slack.wait_for_posts("/response/click", 2, timeout=5)
    assert calls[1].body["replace_original"] is True


async def test_auth_test_429_is_retried_at_start(fake_slack, store, service):
    fake_slack.fail_next("/api/auth.test", Trouble(status=429, retry_after="0"))
    adapter = SlackAdapter(service, slack_settings(fake_slack), store)
    await adapter.start()
    try:
        assert [c.path for c in fake_slack.calls] == ["/api/auth.test", "/api/auth.test"]
    finally:
        await adapter.stop()


async def test_nothing_is_posted_to_the_channel_id_directly(slack: SlackClient, fake_slack: FakeSlack):
    """Everything goes through response_url, which needs no chat:write scope and no channel membership."""
    share = buttons(await slack.command("resource feature-store"))["share"]
    await slack.click(share)
    await fake_slack.wait_for_posts("/response/click", 2)
    assert not fake_slack.posts("/api/chat.")
    assert CHANNEL_ID  # the payloads name it; the bot never needs it
