"""A slash command whose answer is a Form opens it as a modal with the command's trigger_id, and acks empty.

The real bot behind its aiohttp server, signed requests as Slack sends them, and what the fake Slack recorded.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl

import pytest

from bot.adapters.slack.modal import CALLBACK_ID
from bot.catalog_file import catalog_path
from bot.core.forms import Form, FormField
from bot.service import BotService, Request
from tests.adapters.slack.conftest import CHANNEL_ID, SlackClient
from tests.adapters.slack.fake_slack import FakeSlack


@pytest.fixture
def service() -> BotService:
    return BotService.from_file(catalog_path())  # this module's own: tests wrap its handle


def trigger_of(body: bytes) -> str:
    return dict(parse_qsl(body.decode()))["trigger_id"]


async def test_suggest_without_text_opens_the_form_as_a_modal_and_acks_with_nothing(
        slack: SlackClient, fake_slack: FakeSlack):
    body = slack.command_body("suggest")
    response = await slack.post(body)
    assert response.status == 200
    assert await response.text() == ""  # no ephemeral message: the modal is the answer
    (opened,) = fake_slack.views_opened
    assert opened["trigger_id"] == trigger_of(body)
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == CALLBACK_ID
    assert view["title"]["text"] == "Suggest a resource" and view["submit"]["text"] == "Suggest"
    assert json.loads(view["private_metadata"]) == {"k": "suggest", "r": "", "c": CHANNEL_ID}
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["url", "title", "why"]
    assert inputs["url"]["optional"] is False and inputs["title"]["optional"] is True
    assert inputs["why"]["element"]["multiline"] is True
    assert all(b["element"]["action_id"] == b["block_id"] for b in inputs.values())
    assert [c.path for c in fake_slack.calls] == ["/api/auth.test", "/api/views.open"]


async def test_a_form_whose_trigger_expired_says_so_in_the_ack(slack: SlackClient, fake_slack: FakeSlack):
    body = slack.command_body("suggest")
    for trigger in list(fake_slack.triggers):
        fake_slack.expire_trigger(trigger)
    response = await slack.post(body)
    message = await response.json()
    assert message["response_type"] == "ephemeral"
    assert "took too long" in json.dumps(message)
    assert fake_slack.views_opened == []


@pytest.mark.parametrize("ack_budget", [0.1])
async def test_a_form_ready_after_the_ack_budget_still_opens_while_the_trigger_lives(
        slack: SlackClient, fake_slack: FakeSlack, service: BotService):
    """The placeholder goes in the ack; once the modal is open, the placeholder is deleted."""
    form = Form("test", "Slow form", (FormField("x", "X"),))

    async def slow(request: Request) -> Form:
        await asyncio.sleep(0.4)
        return form

    service.handle = slow  # type: ignore[method-assign]
    message = await slack.command("anything")
    assert "Working on it" in json.dumps(message)
    (late,) = await fake_slack.wait_for_posts("/response/cmd", 1)
    assert late.body == {"delete_original": True}
    (opened,) = fake_slack.views_opened
    assert opened["view"]["title"]["text"] == "Slow form"


async def test_a_reply_still_comes_in_the_ack_and_opens_nothing(slack: SlackClient, fake_slack: FakeSlack):
    message = await slack.command("resource feature-store")
    assert message["response_type"] == "ephemeral" and message["blocks"]
    assert fake_slack.views_opened == []
