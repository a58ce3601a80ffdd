"""Every subcommand, autocomplete and the buttons, through discord.py and the fake Discord's gateway."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.render import TOO_LONG_FOR_MORE, render
from bot.service import BotService, Request
from tests.adapters.discord.fake_discord import EPHEMERAL, FakeDiscord


def expected_embeds(service: BotService, text: str, offset: int = 0, *, public: bool = False) -> list[dict[str, Any]]:
    reply = service.answer(Request(text, platform="discord", offset=offset))
    return [e.to_dict() for e in render(reply.public() if public else reply).embeds]


def button_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


@pytest.mark.parametrize(("sub", "options", "text"), [
    ("resource", {"query": "feature-store"}, "resource feature-store"),
    ("resource", {"query": "debt", "kind": "paper"}, "resource kind:paper debt"),
    ("resource", {"query": "mlops", "level": "beginner", "cost": "free"}, "resource level:beginner cost:free mlops"),
    ("list", {}, "list"),
    ("list", {"category": "podcasts"}, "list podcasts"),
    ("compare", {"topic": "feature-stores"}, "compare feature-stores"),
    ("path", {}, "path"),
    ("path", {"level": "beginner"}, "path beginner"),
    ("week", {"number": 3}, "week 3"),
    ("week", {}, "week"),
    ("help", {}, "help"),
])
async def test_each_subcommand_answers_privately_with_the_cores_reply(
        fake: FakeDiscord, bot: DiscordAdapter, service: BotService, sub: str, options: dict[str, Any],
        text: str) -> None:
    payload = await fake.slash(sub, **options)
    body = await fake.response(payload)
    assert body["type"] == 4  # CHANNEL_MESSAGE_WITH_SOURCE, at once
    data = body["data"]
    assert data["flags"] & EPHEMERAL
    assert data["allowed_mentions"] == {"parse": []}
    assert data["embeds"] == expected_embeds(service, text)
    assert not data.get("content")
    rendered = render(service.answer(Request(text, platform="discord")))
    assert button_ids(fake.original(payload)) == [b.custom_id for b in rendered.buttons]


async def test_a_resource_reply_is_embeds_with_linked_titles_meta_and_links(fake: FakeDiscord,
                                                                           bot: DiscordAdapter) -> None:
    payload = await fake.slash("resource", query="feast")
    embeds = (await fake.response(payload))["data"]["embeds"]
    feast = next(e for e in embeds if e["title"] == "Feast")
    assert feast["url"] == "https://docs.feast.dev/"
    assert "cloud-agnostic feature store" in feast["description"]
    assert "*tool · intermediate · free*" in feast["description"]
    assert "[GitHub](https://github.com/feast-dev/feast)" in feast["description"]
    assert embeds[-1]["footer"]["text"].startswith("Showing 1–")


async def test_query_autocomplete_offers_at_most_25_short_choices(fake: FakeDiscord, bot: DiscordAdapter,
                                                                  service: BotService) -> None:
    payload = await fake.autocomplete("resource", "query", query="fea")
    body = await fake.response(payload)
    assert body["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    choices = body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert all(1 <= len(c["name"]) <= 100 and 1 <= len(c["value"]) <= 100 for c in choices)
    assert [c["value"] for c in choices] == [c.value for c in service.search.complete("fea")][:25]
    assert "Feast" in [c["value"] for c in choices]


async def test_autocomplete_with_nothing_typed_and_with_filters_set(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    payload = await fake.autocomplete("resource", "query", query="", kind="paper")
    choices = (await fake.response(payload))["data"]["choices"]
    assert len(choices) <= 25
    payload = await fake.autocomplete("resource", "query", query="x" * 300)
    assert len((await fake.response(payload))["data"]["choices"]) <= 25


async def test_category_and_topic_autocomplete(fake: FakeDiscord, bot: DiscordAdapter, service: BotService) -> None:
    payload = await fake.autocomplete("list", "category", category="pod")
    choices = (await fake.response(payload))["data"]["choices"]
    assert [c["value"] for c in choices] == ["podcasts"]
    payload = await fake.autocomplete("list", "category", category="")
    choices = (await fake.response(payload))["data"]["choices"]
    assert len(choices) == min(25, len(service.catalog.categories))
    payload = await fake.autocomplete("compare", "topic", topic="feat")
    choices = (await fake.response(payload))["data"]["choices"]
    assert "feature-stores" in [c["value"] for c in choices]


async def test_share_posts_the_reply_in_the_channel(fake: FakeDiscord, bot: DiscordAdapter,
                                                    service: BotService) -> None:
    asked = await fake.slash("resource", query="feature-store")
    await fake.response(asked)
    private = fake.original(asked)
    share_id = next(i for i in button_ids(private) if i.startswith("mlops:s:"))

    clicked = await fake.click(private, share_id)
    body = await fake.response(clicked)
    assert body["type"] == 4
    assert not (body["data"].get("flags") or 0) & EPHEMERAL  # for everyone in the channel
    assert body["data"]["embeds"] == private["embeds"]
    assert body["data"]["embeds"] == expected_embeds(service, "resource feature-store", public=True)
    shared = fake.original(clicked)
    assert button_ids(shared) == ["mlops:m:5:r feature-store"]  # sharing again makes no sense; paging does


async def test_more_results_replaces_the_private_reply_with_the_next_page(fake: FakeDiscord, bot: DiscordAdapter,
                                                                         service: BotService) -> None:
    asked = await fake.slash("resource", query="feature-store")
    await fake.response(asked)
    private = fake.original(asked)
    first_page = private["embeds"]

    clicked = await fake.click(private, "mlops:m:5:r feature-store")
    body = await fake.response(clicked)
    assert body["type"] == 7  # UPDATE_MESSAGE: the same message, next page
    assert body["data"]["embeds"] == expected_embeds(service, "resource feature-store", 5)
    assert body["data"]["embeds"] != first_page
    assert private["embeds"] == body["data"]["embeds"]
    assert all(not i.startswith("mlops:m:5:") for i in button_ids(private))
    assert any(i.startswith("mlops:s:5:") for i in button_ids(private))  # share shares this page


async def test_more_under_a_shared_reply_comes_privately(fake: FakeDiscord, bot: DiscordAdapter,
                                                         service: BotService) -> None:
    asked = await fake.slash("resource", query="feature-store")
    await fake.response(asked)
    private = fake.original(asked)
    shared_click = await fake.click(private, "mlops:s:0:r feature-store")
    await fake.response(shared_click)
    shared = fake.original(shared_click)
    clicked = await fake.click(shared, "mlops:m:5:r feature-store")
    body = await fake.response(clicked)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"] == expected_embeds(service, "resource feature-store", 5)
    assert shared["embeds"] == expected_embeds(service, "resource feature-store", public=True)  # left alone


async def test_buttons_keep_working_after_a_restart(fake: FakeDiscord, make_adapter: Callable[..., DiscordAdapter],
                                                    service: BotService) -> None:
    before = make_adapter()
    await before.start()
    asked = await fake.slash("resource", query="feature-store")
    await fake.response(asked)
    await before.stop()
    message = fake.original(asked)

    after = make_adapter()  # a new process would have nothing in memory either
    await after.start()
    try:
        clicked = await fake.click(message, "mlops:m:5:r feature-store")
        body = await fake.response(clicked)
        assert body["data"]["embeds"] == expected_embeds(service, "resource feature-store", 5)
    finally:
        await after.stop()


async def test_slow_work_is_deferred_then_the_reply_edited_in(fake: FakeDiscord,
                                                              make_adapter: Callable[..., DiscordAdapter],
                                                              service: BotService) -> None:
    adapter = make_adapter(defer_after=0)  # treat every answer as slow
    await adapter.start()
    try:
        asked = await fake.slash("resource", query="feature-store")
        body = await fake.response(asked)
        assert body == {"type": 5, "data": {"flags": EPHEMERAL}}  # "thinking…", privately
        edit = await fake.edit(asked)
        assert edit["embeds"] == expected_embeds(service, "resource feature-store")
        message = fake.original(asked)
        assert message["flags"] == EPHEMERAL  # no longer loading

        clicked = await fake.click(message, "mlops:m:5:r feature-store")
        assert (await fake.response(clicked)) == {"type": 6}  # deferred update of the same message
        edit = await fake.edit(clicked)
        assert edit["embeds"] == expected_embeds(service, "resource feature-store", 5)

        shared = await fake.click(message, next(i for i in button_ids(message) if i.startswith("mlops:s:")))
        assert (await fake.response(shared))["type"] == 5
        edit = await fake.edit(shared)
        assert not fake.original(shared)["flags"] & EPHEMERAL
    finally:
        await adapter.stop()


async def test_a_share_that_fails_after_deferring_is_told_to_the_asker_alone(
        fake: FakeDiscord, make_adapter: Callable[..., DiscordAdapter]) -> None:
    adapter = make_adapter(defer_after=0)  # every answer deferred: the channel sees "thinking…" first
    await adapter.start()
    try:
        asked = await fake.slash("resource", query="feature-store")
        await fake.response(asked)
        await fake.edit(asked)
        # A Share button from before the catalog lost a category: re-running its command now fails.
        stale = "mlops:s:0:r category:gone-category feast"
        message = {**fake.original(asked), "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Share", "custom_id": stale}]}]}
        clicked = await fake.click(message, stale)
        assert (await fake.response(clicked)) == {"type": 5}  # thinking, in the channel
        followup = await fake.wait_until(lambda: next((b for i, b in fake.followups if i == clicked["id"]), None))
        assert followup["flags"] & EPHEMERAL
        assert "gone-category" in followup["embeds"][0]["description"]
        assert clicked["id"] in fake.deletes  # the public placeholder is gone
        assert not [body for i, body in fake.edits if i == clicked["id"]]  # nothing was posted publicly
    finally:
        await adapter.stop()


async def test_a_query_too_long_for_a_custom_id_degrades_gracefully(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    query = " ".join(["feature"] * 24)  # 191 characters: no custom_id can hold it
    asked = await fake.slash("resource", query=query)
    body = await fake.response(asked)
    message = fake.original(asked)
    assert button_ids(message) == ["mlops:s"]  # Share copies the message itself; no More
    assert TOO_LONG_FOR_MORE in body["data"]["embeds"][-1]["footer"]["text"]

    clicked = await fake.click(message, "mlops:s")
    shared = await fake.response(clicked)
    assert shared["type"] == 4 and not (shared["data"].get("flags") or 0) & EPHEMERAL
    assert [e["title"] for e in shared["data"]["embeds"]] == [e["title"] for e in message["embeds"]]


async def test_hostile_text_never_pings_or_formats(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    asked = await fake.slash("resource", query="@everyone <@123> **x** [y](https://evil.example)")
    body = await fake.response(asked)
    assert body["data"]["allowed_mentions"] == {"parse": []}
    header = body["data"]["embeds"][0]
    text = header["title"] + (header.get("description") or "")
    assert "<@123>" in text.replace("\\", "")  # shown as typed…
    for active in (r"<@", r"\*\*", r"\[y\]\("):  # …but not as a mention, bold or a masked link
        assert not re.search(r"(?<!\\)" + active, text), active
