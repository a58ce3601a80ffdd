"""What a hostile sender or an odd Slack Web API does to the Slack adapter: one line, never a traceback."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import web

from bot.adapters.slack import SlackAdapter
from bot.errors import PlatformError
from bot.storage import Store
from bot.storage.schema import CLAIMED, claims
from tests.adapters.slack.conftest import SlackClient, buttons, slack_settings
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.adapters.slack.test_http import texts


@pytest.mark.parametrize(("body", "content_type"), [
    (b"[1, 2, 3]", "application/json"),
    (b'"just a string"', "application/json"),
    (b"payload=notjson", "application/x-www-form-urlencoded"),
    (b"payload=null", "application/x-www-form-urlencoded"),
    (urlencode({"payload": "[]"}).encode(), "application/x-www-form-urlencoded"),
    (b"{not json", "application/json"),
    (b"\xff\xfe", "application/x-www-form-urlencoded"),
])
async def test_a_signed_but_malformed_body_is_a_400_and_one_log_line(slack: SlackClient, fake_slack: FakeSlack,
                                                                     caplog, body: bytes, content_type: str):
    caplog.set_level(logging.DEBUG)
    response = await slack.post(body, headers={"Content-Type": content_type})
    assert response.status == 400
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "refused a signed Slack request" in lines[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert [c for c in fake_slack.calls if not c.path.endswith("auth.test")] == []


@pytest.fixture
async def odd_api() -> AsyncIterator[str]:
    answers = {
        "html": lambda: web.Response(text="<html>a captive portal</html>", content_type="text/html"),
        "list": lambda: web.json_response([1, 2]),
        "plain500": lambda: web.Response(status=500, text="Internal Server Error"),
        "null": lambda: web.json_response(None),
    }

    async def answer(request: web.Request) -> web.Response:
        return answers[request.match_info["kind"]]()

    app = web.Application()
    app.router.add_post("/{kind}/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.parametrize(("kind", "says"), [
    ("html", "HTTP 200 and a body that is not JSON"),
    ("list", "JSON that is not an object"),
    ("plain500", "HTTP 500"),
    ("null", "JSON null"),
])
async def test_a_slack_api_url_that_is_not_slack_stops_start_with_one_line(fake_slack, store, service, odd_api,
                                                                          kind: str, says: str):
    adapter = SlackAdapter(service, slack_settings(fake_slack, api_url=f"{odd_api}/{kind}/"), store)
    with pytest.raises(PlatformError) as info:
        await adapter.start()
    message = str(info.value)
    assert says in message and "auth.test" in message and odd_api in message, message
    assert "\n" not in message and "rejected SLACK_BOT_TOKEN" not in message


async def test_a_response_url_outside_slack_is_never_posted_to(slack: SlackClient, fake_slack: FakeSlack):
    elsewhere = "https://attacker.example/collect"
    credentials = fake_slack.response_url("x").replace("http://", "http://user:pw@")
    share = buttons(await slack.command("resource feature-store"))["share"]
    for url in (elsewhere, credentials):
        await slack.click(share, response_url=url, action_ts=str(time.time()))
    await asyncio.sleep(0.3)
    assert not fake_slack.posts("/response/")


def test_only_slacks_hooks_host_over_https_by_default():
    from bot.adapters.slack.adapter import response_url_hosts

    assert response_url_hosts(None) == {("https", "hooks.slack.com")}
    assert response_url_hosts("http://u:p@127.0.0.1:8080/api/") == {("http", "127.0.0.1:8080")}


async def test_no_token_warning_at_start_even_with_the_token_in_the_environment(fake_slack, store, service,
                                                                                caplog, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # bolt reads it by itself
    caplog.set_level(logging.DEBUG)
    adapter = SlackAdapter(service, slack_settings(fake_slack), store)
    await adapter.start()
    await adapter.stop()
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]


async def test_a_connection_that_sends_no_whole_request_is_closed(fake_slack, store, service):
    adapter = SlackAdapter(service, slack_settings(fake_slack), store)
    adapter.idle_timeout = 0.3  # the real one is 30 s
    await adapter.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", adapter.port)
        writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the bot
        writer.close()
    finally:
        await adapter.stop()


async def test_a_share_whose_claimer_died_before_posting_is_shared_on_the_next_click(
        slack: SlackClient, fake_slack: FakeSlack, store: Store):
    share = buttons(await slack.command("resource feature-store"))["share"]
    # What a kill -9 between the claim and the post leaves: a claim with a lease that ran out, not done.
    from bot.adapters.slack.app import _share_key

    body = json.loads(dict(__import__("urllib.parse").parse.parse_qsl(slack.click_body(share).decode()))["payload"])
    key = _share_key(body, body["actions"][0])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with store.engine.begin() as conn:
        conn.execute(claims.insert().values(key=key, created_at=past, state=CLAIMED, lease_until=past))
    await slack.click(share)
    calls = await fake_slack.wait_for_posts("/response/click", 2)
    assert calls[0].body["response_type"] == "in_channel"
    assert store.claim_state_sync(key) == "done"


async def test_a_share_still_being_posted_elsewhere_is_not_posted_again(
        slack: SlackClient, fake_slack: FakeSlack, store: Store):
    share = buttons(await slack.command("resource feature-store"))["share"]
    from bot.adapters.slack.app import _share_key

    body = json.loads(dict(__import__("urllib.parse").parse.parse_qsl(slack.click_body(share).decode()))["payload"])
    store.claim_sync(_share_key(body, body["actions"][0]))  # a live lease: another replica is posting it
    await slack.click(share)
    await asyncio.sleep(0.3)
    assert not fake_slack.posts("/response/click")


async def test_a_member_sees_the_length_they_sent_when_a_query_is_cut(slack: SlackClient):
    message = await slack.command("resource " + "mlflow " * 1500)
    assert "10,500 characters" in texts(message) or "10,508 characters" in texts(message), texts(message)[:300]


async def test_sigterm_wins_over_a_retry_after_of_an_hour_at_start(fake_slack: FakeSlack, tmp_path: Path):
    from tests.adapters.slack.fake_slack import Trouble
    from tests.adapters.slack.test_run import run_env
    from tests.conftest import RunningBot

    fake_slack.fail_next("/api/auth.test", *[Trouble(status=429, retry_after="3600")] * 3)
    bot = await RunningBot.start(run_env(fake_slack, tmp_path), tmp_path)
    try:
        while not fake_slack.posts("/api/auth.test"):
            await asyncio.sleep(0.02)
        started = time.monotonic()
        output = await bot.terminate(10)
        assert time.monotonic() - started < 5
        assert "Traceback" not in output, output
    finally:
        await bot.kill()


async def test_a_session_is_not_left_waiting_on_an_hours_retry_after(fake_slack, store, service):
    from tests.adapters.slack.fake_slack import Trouble

    fake_slack.fail_next("/api/auth.test", Trouble(status=429, retry_after="3600"))
    adapter = SlackAdapter(service, slack_settings(fake_slack), store)
    started = time.monotonic()
    with pytest.raises(PlatformError):
        await asyncio.wait_for(adapter.start(), 5)
    assert time.monotonic() - started < 5


