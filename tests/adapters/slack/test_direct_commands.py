"""Slash commands over HTTP are answered by SlackBot.answer_at_once without bolt's dispatch when bolt would do
nothing else with them: the answer on the wire is the one bolt's dispatch gives, and an answer that is not
ready at once is still started only once, finished by bolt's listener as before."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_bolt.request.internals import parse_body
from slack_bolt.response import BoltResponse

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack.adapter import slash_command_fields
from bot.core.reply import Reply
from bot.service import BotService, Request
from bot.storage import Store
from tests.adapters.slack.conftest import SlackClient, slack_settings
from tests.adapters.slack.fake_slack import FakeSlack

TEXTS = ["resource feature-store", "resource kind:paper drift", "help", "list", "list podcasts", "", "week 3",
         "frobnicate", "resource kind:bogus x", "resource payload", "resource <!channel> & more", "suggest"]


async def answers(slack: SlackClient, texts: list[str]) -> list[tuple[int, str, str]]:
    found = []
    for text in texts:
        response = await slack.post(slack.command_body(text))
        found.append((response.status, response.content_type, await response.text()))
    return found


async def test_every_command_is_answered_as_bolts_dispatch_answers_it(adapter: SlackAdapter, slack: SlackClient):
    direct = await answers(slack, TEXTS)

    async def passing_on(next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        return await next()

    # A middleware of our own: bolt's dispatch would run it, so every command now goes through bolt.
    assert adapter.bot is not None
    adapter.bot.app.use(passing_on)
    through_bolt = await answers(slack, TEXTS)
    assert direct == through_bolt
    assert direct[0][0] == 200 and "Feast" in direct[0][2]
    assert direct[TEXTS.index("resource payload")][0] == 404  # bolt reads any body saying "payload" as one


class CountingSlowService(BotService):
    """Its answer needs 0.3 s of waiting (a database far away): never ready at once."""

    calls = 0

    async def handle(self, request: Request) -> Reply:
        CountingSlowService.calls += 1
        await asyncio.sleep(0.3)
        return await super().handle(request)


@pytest.mark.parametrize("budget", [0.1, 2.0])
async def test_an_answer_not_ready_at_once_is_started_once(fake_slack: FakeSlack, store: Store,
                                                         service: BotService, budget: float):
    """Past the ack budget the placeholder is acked and the answer posted later; within it, the ack carries
    the answer: either way the service was asked once."""
    slow = CountingSlowService(service.catalog)
    CountingSlowService.calls = 0
    adapter = SlackAdapter(slow, slack_settings(fake_slack), store, ack_budget=budget)
    await adapter.start()
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"http://127.0.0.1:{adapter.port}", fake_slack)
            message = await slack.command("resource feature-store", response_url=fake_slack.response_url("slow"))
            if budget < 0.3:
                assert "Working on it" in message["blocks"][0]["text"]["text"]
                (late,) = await fake_slack.wait_for_posts("/response/slow", 1)
                assert "Feast" in str(late.body)
            else:
                assert "Feast" in str(message)
            await asyncio.sleep(0.1)
            assert CountingSlowService.calls == 1
            assert adapter.bot is not None and not adapter.bot._started  # nothing left behind
    finally:
        await adapter.stop()


def form(**fields: str) -> str:
    return urlencode({"team_id": "T0", "user_id": "U0", "channel_id": "C0", "trigger_id": "1.2", **fields})


@pytest.mark.parametrize(("text", "content_type", "direct"), [
    (form(command="/mlops", text="resource feature-store"), "application/x-www-form-urlencoded", True),
    (form(command="/mlops", text=""), "application/x-www-form-urlencoded", True),
    (form(command="/other", text="x"), None, True),  # any command: the listener matches every "/..."
    (form(command="mlops", text="x"), "application/x-www-form-urlencoded", False),  # no listener for it
    (form(command="/mlops", text="a payload"), "application/x-www-form-urlencoded", False),
    (form(command="/mlops", ssl_check="1"), "application/x-www-form-urlencoded", False),
    (form(command="/mlops", type="url_verification"), "application/x-www-form-urlencoded", False),
    (form(command="/mlops", event="x"), "application/x-www-form-urlencoded", False),
    (form(text="no command"), "application/x-www-form-urlencoded", False),
    ('{"command": "/mlops", "text": "x"}', "application/json", False),
    ("command=%2Fmlops&text=x", "application/json", False),  # bolt would read it as JSON
    ("", "application/x-www-form-urlencoded", False),
])
def test_only_a_slash_command_bolt_would_pass_to_its_listener_is_answered_directly(
        text: str, content_type: str | None, direct: bool) -> None:
    fields = slash_command_fields(text, content_type)
    assert (fields is not None) == direct
    if fields is not None:
        assert fields == parse_body(text, content_type)  # the very body bolt's listener would get
