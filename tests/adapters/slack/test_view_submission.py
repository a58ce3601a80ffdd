"""view_submission (callback_id mlops_form): the submitted modal reaches service.submit as a FormSubmission;
mistakes keep the modal open with the member's text, a Reply closes it and reaches the member privately.

A small form handler registered on a real BotService stands in for the app layer; the modal is the one the
bot opened for `/mlops suggest`, submitted as Slack's client would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.catalog_file import catalog_path
from bot.core.forms import Form, FormErrors, FormField, FormSubmission
from bot.core.reply import Reply
from bot.service import BotService, Request
from tests.adapters.slack.conftest import CHANNEL_ID, USER_ID, SlackClient
from tests.adapters.slack.fake_slack import FakeSlack

URL = "https://example.com/mlops-guide"


@pytest.fixture
def seen() -> list[tuple[FormSubmission, Request]]:
    return []


@pytest.fixture
def delay() -> float:
    return 0.0


@pytest.fixture
def service(seen: list[tuple[FormSubmission, Request]], delay: float) -> BotService:
    service = BotService.from_file(catalog_path())

    async def suggest(submission: FormSubmission, request: Request) -> Reply | FormErrors:
        seen.append((submission, request))
        if delay:
            await asyncio.sleep(delay)
        if not submission.get("url").startswith("https://"):
            form = Form("suggest", "Suggest a resource", (FormField("url", "Link"), FormField("why", "Why")))
            return FormErrors(form.with_values(submission.values), {"url": "That is not a link: start with https://"})
        return Reply(header="Suggestion #1 received", text=f"Thanks, {request.user_name}! <@here> & co")

    service.register_form("suggest", suggest)
    return service


async def open_suggest_form(slack: SlackClient) -> None:
    response = await slack.post(slack.command_body("suggest"))
    assert response.status == 200 and await response.text() == ""


def ephemerals(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c.body for c in fake.posts("/api/chat.postEphemeral")]


async def test_a_submission_with_mistakes_keeps_the_modal_open_with_a_message_under_the_field(
        slack: SlackClient, fake_slack: FakeSlack, seen: list[tuple[FormSubmission, Request]]):
    await open_suggest_form(slack)
    answer = await slack.view_submission({"url": {"url": "example.com"}, "why": {"why": "it is good"}})
    assert answer == {"response_action": "errors", "errors": {"url": "That is not a link: start with https://"}}
    ((submission, request),) = seen
    assert submission == FormSubmission("suggest", "", {"url": "example.com", "title": "", "why": "it is good"})
    assert (request.platform, request.user_id, request.user_name, request.channel_id) == \
           ("slack", USER_ID, "ada", CHANNEL_ID)
    await asyncio.sleep(0.1)
    assert ephemerals(fake_slack) == [] and fake_slack.posts("/api/chat.postMessage") == []


async def test_a_good_submission_closes_the_modal_and_answers_privately_where_it_was_asked(
        slack: SlackClient, fake_slack: FakeSlack):
    await open_suggest_form(slack)
    answer = await slack.view_submission({"url": {"url": URL}})
    assert answer is None  # an empty 200: Slack closes the modal
    (sent,) = [c.body for c in await fake_slack.wait_for_posts("/api/chat.postEphemeral", 1)]
    assert sent["channel"] == CHANNEL_ID and sent["user"] == USER_ID
    blocks = sent["blocks"] if isinstance(sent["blocks"], list) else json.loads(sent["blocks"])
    assert blocks[0]["text"]["text"] == "Suggestion #1 received"
    assert blocks[1]["text"]["text"] == "Thanks, ada! &lt;@\u2060here&gt; &amp; co"  # escaped, nothing pings
    assert "link_names" not in sent


async def test_when_the_ephemeral_cannot_reach_the_member_the_answer_is_a_dm(
        slack: SlackClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch):
    await open_suggest_form(slack)
    # The fake takes every ephemeral; Slack refuses one in a channel the bot is not in.
    monkeypatch.setattr(fake_slack, "_post_ephemeral", lambda args: {"ok": False, "error": "not_in_channel"})
    assert await slack.view_submission({"url": {"url": URL}}) is None
    await fake_slack.wait_for_posts("/api/chat.postMessage", 1)
    (dm,) = fake_slack.dms_to(USER_ID)
    assert "Suggestion #1 received" in json.dumps(dm["blocks"])
    assert [c.path for c in fake_slack.calls][-2:] == ["/api/conversations.open", "/api/chat.postMessage"]


@pytest.mark.parametrize("ack_budget, delay", [(0.1, 0.4)])
async def test_a_slow_submission_shows_progress_then_answers_privately(slack: SlackClient, fake_slack: FakeSlack):
    await open_suggest_form(slack)
    answer = await slack.view_submission({"url": {"url": URL}})
    assert answer is not None and answer["response_action"] == "update"
    assert "Working on it" in json.dumps(answer["view"]) and "submit" not in answer["view"]
    await fake_slack.wait_for_posts("/api/chat.postEphemeral", 1)
    (update,) = await fake_slack.wait_for_posts("/api/views.update", 1)
    assert update.body["view_id"] == next(iter(fake_slack.views))
    assert "Done" in json.dumps(update.body["view"])


@pytest.mark.parametrize("ack_budget, delay", [(0.1, 0.4)])
async def test_slow_mistakes_give_the_form_back_with_the_members_text(slack: SlackClient, fake_slack: FakeSlack):
    await open_suggest_form(slack)
    answer = await slack.view_submission({"url": {"url": "not a link"}, "why": {"why": "my long reason"}})
    assert answer is not None and answer["response_action"] == "update"
    (update,) = await fake_slack.wait_for_posts("/api/views.update", 1)
    view = update.body["view"]
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["url"]["element"]["initial_value"] == "not a link"
    assert inputs["why"]["element"]["initial_value"] == "my long reason"
    assert "start with https://" in inputs["url"]["hint"]["text"]
    assert ephemerals(fake_slack) == []


async def test_a_modal_with_unreadable_metadata_asks_to_start_again(
        slack: SlackClient, fake_slack: FakeSlack, seen: list[tuple[FormSubmission, Request]]):
    await open_suggest_form(slack)
    view = {**list(fake_slack.views.values())[-1], "private_metadata": "v1:suggest"}
    answer = await slack.view_submission({"url": {"url": URL}}, view=view)
    assert answer is not None and answer["response_action"] == "update"
    assert "out of date" in json.dumps(answer["view"])
    assert seen == []


async def test_a_form_the_service_no_longer_knows_is_answered_not_dropped(
        slack: SlackClient, fake_slack: FakeSlack):
    await open_suggest_form(slack)
    view = list(fake_slack.views.values())[-1]
    view = {**view, "private_metadata": json.dumps({"k": "gone", "r": "", "c": CHANNEL_ID})}
    assert await slack.view_submission({"url": {"url": URL}}, view=view) is None
    (sent,) = [c.body for c in await fake_slack.wait_for_posts("/api/chat.postEphemeral", 1)]
    assert "not one I know" in json.dumps(sent)
