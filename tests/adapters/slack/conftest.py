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

    def command_body(self, text: str, *, response_url: str | None = None) -> bytes:
        self.trigger += 1
        return urlencode({
            "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "test",
            "channel_id": CHANNEL_ID, "channel_name": "mlops", "user_id": USER_ID, "user_name": "ada",
            "command": "/mlops", "text": text, "api_app_id": "A0TEST", "is_enterprise_install": "false",
            "response_url": response_url or self.fake.response_url(f"cmd{self.trigger}"),
            "trigger_id": f"1.2.{self.trigger}",
        }).encode()

    async def command(self, text: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.post(self.command_body(text, response_url=kwargs.pop("response_url", None)), **kwargs)
        assert response.status == 200, await response.text()
        assert response.content_type == "application/json"
        return await response.json()

    def click_body(self, button: dict[str, Any], *, message_ts: str = "1700000000.000001",
                   ephemeral: bool = True, response_url: str | None = None, action_ts: str = "1700000001.1") -> bytes:
        self.trigger += 1
        payload = {
            "type": "block_actions",
            "user": {"id": USER_ID, "username": "ada", "name": "ada", "team_id": TEAM_ID},
            "api_app_id": "A0TEST", "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL_ID,
                          "is_ephemeral": ephemeral},
            "trigger_id": f"2.3.{self.trigger}",
            "team": {"id": TEAM_ID, "domain": "test"},
            "channel": {"id": CHANNEL_ID, "name": "mlops"},
            "response_url": response_url or self.fake.response_url("click"),
            "actions": [{"action_id": button["action_id"], "block_id": "mlops_buttons", "text": button["text"],
                         "value": button["value"], "type": "button", "action_ts": action_ts}],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    async def click(self, button: dict[str, Any], **kwargs: Any) -> aiohttp.ClientResponse:
        headers = kwargs.pop("headers", None)
        response = await self.post(self.click_body(button, **kwargs), headers=headers)
        assert response.status == 200, await response.text()
        return response


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
