"""Fixtures: a fake Slack, a real SQLite store, and the real SlackAdapter serving HTTP on loopback.

`SlackClient` sends what Slack sends: form-encoded slash commands and `block_actions` payloads,
signed with `v0:` HMAC-SHA256 over the timestamp and the exact body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.catalog_file import catalog_path
from bot.service import BotService
from bot.settings import Settings
from bot.storage import Store, open_store
from tests.adapters.slack.fake_slack import APP_TOKEN, BOT_TOKEN, TEAM_ID, FakeSlack

SIGNING_SECRET = "test-signing-secret-0123456789"
USER_ID = "U0MEMBER"
CHANNEL_ID = "C0CHANNEL"


def slack_settings(fake: FakeSlack, *, socket: bool = False, bot_token: str = BOT_TOKEN,
                   api_url: str | None = None) -> Settings:
    # Every Slack/Discord setting is given, and .env is not read, so the developer's own
    # environment cannot change what these tests run.
    return Settings(
        _env_file=None,
        slack_bot_token=bot_token,
        slack_signing_secret=None if socket else SIGNING_SECRET,
        slack_app_token=APP_TOKEN if socket else None,
        slack_api_url=api_url or fake.api_url,
        host="127.0.0.1",
        port=0,
        discord_token=None,
    )


def sign(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


@dataclass
class SlackClient:
    """Plays Slack's side of the HTTP conversation with the bot."""

    session: aiohttp.ClientSession
    base: str
    fake: FakeSlack
    trigger: int = 0

    async def post(self, body: bytes, *, headers: dict[str, str] | None = None,
                   timestamp: str | None = None) -> aiohttp.ClientResponse:
        timestamp = timestamp or str(int(time.time()))
        sent = {"Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sign(body, timestamp)}
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        response = await self.session.post(f"{self.base}/slack/events", data=body, headers=sent)
        await response.read()
        return response

    def command_body(self, text: str, *, response_url: str | None = None, user_id: str = USER_ID,
                     user_name: str = "ada", channel_id: str = CHANNEL_ID, channel_name: str = "mlops") -> bytes:
        self.trigger += 1
        return urlencode({
            "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "test",
            "channel_id": channel_id, "channel_name": channel_name, "user_id": user_id, "user_name": user_name,
            "command": "/mlops", "text": text, "api_app_id": "A0TEST", "is_enterprise_install": "false",
            "response_url": response_url or self.fake.response_url(f"cmd{self.trigger}"),
            "trigger_id": self.fake.new_trigger(),  # a live one, so the answer may open a modal
        }).encode()

    async def command(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """Slack's slash command POST; `user_id`, `user_name`, `channel_id`, `channel_name` choose who and where."""
        who = {k: kwargs.pop(k) for k in ("user_id", "user_name", "channel_id", "channel_name") if k in kwargs}
        response = await self.post(self.command_body(text, response_url=kwargs.pop("response_url", None), **who),
                                   **kwargs)
        assert response.status == 200, await response.text()
        assert response.content_type == "application/json"
        return await response.json()

    def click_body(self, button: dict[str, Any], *, message_ts: str = "1700000000.000001",
                   ephemeral: bool = True, response_url: str | None = None, action_ts: str = "1700000001.1",
                   user_id: str = USER_ID, user_name: str = "ada", channel_id: str = CHANNEL_ID,
                   channel_name: str = "mlops", block_id: str = "mlops_buttons", action_id: str | None = None,
                   value: str | None = None) -> bytes:
        """A block_actions payload. A click on a message the bot posted (not ephemeral) carries that
        message, as stored by the fake, the way Slack sends it; an ephemeral one carries none."""
        self.trigger += 1
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "api_app_id": "A0TEST", "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                          "is_ephemeral": ephemeral},
            "trigger_id": self.fake.new_trigger(),
            "team": {"id": TEAM_ID, "domain": "test"},
            "enterprise": None, "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel_name},
            "response_url": response_url or self.fake.response_url("click"),
            "actions": [{"action_id": action_id or button["action_id"], "block_id": block_id,
                         "text": button["text"], "value": button["value"] if value is None else value,
                         "type": "button", "action_ts": action_ts}],
        }
        if not ephemeral:
            message = self.fake.message(channel_id, message_ts)
            if message is not None:
                payload["message"] = message
            payload["state"] = {"values": {}}
        return urlencode({"payload": json.dumps(payload)}).encode()

    async def click(self, button: dict[str, Any], **kwargs: Any) -> aiohttp.ClientResponse:
        headers = kwargs.pop("headers", None)
        response = await self.post(self.click_body(button, **kwargs), headers=headers)
        assert response.status == 200, await response.text()
        return response

    async def click_on(self, channel_id: str, ts: str, action_id: str, **kwargs: Any) -> aiohttp.ClientResponse:
        """Click a button of a message the bot posted in a channel (e.g. Approve on a review post)."""
        message = self.fake.message(channel_id, ts)
        assert message is not None, f"no message {ts} in {channel_id}"
        button = next((e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
                       if e.get("action_id") == action_id), None)
        assert button is not None, f"{action_id!r} is not a button of that message"
        block_id = next(b.get("block_id", "") for b in message["blocks"] if button in b.get("elements", []))
        return await self.click(button, message_ts=ts, channel_id=channel_id, ephemeral=False,
                                block_id=kwargs.pop("block_id", block_id), **kwargs)

    def view_submission_body(self, values: dict[str, dict[str, str | None]] | None = None, *,
                             view: dict[str, Any] | None = None, user_id: str = USER_ID,
                             user_name: str = "ada") -> bytes:
        """The `payload=` form Slack sends when a modal is submitted. `view` defaults to the last one the
        bot opened (as the fake stored it); `values` are {block_id: {action_id: text}}, checked against
        the view's inputs as Slack's client would (unknown ids, max_length, an empty required input)."""
        if view is None:
            assert self.fake.views, "the bot opened no modal"
            view = list(self.fake.views.values())[-1]
        values = values or {}
        inputs = {(b.get("block_id"), b["element"].get("action_id")): b
                  for b in view.get("blocks", []) if b.get("type") == "input"}
        state: dict[str, dict[str, Any]] = {}
        for block_id, actions in values.items():
            for action_id, text in actions.items():
                block = inputs.get((block_id, action_id))
                assert block is not None, f"the view has no input {block_id}/{action_id}"
                limit = block["element"].get("max_length")
                assert limit is None or text is None or len(text) <= limit, f"{block_id} is over {limit} characters"
                # Slack sends null for an input left empty.
                state.setdefault(block_id, {})[action_id] = {"type": block["element"]["type"], "value": text or None}
        for (block_id, action_id), block in inputs.items():
            filled = state.get(block_id, {}).get(action_id, {}).get("value")
            assert block.get("optional") or filled, f"Slack's client would not submit an empty {block_id}"
            state.setdefault(block_id, {}).setdefault(action_id, {"type": block["element"]["type"], "value": None})
        submitted = {**view, "state": {"values": state}}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "test"},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "api_app_id": "A0TEST", "token": "legacy-verification-token",
            "trigger_id": self.fake.new_trigger(),
            "view": submitted, "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    async def view_submission(self, values: dict[str, dict[str, str | None]] | None = None,
                              **kwargs: Any) -> dict[str, Any] | None:
        """Submit a modal; the bot's answer: None for Slack's "close it" (200, empty body), else its JSON
        (e.g. {"response_action": "errors", "errors": {block_id: message}})."""
        headers = kwargs.pop("headers", None)
        response = await self.post(self.view_submission_body(values, **kwargs), headers=headers)
        assert response.status == 200, await response.text()
        text = await response.text()
        return json.loads(text) if text.strip() else None


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by action ("share", "more")."""
    found: dict[str, dict[str, Any]] = {}
    for block in message["blocks"]:
        if block["type"] == "actions":
            for element in block["elements"]:
                found[element["action_id"].split("_")[1]] = element
    return found


@pytest.fixture(scope="session")
def service() -> BotService:
    return BotService.from_file(catalog_path())


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/t.db")
    yield store
    store.close()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()
    assert not fake.problems, fake.problems


@pytest.fixture
def ack_budget() -> float:
    return 2.0


@pytest.fixture
async def adapter(fake_slack: FakeSlack, store: Store, service: BotService,
                  ack_budget: float) -> AsyncIterator[SlackAdapter]:
    adapter = SlackAdapter(service, slack_settings(fake_slack), store, ack_budget=ack_budget)
    await adapter.start()
    yield adapter
    await adapter.stop()


@pytest.fixture
async def slack(adapter: SlackAdapter, fake_slack: FakeSlack) -> AsyncIterator[SlackClient]:
    async with aiohttp.ClientSession() as session:
        yield SlackClient(session, f"http://127.0.0.1:{adapter.port}", fake_slack)
