"""The adapter turns bolt's responses into aiohttp's itself (adapter.aiohttp_response): what goes on the
wire must be exactly what bolt's own to_aiohttp_response sends, byte for byte but for the Date header."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.response import BoltResponse

from bot.adapters.slack.adapter import aiohttp_response

RESPONSES: list[dict[str, Any]] = [
    {"status": 200, "body": '{"text":"Feast","blocks":[{"type":"section"}],"response_type":"ephemeral"}'},
    {"status": 200, "body": ""},  # an empty ack
    {"status": 404, "body": "not found"},
    {"status": 200, "body": {"text": "café ☕"}},  # bolt encodes a dict itself
    {"status": 401, "body": '{"error":"invalid"}', "headers": {"X-Thing": ["a", "b"], "Retry-After": 3}},
    {"status": 200, "body": "héllo wörld", "headers": {"content-type": "text/plain; charset=utf-8"}},
    {"status": 200, "body": "a=1", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    {"status": 500, "body": "Internal Server Error", "headers": {"Content-Type": "text/html;charset=utf-8"}},
]


@pytest.fixture
async def server() -> AsyncIterator[int]:
    async def respond(request: web.Request) -> web.StreamResponse:
        bolt_response = BoltResponse(**RESPONSES[int(request.match_info["number"])])
        if request.match_info["how"] == "bolt":
            return await to_aiohttp_response(bolt_response)
        ours = aiohttp_response(bolt_response)
        assert ours is not None
        return ours

    app = web.Application()
    app.router.add_get("/{how}/{number}", respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield int(runner.addresses[0][1])
    await runner.cleanup()


async def raw_response(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return re.sub(rb"\r\nDate: [^\r]*", b"", data)


@pytest.mark.parametrize("number", range(len(RESPONSES)))
async def test_the_bytes_sent_are_bolts_own(server: int, number: int) -> None:
    ours = await raw_response(server, f"/ours/{number}")
    assert ours == await raw_response(server, f"/bolt/{number}")
    assert ours.startswith(b"HTTP/1.1 ")


def test_a_response_that_sets_cookies_is_left_to_bolt() -> None:
    with_cookie = BoltResponse(status=200, body="ok", headers={"Set-Cookie": ["state=1; Path=/"]})
    assert aiohttp_response(with_cookie) is None
