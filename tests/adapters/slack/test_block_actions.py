"""block_actions on buttons that carry a reference (Approve #7, Submit anyway): the click reaches service.click
with the clicker as the actor; a Form opens as a modal with the click's trigger_id, a Reply goes privately to
the clicker through response_url. A tampered value reaches nothing.

The buttons are on a message the bot posted (through its SlackPoster) and are clicked as Slack sends it;
a small click handler registered on a real BotService stands in for the app layer.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.adapters.slack import SlackAdapter
from bot.catalog_file import catalog_path
from bot.core.forms import Form, FormField
from bot.core.reply import Button, ButtonAction, Reply
from bot.service import BotService, Request
from tests.adapters.slack.conftest import CHANNEL_ID, SlackClient
from tests.adapters.slack.fake_slack import FakeSlack

MODERATOR = "U0MODERATOR"


@pytest.fixture
def clicks() -> list[tuple[ButtonAction, str, Request]]:
    return []


@pytest.fixture
def delay() -> float:
    return 0.0


@pytest.fixture
def service(clicks: list[tuple[ButtonAction, str, Request]], delay: float, fake_slack: FakeSlack) -> BotService:
    service = BotService.from_file(catalog_path())

    def handler(action: ButtonAction):
        async def click(ref: str, request: Request) -> Reply | Form:
            clicks.append((action, ref, request))
            if delay:
                await asyncio.sleep(delay)
            if ref == "expire":  # as if the work took longer than a trigger_id lives
                for trigger in list(fake_slack.triggers):
                    fake_slack.expire_trigger(trigger)
            if request.user_id != MODERATOR:  # the service checks again, whatever the button says
                return Reply(header="Only moderators can do that", is_error=True)
            if action is ButtonAction.APPROVE:
                return Form("approve", f"Approve #{ref}", (FormField("kind", "Kind", "tool"),), ref=ref,
                            submit="Approve")
            return Reply(header=f"Suggestion #{ref} rejected")
        return click

    for action in (ButtonAction.APPROVE, ButtonAction.REJECT):
        service.register_click(action, handler(action))
    return service


async def review_post(adapter: SlackAdapter, ref: str = "7") -> str:
    assert adapter.poster is not None
    return await adapter.poster.post(CHANNEL_ID, Reply(header=f"Suggestion #{ref}", buttons=(
        Button("Approve", ButtonAction.APPROVE, ref=ref), Button("Reject", ButtonAction.REJECT, ref=ref))))


async def test_approve_reaches_service_click_with_the_clicker_and_opens_its_form_with_the_clicks_trigger(
        adapter: SlackAdapter, slack: SlackClient, fake_slack: FakeSlack,
        clicks: list[tuple[ButtonAction, str, Request]]):
    ts = await review_post(adapter)
    trigger_before = set(fake_slack.triggers)
    await slack.click_on(CHANNEL_ID, ts, "mlops_approve_0", user_id=MODERATOR, user_name="grace")
    ((action, ref, request),) = clicks
    assert (action, ref) == (ButtonAction.APPROVE, "7")
    assert (request.platform, request.user_id, request.user_name, request.channel_id) == \
           ("slack", MODERATOR, "grace", CHANNEL_ID)
    (opened,) = fake_slack.views_opened
    (click_trigger,) = set(fake_slack.triggers) - trigger_before
    assert opened["trigger_id"] == click_trigger
    assert json.loads(opened["view"]["private_metadata"]) == {"k": "approve", "r": "7", "c": CHANNEL_ID}
    assert opened["view"]["title"]["text"] == "Approve #7"
    await asyncio.sleep(0.1)
    assert fake_slack.posts("/response") == []


async def test_a_reply_to_a_click_goes_privately_to_the_clicker(
        adapter: SlackAdapter, slack: SlackClient, fake_slack: FakeSlack):
    ts = await review_post(adapter)
    await slack.click_on(CHANNEL_ID, ts, "mlops_reject_1", user_id=MODERATOR)
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert call.body["response_type"] == "ephemeral" and call.body["replace_original"] is False
    assert "Suggestion #7 rejected" in json.dumps(call.body)
    assert fake_slack.views_opened == []


async def test_a_members_click_on_approve_is_refused_by_the_service_and_opens_nothing(
        adapter: SlackAdapter, slack: SlackClient, fake_slack: FakeSlack,
        clicks: list[tuple[ButtonAction, str, Request]]):
    ts = await review_post(adapter)
    await slack.click_on(CHANNEL_ID, ts, "mlops_approve_0", user_id="U0SOMEONE")
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert "Only moderators" in json.dumps(call.body) and call.body["response_type"] == "ephemeral"
    assert fake_slack.views_opened == []
    assert clicks[0][2].user_id == "U0SOMEONE"


@pytest.mark.parametrize("value", ['{"r": "8", "c": "approve 8"}', '{"c": "approve 8", "o": 0}', '{"r": 8}',
                                   "8", ""])
async def test_a_tampered_value_reaches_nothing(adapter: SlackAdapter, slack: SlackClient, fake_slack: FakeSlack,
                                                clicks: list[tuple[ButtonAction, str, Request]], value: str):
    ts = await review_post(adapter)
    await slack.click_on(CHANNEL_ID, ts, "mlops_approve_0", user_id=MODERATOR, value=value)
    await asyncio.sleep(0.1)
    assert clicks == [] and fake_slack.views_opened == [] and fake_slack.posts("/response") == []


async def test_share_and_more_still_decode_beside_reference_buttons(slack: SlackClient, fake_slack: FakeSlack):
    message = await slack.command("resource feature-store")
    more = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"].startswith("mlops_more"))
    await slack.click(more)
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert "Showing 6–" in json.dumps(call.body, ensure_ascii=False)


@pytest.mark.parametrize("ack_budget, delay", [(0.1, 0.3)])
async def test_a_slow_click_is_acked_and_its_form_opens_while_the_trigger_lives(
        adapter: SlackAdapter, slack: SlackClient, fake_slack: FakeSlack):
    ts = await review_post(adapter)
    await slack.click_on(CHANNEL_ID, ts, "mlops_approve_0", user_id=MODERATOR)
    for _ in range(100):
        if fake_slack.views_opened:
            break
        await asyncio.sleep(0.02)
    (opened,) = fake_slack.views_opened
    assert opened["view"]["title"]["text"] == "Approve #7"


@pytest.mark.parametrize("ack_budget, delay", [(0.1, 0.3)])
async def test_a_click_whose_trigger_expired_meanwhile_says_to_click_again(
        adapter: SlackAdapter, slack: SlackClient, fake_slack: FakeSlack):
    ts = await review_post(adapter, ref="expire")
    await slack.click_on(CHANNEL_ID, ts, "mlops_approve_0", user_id=MODERATOR)
    (call,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert "took too long" in json.dumps(call.body) and call.body["response_type"] == "ephemeral"
    assert fake_slack.views_opened == []
