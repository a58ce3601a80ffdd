"""Socket Mode: bolt's aiohttp handler dials the fake's websocket (handed out by apps.connections.open),
receives a slash-command envelope and acks it with the reply as the envelope's payload."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import SecretStr

from bot.adapters.slack import SlackAdapter
from bot.errors import PlatformError
from bot.health import HealthCheck, PlatformState
from tests.adapters.slack.conftest import CHANNEL_ID, USER_ID, slack_settings
from tests.adapters.slack.fake_slack import TEAM_ID, FakeSlack, Trouble
from tests.conftest import eventually


def command_envelope(text: str, fake: FakeSlack, envelope_id: str = "env-1") -> dict:
    return {
        "envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
        "payload": {
            "token": "legacy", "team_id": TEAM_ID, "team_domain": "test", "channel_id": CHANNEL_ID,
            "channel_name": "mlops", "user_id": USER_ID, "user_name": "ada", "command": "/mlops", "text": text,
            "api_app_id": "A0TEST", "is_enterprise_install": "false",
            "response_url": fake.response_url("socket"), "trigger_id": f"3.4.{envelope_id}",
        },
    }


async def test_a_slash_command_envelope_is_acked_with_the_block_kit_reply(fake_slack: FakeSlack, store, service):
    adapter = SlackAdapter(service, slack_settings(fake_slack, socket=True), store)
    await adapter.start()
    try:
        assert adapter.mode == "socket" and adapter.port is None  # no HTTP server in Socket Mode
        assert [c.path for c in fake_slack.calls] == ["/api/auth.test", "/api/apps.connections.open"]
        await fake_slack.send_envelope(command_envelope("resource feature-store", fake_slack))
        ack = await asyncio.wait_for(fake_slack.envelopes_acked.get(), 5)
        assert ack["envelope_id"] == "env-1"
        payload = ack["payload"]
        assert payload["response_type"] == "ephemeral"
        assert payload["blocks"][0]["type"] == "header"
        assert "Feast>" in json.dumps(payload)
        assert "link_names" not in payload
    finally:
        await adapter.stop()


async def test_a_refused_app_token_stops_start_with_an_error_naming_it(fake_slack: FakeSlack, store, service):
    settings = slack_settings(fake_slack, socket=True).model_copy(update={"slack_app_token": SecretStr("xapp-wrong")})
    adapter = SlackAdapter(service, settings, store)
    with pytest.raises(PlatformError, match="SLACK_APP_TOKEN") as caught:
        await adapter.start()
    assert "xapp-wrong" not in str(caught.value)


async def test_health_follows_the_socket_connection(fake_slack: FakeSlack, store, service):
    adapter = SlackAdapter(service, slack_settings(fake_slack, socket=True), store)
    await adapter.start()
    try:
        assert adapter.serves_http is False  # the runner serves /healthz in Socket Mode
        assert await adapter.health() == PlatformState.CONNECTED
        # Slack drops the socket and, for a moment, hands out no new one (a 429: the SDK waits Retry-After).
        fake_slack.fail_next("/api/apps.connections.open", Trouble(status=429, retry_after="1"))
        await fake_slack.drop_sockets()
        await eventually(adapter.health, PlatformState.RECONNECTING, timeout=5)
        await eventually(adapter.health, PlatformState.CONNECTED, timeout=15)
        assert fake_slack.sockets_opened == 2
    finally:
        await adapter.stop()
    assert await adapter.health() == PlatformState.STOPPED


async def test_a_revoked_app_token_ends_in_a_stalled_bot_that_liveness_restarts(fake_slack: FakeSlack, store, service):
    adapter = SlackAdapter(service, slack_settings(fake_slack, socket=True), store)
    await adapter.start()
    check = HealthCheck([adapter], reconnect_grace=0.5)
    try:
        fake_slack.app_token = "xapp-reissued"  # an admin revoked the bot's app token
        await fake_slack.drop_sockets()
        await eventually(adapter.health, PlatformState.RECONNECTING, timeout=5)
        assert (await check.live())[0] is True  # slack-sdk retries every 10 s, for ever
        await asyncio.sleep(0.6)
        ok, body = await check.live()
        assert not ok and body["platforms"] == {"slack": "stalled"}
    finally:
        await adapter.stop()


async def test_a_form_opens_and_its_mistakes_come_back_in_the_envelope_ack(fake_slack: FakeSlack, store, catalog):
    from bot.app.wiring import build_app
    from bot.service import BotService

    service = BotService(catalog)
    build_app(service, store)  # the suggestion forms, as `mlops-bot run` registers them
    adapter = SlackAdapter(service, slack_settings(fake_slack, socket=True), store)
    await adapter.start()
    try:
        envelope = command_envelope("suggest", fake_slack)
        envelope["payload"]["trigger_id"] = fake_slack.new_trigger()
        await fake_slack.send_envelope(envelope)
        ack = await asyncio.wait_for(fake_slack.envelopes_acked.get(), 5)
        assert ack["envelope_id"] == "env-1" and not ack.get("payload")  # the modal is the answer
        (opened,) = fake_slack.views_opened
        view = {**list(fake_slack.views.values())[-1],
                "state": {"values": {"url": {"url": {"type": "plain_text_input", "value": "not a link"}},
                                     "title": {"title": {"type": "plain_text_input", "value": None}},
                                     "why": {"why": {"type": "plain_text_input", "value": None}}}}}
        await fake_slack.send_envelope({
            "envelope_id": "env-2", "type": "interactive", "accepts_response_payload": True,
            "payload": {"type": "view_submission", "team": {"id": TEAM_ID}, "api_app_id": "A0TEST",
                        "user": {"id": USER_ID, "username": "ada", "name": "ada", "team_id": TEAM_ID},
                        "view": view, "trigger_id": fake_slack.new_trigger()}})
        ack = await asyncio.wait_for(fake_slack.envelopes_acked.get(), 5)
        assert ack["envelope_id"] == "env-2"
        assert ack["payload"]["response_action"] == "errors" and set(ack["payload"]["errors"]) == {"url"}
        assert opened["view"]["callback_id"] == "mlops_form"
    finally:
        await adapter.stop()
