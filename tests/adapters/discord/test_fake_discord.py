"""The fake Discord itself, driven with an unmodified discord.py Client: it must answer as Discord does."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import ui

from tests.adapters.discord.fake_discord import (
    EMBED_LINKS,
    NONCE_WINDOW,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeDiscord,
    Member,
)

MODERATOR = Member(900_000_000_000_000_077, "grace")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Suggest(ui.Modal, title="Suggest a resource"):
    """The shape of modal the suggestion feature shows: short and long text inputs."""

    url: ui.TextInput[Suggest] = ui.TextInput(label="Link", custom_id="url", max_length=300)
    why: ui.TextInput[Suggest] = ui.TextInput(label="Why", custom_id="why", style=discord.TextStyle.paragraph,
                                              required=False, max_length=1000)

    def __init__(self) -> None:
        super().__init__(custom_id="suggest")
        self.submitted: asyncio.Future[discord.Interaction] = asyncio.get_running_loop().create_future()

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Thanks for {self.url.value}", ephemeral=True)
        self.submitted.set_result(interaction)


def on_next_interaction(client: discord.Client) -> asyncio.Future[discord.Interaction]:
    """The next interaction discord.py parses, via the wait_for machinery."""
    return asyncio.ensure_future(client.wait_for("interaction", timeout=5))


async def slash_interaction(fake: FakeDiscord, client: discord.Client, **who: Any) -> tuple[
        dict[str, Any], discord.Interaction]:
    waiting = on_next_interaction(client)
    payload = fake.new_interaction(2, {"id": fake.snowflake(), "name": "suggest", "type": 1}, **who)
    await fake.dispatch("INTERACTION_CREATE", payload)
    return payload, await waiting


# -- channel messages ------------------------------------------------------------------------------------

async def test_fetch_channel_gives_a_guild_text_channel(fake: FakeDiscord, plain_client: discord.Client):
    review = fake.add_channel(name="review")
    channel = await plain_client.fetch_channel(int(review["id"]))
    assert isinstance(channel, discord.TextChannel)
    assert (channel.name, channel.guild.id) == ("review", fake.guild_id)


async def test_the_same_nonce_with_enforce_nonce_sends_one_message(fake: FakeDiscord, plain_client: discord.Client):
    channel = await plain_client.fetch_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("Weekly digest", nonce="digest-2026-W49")
    again = await channel.send("Weekly digest", nonce="digest-2026-W49")  # discord.py always enforces
    assert again.id == first.id
    other = await channel.send("Another", nonce="digest-2026-W50")
    assert [m["id"] for m in fake.channel_messages(fake.channel_id)] == [str(first.id), str(other.id)]
    posted = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert posted[0].body["enforce_nonce"] is True and posted[0].body["nonce"] == "digest-2026-W49"


async def test_a_nonce_is_forgotten_after_a_few_minutes(fake: FakeDiscord, plain_client: discord.Client):
    clock = fake.clock = ManualClock()
    channel = plain_client.get_partial_messageable(fake.channel_id)
    first = await channel.send("digest", nonce="n1")
    clock.now += NONCE_WINDOW + 1
    assert (await channel.send("digest", nonce="n1")).id != first.id
    assert len(fake.channel_messages(fake.channel_id)) == 2


async def test_embeds_and_buttons_are_stored_and_limits_are_problems(fake: FakeDiscord,
                                                                    plain_client: discord.Client):
    channel = plain_client.get_partial_messageable(fake.channel_id)
    view = ui.View()
    view.add_item(ui.Button(label="Approve", custom_id="review:approve:7"))
    await channel.send(embed=discord.Embed(title="New suggestion", description="Feast"), view=view)
    stored = fake.channel_messages(fake.channel_id)[0]
    assert stored["embeds"][0]["title"] == "New suggestion"
    assert stored["components"][0]["components"][0]["custom_id"] == "review:approve:7"
    assert fake.problems == []
    await channel.send(embed=discord.Embed(title="x" * 257), allowed_mentions=discord.AllowedMentions(users=True))
    assert len(fake.problems) == 2  # a title over 256, and mentions that could ping
    fake.problems.clear()  # the fixture fails a test that leaves one


async def test_an_empty_message_is_refused(fake: FakeDiscord, plain_client: discord.Client):
    with pytest.raises(discord.HTTPException) as caught:
        await fake_send_raw(fake, plain_client, {"content": ""})
    assert caught.value.code == 50006


async def fake_send_raw(fake: FakeDiscord, client: discord.Client, payload: dict[str, Any]) -> Any:
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=fake.channel_id)
    return await client.http.request(route, json=payload)


@pytest.mark.parametrize(("error", "exception", "code"), [
    ("missing_access", discord.Forbidden, 50001),
    ("missing_permissions", discord.Forbidden, 50013),
    ("unknown_channel", discord.NotFound, 10003),
])
async def test_a_scripted_channel_error_raises_what_discord_py_raises(
        fake: FakeDiscord, plain_client: discord.Client, error: str, exception: type[discord.HTTPException],
        code: int):
    fake.fail_channel(fake.channel_id, error)
    with pytest.raises(exception) as caught:
        await plain_client.get_partial_messageable(fake.channel_id).send("digest")
    assert caught.value.code == code
    assert fake.channel_messages(fake.channel_id) == []


async def test_missing_permissions_still_lets_the_channel_be_read(fake: FakeDiscord, plain_client: discord.Client):
    fake.fail_channel(fake.channel_id, "missing_permissions")
    assert (await plain_client.fetch_channel(fake.channel_id)).id == fake.channel_id
    fake.fail_channel(fake.channel_id, "missing_access")
    with pytest.raises(discord.Forbidden):
        await plain_client.fetch_channel(fake.channel_id)


async def test_an_unknown_channel_is_404_10003(plain_client: discord.Client):
    with pytest.raises(discord.NotFound) as caught:
        await plain_client.fetch_channel(123456789012345678)
    assert caught.value.code == 10003


async def test_a_429_and_a_500_are_retried_by_discord_py_and_post_once(fake: FakeDiscord,
                                                                       plain_client: discord.Client):
    channel = plain_client.get_partial_messageable(fake.channel_id)
    fake.ratelimit_channel(fake.channel_id, retry_after=0.05)
    await channel.send("digest")
    fake.fail_channel(fake.channel_id, "server_error", times=1)
    await channel.send("digest 2")  # discord.py waits a second and tries again
    statuses = [r.status for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert statuses == [429, 200, 500, 200]
    assert len(fake.channel_messages(fake.channel_id)) == 2


async def test_a_posted_message_is_edited_and_fetched(fake: FakeDiscord, plain_client: discord.Client):
    channel = await plain_client.fetch_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    view = ui.View()
    view.add_item(ui.Button(label="Approve", custom_id="review:approve:7"))
    message = await channel.send("Pending review", view=view)
    await message.edit(content="Approved by grace", view=None)
    assert fake.message_edits[0][1]["components"] == []
    fetched = await channel.fetch_message(message.id)
    assert (fetched.content, fetched.components) == ("Approved by grace", [])
    with pytest.raises(discord.NotFound) as caught:
        await channel.fetch_message(1)
    assert caught.value.code == 10008


# -- DMs -------------------------------------------------------------------------------------------

async def test_a_dm_channel_is_opened_and_its_messages_are_dms(fake: FakeDiscord, plain_client: discord.Client):
    dm = await plain_client.create_dm(discord.Object(id=MODERATOR.user_id))
    assert isinstance(dm, discord.DMChannel)
    await dm.send("Your suggestion was approved")
    assert [m["content"] for m in fake.dms_to(MODERATOR.user_id)] == ["Your suggestion was approved"]
    assert (await plain_client.fetch_channel(dm.id)).type is discord.ChannelType.private


async def test_a_user_who_refuses_dms_gives_forbidden_50007(fake: FakeDiscord, plain_client: discord.Client):
    fake.refuse_dms(MODERATOR.user_id)
    dm = await plain_client.create_dm(discord.Object(id=MODERATOR.user_id))  # opening still works
    with pytest.raises(discord.Forbidden) as caught:
        await dm.send("Your suggestion was approved")
    assert caught.value.code == 50007
    assert fake.dms_to(MODERATOR.user_id) == []


# -- who, where, with which permissions --------------------------------------------------------------

async def test_an_interaction_carries_the_chosen_member_roles_channel_and_app_permissions(
        fake: FakeDiscord, plain_client: discord.Client):
    review = fake.add_channel(name="review")
    payload, interaction = await slash_interaction(
        fake, plain_client, member=Member(MODERATOR.user_id, "grace", roles=[111, 222]), channel_id=review["id"],
        app_permissions=VIEW_CHANNEL | SEND_MESSAGES)
    assert isinstance(interaction.user, discord.Member)
    assert (interaction.user.id, interaction.user.name) == (MODERATOR.user_id, "grace")
    assert set(interaction.user._roles) == {111, 222}  # IDs only: roles of no cached guild have no names
    assert interaction.channel_id == int(review["id"])
    assert interaction.app_permissions.send_messages and not interaction.app_permissions.embed_links
    assert payload["app_permissions"] == str(VIEW_CHANNEL | SEND_MESSAGES)
    await interaction.response.send_message("ok", ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


async def test_roles_added_before_connecting_are_cached_by_discord_py(fake: FakeDiscord,
                                                                      plain_client: discord.Client):
    # plain_client points discord.py at the fake; a second client connects once the role exists.
    moderators = fake.add_role("Moderators")
    client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.1)
    await client.login(fake.token)
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 10)
        guild = client.get_guild(fake.guild_id)
        assert guild is not None and guild.get_role(int(moderators)).name == "Moderators"
        waiting = on_next_interaction(client)
        await fake.dispatch("INTERACTION_CREATE", fake.new_interaction(
            2, {"id": "1", "name": "suggest", "type": 1}, member=Member(MODERATOR.user_id, roles=[moderators])))
        interaction = await waiting
        assert isinstance(interaction.user, discord.Member)
        assert [r.name for r in interaction.user.roles if not r.is_default()] == ["Moderators"]
        await interaction.response.defer(ephemeral=True)
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


async def test_an_interaction_from_another_server(fake: FakeDiscord, plain_client: discord.Client):
    payload, interaction = await slash_interaction(fake, plain_client, guild_id=42)
    assert interaction.guild_id == 42 and payload["channel"]["guild_id"] == "42"
    await interaction.response.defer(ephemeral=True)


async def test_a_click_happens_in_the_messages_channel_by_the_chosen_member(fake: FakeDiscord,
                                                                           plain_client: discord.Client):
    review = fake.add_channel(name="review")
    view = ui.View()
    view.add_item(ui.Button(label="Approve", custom_id="review:approve:7"))
    await plain_client.get_partial_messageable(int(review["id"])).send("Pending", view=view)
    message = fake.channel_messages(review["id"])[0]
    waiting = on_next_interaction(plain_client)
    payload = await fake.click(message, "review:approve:7", member=MODERATOR)
    interaction = await waiting
    assert payload["channel_id"] == review["id"] and interaction.user.id == MODERATOR.user_id
    assert interaction.message is not None and interaction.message.id == int(message["id"])
    await interaction.response.edit_message(content="Approved", view=None)
    assert fake.channel_messages(review["id"])[0]["content"] == "Approved"


# -- modals -----------------------------------------------------------------------------------------

async def test_a_modal_passes_validation_and_its_submit_reaches_on_submit(fake: FakeDiscord,
                                                                          plain_client: discord.Client):
    _, interaction = await slash_interaction(fake, plain_client)
    modal = Suggest()
    await interaction.response.send_modal(modal)
    shown = fake.modals[-1].data
    assert shown["title"] == "Suggest a resource" and shown["custom_id"] == "suggest"
    submit = await fake.modal_submit("suggest", {"url": "https://feast.dev"})
    submitted = await asyncio.wait_for(modal.submitted, 5)
    assert submit["type"] == 5 and submitted.user.id == fake.user_id
    assert (modal.url.value, modal.why.value) == ("https://feast.dev", "")
    assert submit["data"]["components"][0] == {"type": 1, "id": 1, "components": [
        {"type": 4, "id": 2, "custom_id": "url", "value": "https://feast.dev"}]}
    assert (await fake.response(submit))["data"]["content"] == "Thanks for https://feast.dev"


async def test_a_modal_in_labels_is_submitted_in_labels(fake: FakeDiscord, plain_client: discord.Client):
    _, interaction = await slash_interaction(fake, plain_client)
    modal = ui.Modal(title="Edit", custom_id="edit:7")
    modal.add_item(ui.Label(text="Title", component=ui.TextInput(custom_id="title", default="Feast")))
    await interaction.response.send_modal(modal)
    submit = await fake.modal_submit("edit:7", {"title": "Feast 2"}, member=MODERATOR)
    assert submit["data"]["components"] == [
        {"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "title", "value": "Feast 2"}}]
    assert submit["member"]["user"]["id"] == str(MODERATOR.user_id)


def long_labelled_modal() -> ui.Modal:
    modal = ui.Modal(title="t" * 46, custom_id="x")
    modal.add_item(ui.TextInput(label="l" * 46, custom_id="a"))
    return modal


async def test_a_modal_over_discords_limits_is_refused_with_50035(fake: FakeDiscord, plain_client: discord.Client):
    _, interaction = await slash_interaction(fake, plain_client)
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.response.send_modal(long_labelled_modal())
    assert caught.value.code == 50035
    assert "data.title" in caught.value.text and "data.components.0.components.0.label" in caught.value.text
    assert fake.modals == []


async def test_a_modal_cannot_answer_a_modal_submit(fake: FakeDiscord, plain_client: discord.Client):
    _, interaction = await slash_interaction(fake, plain_client)
    modal = ui.Modal(title="Plain", custom_id="plain")  # its on_submit answers nothing
    modal.add_item(ui.TextInput(label="Link", custom_id="url"))
    await interaction.response.send_modal(modal)
    waiting = on_next_interaction(plain_client)
    await fake.modal_submit("plain", {"url": "https://feast.dev"})
    submitted = await waiting
    with pytest.raises(discord.HTTPException) as caught:
        await submitted.response.send_modal(Suggest())
    assert caught.value.code == 50035


async def test_modal_submit_refuses_what_discords_client_would_not_send(fake: FakeDiscord,
                                                                        plain_client: discord.Client):
    _, interaction = await slash_interaction(fake, plain_client)
    await interaction.response.send_modal(Suggest())
    with pytest.raises(AssertionError, match="url is required"):
        await fake.modal_submit("suggest", {"why": "good"})
    with pytest.raises(AssertionError, match="outside min/max_length"):
        await fake.modal_submit("suggest", {"url": "x" * 301})
    with pytest.raises(AssertionError, match="no inputs"):
        await fake.modal_submit("suggest", {"nope": "x"})
    with pytest.raises(AssertionError, match="showed no modal"):
        await fake.modal_submit("other", {})


def test_permission_bits_are_discords() -> None:
    assert discord.Permissions(VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS) == discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True)
