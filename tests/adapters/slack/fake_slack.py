"""A fake Slack on loopback: the Web API, response_url endpoints and a Socket Mode websocket.

It records every call for assertions. Scripted trouble (429 with Retry-After, a dropped connection)
is queued per path with `fail_next`. Only what the bot uses is implemented; anything else is 404,
so a call the bot should not make shows up as a failure, not a silent success.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-bot-token-000"
APP_TOKEN = "xapp-test-app-token-000"
TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Trouble:
    status: int = 429
    retry_after: str | None = "1"
    drop: bool = False  # close the connection without an answer


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    troubles: dict[str, list[Trouble]] = field(default_factory=dict)
    envelopes_acked: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    app_token: str = APP_TOKEN  # the one apps.connections.open accepts; change it to revoke the bot's

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base_url}/response/{name}"

    def fail_next(self, path: str, *troubles: Trouble) -> None:
        self.troubles.setdefault(path, []).extend(troubles)

    def posts(self, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.path.startswith(prefix)]

    async def wait_for_posts(self, prefix: str, count: int, timeout: float = 5.0) -> list[Call]:
        async def poll() -> list[Call]:
            while len(self.posts(prefix)) < count:
                await asyncio.sleep(0.01)
            return self.posts(prefix)

        return await asyncio.wait_for(poll(), timeout)

    # -- handlers ---------------------------------------------------------------------------------

    async def _trouble(self, request: web.Request) -> web.StreamResponse | None:
        queue = self.troubles.get(request.path)
        if not queue:
            return None
        trouble = queue.pop(0)
        if trouble.drop:
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("dropped on purpose")
        headers = {"Retry-After": trouble.retry_after} if trouble.retry_after is not None else {}
        return web.json_response({"ok": False, "error": "ratelimited"}, status=trouble.status, headers=headers)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        is_json = request.content_type == "application/json"
        body = json.loads(raw or b"{}") if is_json else dict(parse_qsl(raw.decode()))
        self.calls.append(Call(request.path, body, dict(request.headers)))
        trouble = await self._trouble(request)
        if trouble is not None:
            return trouble
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or body.get("token", "")
        method = request.match_info["method"]
        if method == "auth.test":
            if token != BOT_TOKEN:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "mlops",
                                      "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0BOT"})
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{request.url.port}/socket"})
        if method in ("chat.postMessage", "chat.postEphemeral"):
            if token != BOT_TOKEN:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": "1700000000.000100"})
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(Call(request.path, body, dict(request.headers)))
        trouble = await self._trouble(request)
        if trouble is not None:
            return trouble
        return web.Response(text="ok")

    # -- Socket Mode --------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A0TEST"}})
        self._connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await self.envelopes_acked.put(json.loads(message.data))
        return ws

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection, as Slack does when it refreshes or restarts one."""
        for ws in self._sockets:
            await ws.close()

    @property
    def sockets_opened(self) -> int:
        return len(self._sockets)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await asyncio.wait_for(self._connected.wait(), 5)
        await self._sockets[-1].send_json(envelope)
