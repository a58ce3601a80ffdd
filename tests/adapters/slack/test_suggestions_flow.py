"""A suggestion from end to end on Slack, through slack-bolt and slack_sdk against the fake Slack, with the real
suggestion service (bot/app/suggestions.py) on SQLite, wired as `mlops-bot run` wires it: `/mlops suggest`
opens the form, its submission makes the review post, a moderator's Approve opens the approve form, whose
submission updates the post (no buttons, who decided) and DMs the member; then `mlops-bot search`, another
process on the same database, finds the resource."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.adapters.slack import SlackAdapter
from bot.app.wiring import App, build_app
from bot.core.catalog import Catalog
from bot.core.context import Community
from bot.core.permissions import Moderators
from bot.service import BotService
from bot.storage import Store
from tests.adapters.slack.conftest import CHANNEL_ID, SlackClient, slack_settings
from tests.adapters.slack.fake_slack import FakeSlack
from tests.conftest import BIN, clean_env

URL = "https://example.com/guides/zebra-pipelines"
TITLE = "Zebra pipelines handbook"
ADA = "U0ADA"  # suggests
GRACE = "U0GRACE"  # a moderator (SLACK_MODERATORS)
REVIEWS = "G0REVIEWS"  # the private review channel, the bot invited
ALL_SCOPES = ["commands", "chat:write", "chat:write.public", "im:write", "channels:read", "groups:read",
              "channels:history", "groups:history"]


@pytest.fixture
def service(catalog: Catalog) -> BotService:
    return BotService(catalog, community=Community(moderators=Moderators(slack_users=frozenset({GRACE}))))


@pytest.fixture
async def adapter(fake_slack: FakeSlack, store: Store, service: BotService) -> AsyncIterator[SlackAdapter]:
    fake_slack.scopes[:] = ALL_SCOPES
    fake_slack.channel(REVIEWS)
    settings = slack_settings(fake_slack).model_copy(update={"slack_review_channel": REVIEWS,
                                                             "slack_moderators": frozenset({GRACE})})
    adapter = SlackAdapter(service, settings, store)
    await adapter.start()
    yield adapter
    await adapter.stop()


@pytest.fixture
def app(adapter: SlackAdapter, service: BotService, store: Store) -> App:
    # As `mlops-bot run` wires it: SLACK_REVIEW_CHANNEL for the app, the started adapter's poster for Slack.
    app = build_app(service, store, review_channels={"slack": REVIEWS})
    assert adapter.poster is not None
    app.posters.add(adapter.poster)
    return app


async def settle(app: App) -> None:
    assert app.suggestions is not None
    await app.suggestions.drain(5)  # the review post, its update and the DM are background work


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def ephemerals_to(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [c.body for c in fake.posts("/api/chat.postEphemeral") if c.body.get("user") == user]


async def suggest(slack: SlackClient, fake: FakeSlack, app: App) -> dict[str, Any]:
    """Ada suggests through the form; the review post it makes."""
    response = await slack.post(slack.command_body("suggest", user_id=ADA, user_name="ada"))
    assert response.status == 200 and await response.text() == ""
    (opened,) = fake.views_opened
    assert json.loads(opened["view"]["private_metadata"]) == {"k": "suggest", "r": "", "c": CHANNEL_ID}
    closed = await slack.view_submission({"url": {"url": URL}, "title": {"title": TITLE},
                                          "why": {"why": "Clear, and short"}}, user_id=ADA, user_name="ada")
    assert closed is None
    await settle(app)
    (received,) = ephemerals_to(fake, ADA)
    assert received["channel"] == CHANNEL_ID and "Suggestion #1 received" in json.dumps(received["blocks"])
    (post,) = fake.messages(REVIEWS)
    return post


async def test_a_suggestion_goes_from_the_form_to_the_review_channel_to_the_catalog(
        slack: SlackClient, fake_slack: FakeSlack, app: App, catalog: Catalog, store: Store):
    post = await suggest(slack, fake_slack, app)
    assert TITLE in post["text"]
    assert action_ids(post) == ["mlops_approve_0", "mlops_reject_1", "mlops_edit_2"]
    assert post["metadata"]["event_payload"]["key"] == "review:1:slack"

    await slack.click_on(REVIEWS, post["ts"], "mlops_approve_0", user_id=GRACE, user_name="grace")
    (_, opened) = fake_slack.views_opened
    assert json.loads(opened["view"]["private_metadata"]) == {"k": "approve", "r": "1", "c": REVIEWS}
    inputs = {b["block_id"] for b in opened["view"]["blocks"] if b["type"] == "input"}
    assert {"kind", "category"} <= inputs
    category = catalog.categories[0].id
    closed = await slack.view_submission({"kind": {"kind": "article"}, "category": {"category": category},
                                          "title": {"title": TITLE}}, user_id=GRACE, user_name="grace")
    assert closed is None
    await settle(app)

    (told,) = ephemerals_to(fake_slack, GRACE)
    assert told["channel"] == REVIEWS and "Suggestion #1 approved" in json.dumps(told["blocks"])
    (update,) = fake_slack.posts("/api/chat.update")
    assert update.body["channel"] == REVIEWS and update.body["ts"] == post["ts"]
    (decided,) = fake_slack.messages(REVIEWS)
    assert action_ids(decided) == []  # no more buttons on a decided post
    assert f"Approved by slack:{GRACE} (grace)" in json.dumps(decided["blocks"])
    (dm,) = fake_slack.dms_to(ADA)
    assert "Your suggestion #1 was approved" in dm["text"]

    done = await asyncio.to_thread(
        subprocess.run, [BIN / "mlops-bot", "search", "zebra pipelines", "--format", "json"], capture_output=True,
        text=True, timeout=60, env=clean_env(DATABASE_URL=str(store.engine.url)))
    assert done.returncode == 0, done.stderr
    assert TITLE in [r["title"] for r in json.loads(done.stdout)]


async def test_a_members_click_on_approve_is_refused_and_changes_nothing(
        slack: SlackClient, fake_slack: FakeSlack, app: App):
    post = await suggest(slack, fake_slack, app)
    await slack.click_on(REVIEWS, post["ts"], "mlops_approve_0", user_id=ADA, user_name="ada")
    (answer,) = await fake_slack.wait_for_posts("/response/click", 1)
    assert answer.body["response_type"] == "ephemeral" and answer.body["replace_original"] is False
    assert "Moderators only" in json.dumps(answer.body)
    await settle(app)
    assert len(fake_slack.views_opened) == 1  # only Ada's suggest form
    assert fake_slack.posts("/api/chat.update") == [] and fake_slack.dms_to(ADA) == []
    (still,) = fake_slack.messages(REVIEWS)
    assert action_ids(still) == action_ids(post)
    assert app.suggestions is not None and app.suggestions.repo.get(1)["state"] == "pending"


async def test_a_reject_asks_for_a_reason_and_keeps_the_modal_open_without_one(
        slack: SlackClient, fake_slack: FakeSlack, app: App):
    post = await suggest(slack, fake_slack, app)
    await slack.click_on(REVIEWS, post["ts"], "mlops_reject_1", user_id=GRACE, user_name="grace")
    (_, opened) = fake_slack.views_opened
    assert json.loads(opened["view"]["private_metadata"])["k"] == "reject"
    answer = await slack.view_submission({"reason": {"reason": "   "}}, user_id=GRACE, user_name="grace")
    assert answer is not None and answer["response_action"] == "errors" and "reason" in answer["errors"]
    await settle(app)
    assert app.suggestions is not None and app.suggestions.repo.get(1)["state"] == "pending"
    answer = await slack.view_submission({"reason": {"reason": "Paywalled"}}, user_id=GRACE, user_name="grace")
    assert answer is None
    await settle(app)
    assert app.suggestions.repo.get(1)["state"] == "rejected"
    (dm,) = fake_slack.dms_to(ADA)
    assert "Paywalled" in json.dumps(dm["blocks"])
