"""A suggestion from end to end on Discord, through discord.py and the fake Discord's gateway, with the real
suggestion service (bot/app/suggestions.py) on SQLite: the form, the review post, a moderator's decision,
the post updated, the member told by DM, and the resource found by a search."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app.wiring import App, build_app
from bot.core.catalog import Catalog
from bot.core.context import Community
from bot.core.permissions import Moderators
from bot.service import BotService
from bot.storage import Store
from tests.adapters.discord.conftest import give_bot_a_member
from tests.adapters.discord.fake_discord import EPHEMERAL, FakeDiscord, Member, modal_inputs

Start = Callable[..., Awaitable[DiscordAdapter]]
URL = "https://example.com/guides/zebra-pipelines"
TITLE = "Zebra pipelines handbook"
ADA = Member(900_000_000_000_000_555, "ada")  # suggests


@dataclass
class Setup:
    app: App
    adapter: DiscordAdapter
    review: str
    grace: Member  # a moderator, by role


@pytest.fixture
async def setup(fake: FakeDiscord, start_adapter: Start, catalog: Catalog, store: Store) -> Setup:
    moderators = fake.add_role("Moderators")
    review = fake.add_channel(name="review")["id"]
    give_bot_a_member(fake)
    community = Community(moderators=Moderators(discord_roles=frozenset({moderators})))
    service = BotService(catalog, community=community)
    # As the runner wires it: DISCORD_REVIEW_CHANNEL for the app, the started adapter's poster for Discord.
    app = build_app(service, store, review_channels={"discord": review})
    adapter = await start_adapter(service_=service)
    assert adapter.poster is not None
    app.posters.add(adapter.poster)
    return Setup(app, adapter, review, Member(900_000_000_000_000_777, "grace", roles=[moderators]))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {c["label"]: c["custom_id"] for row in message["components"] for c in row["components"]}


async def settle(app: App) -> None:
    assert app.suggestions is not None
    await app.suggestions.drain(5)  # the review post, its update and the DM are background work


async def suggest(fake: FakeDiscord, setup: Setup) -> dict[str, Any]:
    """Ada suggests through the form; the review post it makes."""
    opened = await fake.response(await fake.slash("suggest", member=ADA))
    assert opened["type"] == 9 and opened["data"]["custom_id"] == "mlops:f:suggest:"
    submitted = await fake.modal_submit("mlops:f:suggest:", {"url": URL, "title": TITLE, "why": "Clear, and short"},
                                        member=ADA)
    body = await fake.response(submitted)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["title"] == "Suggestion #1 received"
    await settle(setup.app)
    [post] = fake.channel_messages(setup.review)
    return post


async def approve(fake: FakeDiscord, setup: Setup, post: dict[str, Any], category: str) -> dict[str, Any]:
    clicked = await fake.click(post, buttons(post)["Approve"], member=setup.grace)
    opened = await fake.response(clicked)
    assert opened["type"] == 9 and opened["data"]["custom_id"] == "mlops:f:approve:1"
    fields = {i["custom_id"] for i in modal_inputs(opened["data"])}
    assert {"kind", "category"} <= fields
    decided = await fake.modal_submit("mlops:f:approve:1", {"kind": "article", "category": category},
                                      member=setup.grace)
    body = await fake.response(decided)
    await settle(setup.app)
    return body


async def test_a_suggestion_goes_from_the_form_to_the_review_channel_to_the_catalog(
        fake: FakeDiscord, setup: Setup, catalog: Catalog) -> None:
    post = await suggest(fake, setup)
    assert TITLE in post["embeds"][0]["title"]
    assert buttons(post) == {"Approve": "mlops:a:1", "Reject": "mlops:r:1", "Edit": "mlops:e:1"}

    category = catalog.categories[0].id
    body = await approve(fake, setup, post, category)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["title"] == "Suggestion #1 approved"

    [decided] = fake.channel_messages(setup.review)
    assert decided["components"] == []  # no more buttons on a decided post
    assert f"Approved by discord:{setup.grace.user_id} (Grace)" in decided["embeds"][0]["description"]
    [dm] = fake.dms_to(ADA.user_id)
    assert dm["embeds"][0]["title"] == "Your suggestion #1 was approved"

    found = await fake.response(await fake.slash("resource", query="zebra pipelines"))
    assert TITLE in [e["title"] for e in found["data"]["embeds"]]


async def test_a_members_click_on_approve_is_refused_and_changes_nothing(fake: FakeDiscord, setup: Setup) -> None:
    post = await suggest(fake, setup)
    modals = len(fake.modals)
    body = await fake.response(await fake.click(post, buttons(post)["Approve"], member=ADA))
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["title"] == "Moderators only"
    assert str(ADA.user_id) in body["data"]["embeds"][0]["description"]  # what an operator would add
    await settle(setup.app)
    assert len(fake.modals) == modals
    assert fake.channel_messages(setup.review) == [post] and post["components"]
    assert fake.message_edits == [] and fake.dms_to(ADA.user_id) == []
    assert setup.app.suggestions is not None and setup.app.suggestions.repo.get(1)["state"] == "pending"


async def test_a_member_who_accepts_no_dms_costs_a_log_line_and_nothing_else(
        fake: FakeDiscord, setup: Setup, catalog: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    fake.refuse_dms(ADA.user_id)
    post = await suggest(fake, setup)
    with caplog.at_level(logging.INFO):
        body = await approve(fake, setup, post, catalog.categories[0].id)
    assert body["data"]["embeds"][0]["title"] == "Suggestion #1 approved"  # the moderator is not bothered
    told = [r for r in caplog.records if "could not tell the member of #1" in r.getMessage()]
    assert len(told) == 1 and "dm_closed" in told[0].getMessage()
    assert fake.dms_to(ADA.user_id) == []
    [decided] = fake.channel_messages(setup.review)
    assert decided["components"] == []  # the rest of the decision went through
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert setup.app.suggestions is not None
    assert setup.app.suggestions.repo.get(1)["notified_at"] is not None  # not retried for ever
