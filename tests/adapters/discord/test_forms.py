"""Forms as modals, their submits, reference buttons and who the service sees acting, through discord.py and
the fake Discord's gateway. Test handlers are registered on a real BotService (`own_service`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.adapters.discord import DiscordAdapter
from bot.core.forms import Form, FormErrors, FormField, FormSubmission
from bot.core.reply import Button, ButtonAction, Reply
from bot.core.suggestion_views import suggest_form
from bot.service import BotService, Request
from tests.adapters.discord.fake_discord import EPHEMERAL, FakeDiscord, Member, modal_inputs

Start = Callable[..., Awaitable[DiscordAdapter]]
GOOD = {"url": "https://example.org/guide", "title": "A guide", "why": "Clear\nand short"}
GRACE = Member(900_000_000_000_000_777, "grace")


def button_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


def inputs(fake: FakeDiscord, custom_id: str) -> dict[str, dict[str, Any]]:
    shown = [m for m in fake.modals if m.data["custom_id"] == custom_id]
    assert shown, f"no modal {custom_id!r} was shown"
    return {i["custom_id"]: i for i in modal_inputs(shown[-1].data)}


class Recorder:
    """Test handlers that remember what reached them and answer what the test says."""

    def __init__(self, *answers: Any, delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.delay = delay
        self.calls: list[tuple[Any, Request]] = []

    async def __call__(self, what: Any, request: Request) -> Any:
        self.calls.append((what, request))
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(what) if callable(answer) else answer


def sample_form(ref: str = "7") -> Form:
    return Form(kind="test", ref=ref, title="A test form with a title longer than forty-five characters", fields=(
        FormField("name", "Name", "Ada", placeholder="your name", max_length=50),
        FormField("story", "Story", "", required=False, max_length=1000, multiline=True, choices=("short", "long")),
    ), intro="Say who you are.")


# -- forms as modals ----------------------------------------------------------------------------------

async def test_a_command_that_answers_with_a_form_opens_it_as_a_modal(fake: FakeDiscord, start_adapter: Start,
                                                                       own_service: BotService) -> None:
    await start_adapter(service_=own_service)
    asked = await fake.slash("suggest")
    body = await fake.response(asked)
    assert body["type"] == 9  # MODAL, as the first response
    data = body["data"]
    assert data["custom_id"] == "mlops:f:suggest:"
    assert data["title"] == "Suggest a resource"
    form = suggest_form()
    fields = inputs(fake, "mlops:f:suggest:")
    assert list(fields) == [f.name for f in form.fields]
    assert [c["label"] for c in data["components"] if c["type"] == 18] == [f.label for f in form.fields]
    assert fields["url"]["required"] and not fields["title"]["required"]
    assert fields["url"]["max_length"] == 2000 and fields["url"]["placeholder"] == "https://…"
    assert fields["why"]["style"] == 2 and fields["url"]["style"] == 1  # paragraph only where multiline
    assert data["components"][0] == {"type": 10, "content": form.intro}  # the intro, above the fields


async def test_a_modal_keeps_within_discords_limits_and_holds_the_fields_values(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    own_service.register_click(ButtonAction.EDIT, Recorder(sample_form()))
    adapter = await start_adapter(service_=own_service)
    assert adapter.poster is not None
    await adapter.poster.post(str(fake.channel_id), Reply("Review", buttons=(Button("Edit", ButtonAction.EDIT,
                                                                                      ref="7"),)))
    post = fake.channel_messages(fake.channel_id)[-1]
    body = await fake.response(await fake.click(post, "mlops:e:7"))
    assert body["type"] == 9
    assert len(body["data"]["title"]) <= 45 and body["data"]["title"].endswith("…")
    fields = inputs(fake, "mlops:f:test:7")
    assert fields["name"]["value"] == "Ada" and fields["name"]["placeholder"] == "your name"
    story = next(c for c in body["data"]["components"] if c["type"] == 18 and c["component"]["custom_id"] == "story")
    assert story["description"] == "One of: short, long"  # a field's choices, beside it


async def test_a_good_submit_reaches_the_form_handler_with_the_values_and_the_member_and_is_answered_privately(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    helpers = fake.add_role("Helpers")
    handler = Recorder(Reply("Thanks", text="Suggestion #1 received"))
    own_service.register_form("suggest", handler)
    await start_adapter(service_=own_service)
    ada = Member(900_000_000_000_000_555, "ada", roles=[helpers])
    await fake.response(await fake.slash("suggest", member=ada))

    submitted = await fake.modal_submit("mlops:f:suggest:", GOOD, member=ada)
    body = await fake.response(submitted)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["title"] == "Thanks"
    [(submission, request)] = handler.calls
    assert submission == FormSubmission("suggest", "", GOOD)
    assert (request.platform, request.user_id, request.user_name) == ("discord", str(ada.user_id), "Ada")
    assert helpers in request.roles
    assert request.channel_id == str(fake.channel_id)


async def test_a_submit_with_mistakes_comes_back_privately_with_a_button_that_reopens_the_modal_holding_the_text(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    typed = {"url": "example.org/guide", "title": "A guide", "why": "Because\nit is clear"}
    handler = Recorder(lambda s: FormErrors(suggest_form().with_values(s.values), {"url": "Use a full https link"}),
                       Reply("Thanks", text="Suggestion #1 received"))
    own_service.register_form("suggest", handler)
    await start_adapter(service_=own_service)
    await fake.response(await fake.slash("suggest"))

    bad = await fake.modal_submit("mlops:f:suggest:", typed)
    body = await fake.response(bad)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL  # only the member sees their mistakes
    assert "Link: Use a full https link" in body["data"]["embeds"][0]["description"]
    errors_message = fake.original(bad)
    [fix] = buttons(errors_message)
    assert fix["label"] == "Fix and resubmit" and fix["custom_id"].startswith("mlops:x:")

    reopened = await fake.click(errors_message, fix["custom_id"])
    again = await fake.response(reopened)
    assert again["type"] == 9 and again["data"]["custom_id"] == "mlops:f:suggest:"
    assert {name: field.get("value") for name, field in inputs(fake, "mlops:f:suggest:").items()} == typed
    url = next(c for c in again["data"]["components"] if c["type"] == 18 and c["component"]["custom_id"] == "url")
    assert "Use a full https link" in url["description"]  # the mistake, beside its field

    fixed = await fake.modal_submit("mlops:f:suggest:", {**typed, "url": "https://example.org/guide"})
    done = await fake.response(fixed)
    assert done["type"] == 7  # the errors message becomes the answer, its button gone
    assert done["data"]["embeds"][0]["title"] == "Thanks" and not done["data"].get("components")
    assert [s.values["url"] for s, _ in handler.calls] == ["example.org/guide", "https://example.org/guide"]


async def test_a_fix_button_after_the_text_was_forgotten_says_to_start_again(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    own_service.register_form("suggest", Recorder(lambda s: FormErrors(suggest_form(), {"url": "Give the link"})))
    adapter = await start_adapter(service_=own_service)
    await fake.response(await fake.slash("suggest"))
    bad = await fake.modal_submit("mlops:f:suggest:", {"url": "x"})
    await fake.response(bad)
    errors_message = fake.original(bad)
    modals = len(fake.modals)

    someone_else = await fake.click(errors_message, button_ids(errors_message)[0], member=GRACE)
    body = await fake.response(someone_else)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["title"] == "This form has expired"

    adapter.responder.drafts.clock = lambda: time.monotonic() + 31 * 60
    later = await fake.click(errors_message, button_ids(errors_message)[0])
    body = await fake.response(later)
    assert body["type"] == 4 and "start again" in body["data"]["embeds"][0]["description"]
    assert len(fake.modals) == modals  # no empty form opened


async def test_a_slow_submit_is_deferred_then_answered(fake: FakeDiscord, start_adapter: Start,
                                                       own_service: BotService) -> None:
    own_service.register_form("suggest", Recorder(Reply("Thanks"), delay=0.3))
    await start_adapter(service_=own_service, defer_after=0.05)
    await fake.response(await fake.slash("suggest"))
    submitted = await fake.modal_submit("mlops:f:suggest:", GOOD)
    assert (await fake.response(submitted)) == {"type": 5, "data": {"flags": EPHEMERAL}}
    edit = await fake.edit(submitted)
    assert edit["embeds"][0]["title"] == "Thanks"


async def test_a_modal_opened_before_a_restart_is_still_understood(fake: FakeDiscord, start_adapter: Start,
                                                                   own_service: BotService) -> None:
    handler = Recorder(Reply("Thanks"))
    own_service.register_form("suggest", handler)
    before = await start_adapter(service_=own_service)
    await fake.response(await fake.slash("suggest"))
    await before.stop()

    await start_adapter(service_=own_service)  # a new process: nothing of the modal in memory
    body = await fake.response(await fake.modal_submit("mlops:f:suggest:", GOOD))
    assert body["type"] == 4 and handler.calls[0][0].values == GOOD


# -- reference buttons --------------------------------------------------------------------------------

async def review_post(adapter: DiscordAdapter, fake: FakeDiscord, channel: str | int | None = None,
                      ref: str = "7") -> dict[str, Any]:
    assert adapter.poster is not None
    channel = str(channel or fake.channel_id)
    await adapter.poster.post(channel, Reply("Suggestion #7", buttons=(
        Button("Approve", ButtonAction.APPROVE, ref=ref), Button("Reject", ButtonAction.REJECT, ref=ref),
        Button("Edit", ButtonAction.EDIT, ref=ref))))
    return fake.channel_messages(channel)[-1]


async def test_a_reference_button_reaches_the_service_with_the_clickers_id_name_and_roles(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    moderators = fake.add_role("Moderators")
    clicks = Recorder(Reply("Only moderators", is_error=True))
    own_service.register_click(ButtonAction.APPROVE, clicks)
    adapter = await start_adapter(service_=own_service)
    post = await review_post(adapter, fake)
    assert [(b["label"], b["custom_id"], b["style"]) for b in buttons(post)] == [
        ("Approve", "mlops:a:7", 3), ("Reject", "mlops:r:7", 4), ("Edit", "mlops:e:7", 2)]

    grace = Member(GRACE.user_id, "grace", roles=[moderators])
    body = await fake.response(await fake.click(post, "mlops:a:7", member=grace))
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL  # the answer goes to the clicker alone
    [(ref, request)] = clicks.calls
    assert ref == "7"
    actor = request.actor
    assert (actor.platform, actor.user_id, actor.name) == ("discord", str(GRACE.user_id), "Grace")
    assert moderators in actor.roles
    assert fake.channel_messages(fake.channel_id)[-1]["components"] == post["components"]  # the post is untouched


async def test_a_reference_button_that_answers_with_a_form_opens_its_modal_first(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    own_service.register_click(ButtonAction.APPROVE, Recorder(lambda ref: sample_form(ref)))
    adapter = await start_adapter(service_=own_service)
    post = await review_post(adapter, fake, ref="12")
    body = await fake.response(await fake.click(post, "mlops:a:12"))
    assert body["type"] == 9 and body["data"]["custom_id"] == "mlops:f:test:12"


async def test_a_form_opened_from_a_private_message_answers_in_a_new_one_leaving_that_message_alone(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    listing = Reply("Waiting for review: 1", buttons=(Button("Edit #7", ButtonAction.EDIT, ref="7"),))
    own_service.register_click(ButtonAction.APPROVE, Recorder(listing))
    own_service.register_click(ButtonAction.EDIT, Recorder(lambda ref: sample_form(ref)))
    own_service.register_form("test", Recorder(Reply("Saved")))
    adapter = await start_adapter(service_=own_service)
    post = await review_post(adapter, fake)
    shown = await fake.click(post, "mlops:a:7")
    await fake.response(shown)
    private = fake.original(shown)
    assert private["flags"] & EPHEMERAL and button_ids(private) == ["mlops:e:7"]

    assert (await fake.response(await fake.click(private, "mlops:e:7")))["type"] == 9
    body = await fake.response(await fake.modal_submit("mlops:f:test:7", {"name": "Grace"}))
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL  # a new private answer…
    assert button_ids(private) == ["mlops:e:7"]  # …and the list the moderator works from is still there


async def test_a_slow_click_that_answers_with_a_form_offers_a_button_that_opens_it(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    own_service.register_click(ButtonAction.APPROVE, Recorder(lambda ref: sample_form(ref), delay=0.3))
    adapter = await start_adapter(service_=own_service, defer_after=0.05)
    post = await review_post(adapter, fake)
    clicked = await fake.click(post, "mlops:a:7")
    assert (await fake.response(clicked))["type"] == 5  # deferred: a modal can no longer be the answer
    await fake.edit(clicked)
    offer = fake.original(clicked)
    [open_it] = buttons(offer)
    assert open_it["label"] == "Open the form"
    body = await fake.response(await fake.click(offer, open_it["custom_id"]))
    assert body["type"] == 9 and body["data"]["custom_id"] == "mlops:f:test:7"


async def test_reference_buttons_keep_working_after_a_restart(fake: FakeDiscord, start_adapter: Start,
                                                              own_service: BotService) -> None:
    clicks = Recorder(Reply("Rejected"))
    own_service.register_click(ButtonAction.REJECT, clicks)
    before = await start_adapter(service_=own_service)
    post = await review_post(adapter=before, fake=fake)
    await before.stop()
    await start_adapter(service_=own_service)
    body = await fake.response(await fake.click(post, "mlops:r:7"))
    assert body["data"]["embeds"][0]["title"] == "Rejected" and clicks.calls[0][0] == "7"


# -- which server -------------------------------------------------------------------------------------

async def test_with_a_guild_set_another_server_is_refused_privately_and_nothing_else_happens(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    other = 900_000_000_000_000_999
    elsewhere = fake.add_channel(name="general", guild_id=other)
    clicks = Recorder(Reply("Clicked"))
    own_service.register_click(ButtonAction.APPROVE, clicks)
    adapter = await start_adapter(service_=own_service, discord_guild_id=fake.guild_id)

    asked = await fake.slash("suggest", scope=fake.guild_id, guild_id=other)
    body = await fake.response(asked)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["embeds"][0]["title"] == "This bot serves another server"
    assert not fake.modals

    post = await review_post(adapter, fake, channel=elsewhere["id"])
    refused = await fake.response(await fake.click(post, "mlops:a:7"))
    assert refused["data"]["embeds"][0]["title"] == "This bot serves another server"
    assert not clicks.calls

    completed = fake.new_interaction(4, fake.command_data(fake.guild_id, "resource", {"query": "fea"}, "query"),
                                     guild_id=other)
    await fake.dispatch("INTERACTION_CREATE", completed)
    assert (await fake.response(completed))["data"]["choices"] == []

    home = await fake.response(await fake.slash("suggest", scope=fake.guild_id))
    assert home["type"] == 9  # its own server is served


async def test_with_a_guild_set_a_dm_is_refused(fake: FakeDiscord, start_adapter: Start,
                                                own_service: BotService) -> None:
    adapter = await start_adapter(service_=own_service, discord_guild_id=fake.guild_id)
    assert adapter.poster is not None
    await adapter.poster.dm(str(fake.user_id), Reply("Hello"))  # opens the DM channel
    asked = await fake.slash("help", scope=fake.guild_id, channel_id=fake.dm_channels[str(fake.user_id)])
    body = await fake.response(asked)
    assert body["data"]["embeds"][0]["title"] == "This bot serves another server"


async def test_without_a_guild_set_a_command_in_a_dm_is_answered_with_no_roles(
        fake: FakeDiscord, start_adapter: Start, own_service: BotService) -> None:
    handler = Recorder(Reply("Thanks"))
    own_service.register_form("suggest", handler)
    adapter = await start_adapter(service_=own_service)
    assert adapter.poster is not None
    await adapter.poster.dm(str(fake.user_id), Reply("Hello"))
    dm = fake.dm_channels[str(fake.user_id)]
    assert (await fake.response(await fake.slash("suggest", channel_id=dm)))["type"] == 9
    await fake.response(await fake.modal_submit("mlops:f:suggest:", GOOD))
    [(_, request)] = handler.calls
    assert request.user_id == str(fake.user_id) and request.roles == frozenset() and request.channel_id == dm
