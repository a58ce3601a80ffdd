"""A fake Discord on 127.0.0.1: the REST routes and the gateway that discord.py uses, nothing more.

It behaves the way Discord does where discord.py cares: JSON answers carry Content-Type exactly
`application/json`, 429s carry `Via` and `retry_after`, an interaction must get its first response
within 3 seconds and only one, the gateway sends HELLO, answers IDENTIFY with READY and a GUILD_CREATE
per guild (roles and channels, which discord.py caches), heartbeats with ACKs and RESUME with RESUMED.
Channel messages honour `enforce_nonce`; scripted channel errors and closed DMs answer with Discord's
status and JSON error code, which discord.py turns into Forbidden/NotFound with `.code`. It also checks
what it is sent: options against the synced command definitions, embeds against Discord's limits, and
that every message disables mentions.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

EPHEMERAL = 1 << 6
LOADING = 1 << 7
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
INTERACTION_TIMEOUT = 3.0
NONCE_WINDOW = 180.0  # "a few minutes": how long enforce_nonce finds the earlier message
# Permission bits the bot checks in a channel (the interaction's app_permissions), as Discord numbers them.
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
DEFAULT_PERMISSIONS = "2248473465835073"
# Scripted channel errors: status and body exactly as Discord answers them.
CHANNEL_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "missing_access": (403, {"message": "Missing Access", "code": 50001}),
    "missing_permissions": (403, {"message": "Missing Permissions", "code": 50013}),
    "unknown_channel": (404, {"message": "Unknown Channel", "code": 10003}),
    "server_error": (500, {"message": "500: Internal Server Error", "code": 0}),
}
CANNOT_DM = (403, {"message": "Cannot send messages to this user", "code": 50007})


def make_token(user_id: int) -> str:
    first = base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")
    return f"{first}.GfakeT.{'x' * 38}"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: discord.py compares the header verbatim (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0


@dataclass
class Injected:
    """An answer to give instead of the real one, to the next `times` matching requests."""

    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class Pending:
    payload: dict[str, Any]
    created: float
    message_id: str | None  # the message a component sits on
    responded: bool = False
    original: str | None = None  # the message the response created or edits


@dataclass
class Member:
    """Who triggers an interaction: a guild member with roles and permissions in the channel."""

    user_id: int = 900_000_000_000_000_003
    username: str = "learner"
    roles: list[int | str] = field(default_factory=list)
    permissions: int | str = DEFAULT_PERMISSIONS  # the member's, in the channel

    def user(self) -> dict[str, Any]:
        return {"id": str(self.user_id), "username": self.username, "discriminator": "0",
                "global_name": self.username.title(), "avatar": None}


@dataclass
class ChannelFailure:
    status: int
    body: dict[str, Any]
    methods: frozenset[str]
    times: int | None  # None: until cleared


@dataclass
class ShownModal:
    interaction: dict[str, Any]  # the interaction the modal answered
    data: dict[str, Any]


class FakeDiscord:
    def __init__(self, *, app_id: int = 111_222_333_444_555_666, guild_id: int = 900_000_000_000_000_001,
                 heartbeat_ms: int = 250) -> None:
        self.app_id = app_id
        self.guild_id = guild_id
        self.channel_id = 900_000_000_000_000_002
        self.user_id = 900_000_000_000_000_003  # the member who types the commands
        self.token = make_token(app_id)
        self.heartbeat_ms = heartbeat_ms
        self.requests: list[Recorded] = []
        self.injected: list[Injected] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.sync_requests: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.callbacks: list[tuple[str, dict[str, Any]]] = []  # (interaction id, body)
        self.edits: list[tuple[str, dict[str, Any]]] = []  # (interaction id, body) of original-response edits
        self.message_edits: list[tuple[str, dict[str, Any]]] = []  # (message id, body) of channel message edits
        self.deletes: list[str] = []  # interactions whose original response was deleted
        self.followups: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.channel_posts: dict[str, list[str]] = {}  # channel -> IDs of messages posted to it over REST
        self.channel_failures: dict[str, ChannelFailure] = {}
        self.dm_channels: dict[str, str] = {}  # user ID -> DM channel ID
        self.dms_refused: set[str] = set()  # users whose DMs answer 50007
        self.users: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, list[dict[str, Any]]] = {}  # guild ID -> roles beyond @everyone
        self.modals: list[ShownModal] = []
        self._nonces: dict[tuple[str, str], tuple[float, str]] = {}  # (channel, nonce) -> (when, message)
        self.clock: Callable[[], float] = time.monotonic  # for the nonce window
        self.problems: list[str] = []  # what a real Discord would have refused
        self.pending: dict[str, Pending] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.sockets: list[web.WebSocketResponse] = []
        self.gateway_down = False  # refuse new gateway connections, as during an outage
        self.session_id: str | None = None
        self.seq = 0
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_channel(self.channel_id, name="study-group")

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> str:
        return str(next(self._ids))

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": str(self.app_id), "username": "mlops-bot", "discriminator": "0", "global_name": None,
                "avatar": None, "bot": True, "flags": 0}

    @property
    def member_user(self) -> dict[str, Any]:
        return {"id": str(self.user_id), "username": "learner", "discriminator": "0", "global_name": "Learner",
                "avatar": None}

    def inject(self, method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None,
               times: int = 1) -> None:
        self.injected.append(Injected(method, re.compile(path), status, body, headers or {}, times))

    def inject_429(self, method: str, path: str, retry_after: float = 0.05, times: int = 1) -> None:
        self.inject(method, path, 429,
                    {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                    {"Via": "1.1 google", "Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Scope": "user"},
                    times)

    # -- channels and DMs -----------------------------------------------------------------------------

    def add_channel(self, channel_id: int | str | None = None, *, name: str = "review",
                    guild_id: int | str | None = None) -> dict[str, Any]:
        """A guild text channel (in another server when `guild_id` differs), as GET /channels/{id} gives it."""
        channel = {"id": str(channel_id or self.snowflake()), "type": 0, "guild_id": str(guild_id or self.guild_id),
                   "name": name, "position": len(self.channels), "permission_overwrites": [], "nsfw": False,
                   "parent_id": None, "topic": None, "last_message_id": None, "rate_limit_per_user": 0,
                   "flags": 0}
        self.channels[channel["id"]] = channel
        return channel

    def add_role(self, name: str, *, guild_id: int | str | None = None, permissions: int | str = 0) -> str:
        """A role of that guild (e.g. "Moderators"); its ID, for `Member(roles=[...])`. Add roles before the
        bot connects: the GUILD_CREATE sent after READY carries them, and discord.py caches them there."""
        role_id = self.snowflake()
        self.roles.setdefault(str(guild_id or self.guild_id), []).append(
            {"id": role_id, "name": name, "color": 0, "colors": {"primary_color": 0}, "hoist": False,
             "position": 1, "permissions": str(permissions), "managed": False, "mentionable": False, "flags": 0})
        return role_id

    def guilds(self) -> list[str]:
        return list(dict.fromkeys([str(self.guild_id), *(c["guild_id"] for c in self.channels.values()
                                                          if c.get("guild_id"))]))

    def guild_create(self, guild_id: str) -> dict[str, Any]:
        """What Discord sends, with the GUILDS intent, for each guild after READY: the roles and channels."""
        everyone = {"id": guild_id, "name": "@everyone", "color": 0, "hoist": False, "position": 0,
                    "permissions": "2248473465835073", "managed": False, "mentionable": False, "flags": 0}
        return {
            "id": guild_id, "name": f"guild {guild_id}", "icon": None, "owner_id": str(self.user_id),
            "unavailable": False, "member_count": 2, "large": False, "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "roles": [everyone, *self.roles.get(guild_id, [])], "emojis": [], "stickers": [], "features": [],
            "channels": [{k: v for k, v in c.items() if k != "guild_id"} for c in self.channels.values()
                         if c.get("guild_id") == guild_id],
            "threads": [], "members": [], "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
            "public_updates_channel_id": None, "preferred_locale": "en-US", "premium_tier": 0,
            "premium_subscription_count": 0, "nsfw_level": 0, "afk_channel_id": None, "afk_timeout": 300,
            "description": None, "banner": None, "splash": None, "discovery_splash": None, "vanity_url_code": None,
            "max_members": 500000, "application_id": None, "premium_progress_bar_enabled": False,
        }

    def fail_channel(self, channel_id: int | str, error: str, *, times: int | None = None,
                     methods: tuple[str, ...] = ("POST", "PATCH", "GET")) -> None:
        """Answer requests about that channel with one of CHANNEL_ERRORS (missing_access: 403 50001,
        missing_permissions: 403 50013, unknown_channel: 404 10003, server_error: 500), `times` times or
        until `clear_channel`. missing_permissions only refuses sending and editing, as in Discord,
        where View Channel is enough to read a channel."""
        status, body = CHANNEL_ERRORS[error]
        if error == "missing_permissions":
            methods = tuple(m for m in methods if m != "GET")
        self.channel_failures[str(channel_id)] = ChannelFailure(status, body, frozenset(methods), times)

    def clear_channel(self, channel_id: int | str) -> None:
        self.channel_failures.pop(str(channel_id), None)

    def ratelimit_channel(self, channel_id: int | str, retry_after: float = 0.05, times: int = 1) -> None:
        """The next `times` message POSTs to that channel get a 429 with that retry_after."""
        self.inject_429("POST", rf"/channels/{channel_id}/messages", retry_after, times)

    def refuse_dms(self, user_id: int | str) -> None:
        """Messages to that user's DM channel answer 403 50007 (they closed DMs or left every shared server);
        opening the DM channel still works, as on Discord."""
        self.dms_refused.add(str(user_id))

    def channel_messages(self, channel_id: int | str) -> list[dict[str, Any]]:
        """Messages posted to that channel over REST (not interaction responses), oldest first, as they are now."""
        return [self.messages[m] for m in self.channel_posts.get(str(channel_id), []) if m in self.messages]

    def dms_to(self, user_id: int | str) -> list[dict[str, Any]]:
        channel_id = self.dm_channels.get(str(user_id))
        return self.channel_messages(channel_id) if channel_id else []

    def user(self, user_id: int | str) -> dict[str, Any]:
        return self.users.get(str(user_id)) or {"id": str(user_id), "username": f"user{user_id}",
                                                 "discriminator": "0", "global_name": None, "avatar": None}

    # -- REST ---------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        path = request.path.removeprefix("/api/v10")
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        record = Recorded(request.method, path, dict(request.query), body, dict(request.headers))
        self.requests.append(record)
        for injected in self.injected:
            if injected.times > 0 and injected.method == request.method and injected.path.fullmatch(path):
                injected.times -= 1
                record.status = injected.status
                return json_response(injected.body, injected.status, injected.headers)
        response = await handler(request)
        record.status = response.status
        return response

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v10")
        method = request.method
        body = self.requests[-1].body
        # Interaction callbacks and webhooks authenticate with the interaction token in the path.
        if m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return self._callback(m[1], m[2], body)
        if m := re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/@original", path):
            return self._original(method, m[2], body)
        if m := re.fullmatch(r"/webhooks/(\d+)/([^/]+)", path):
            return self._followup(m[2], body)
        if not self._authorized(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        if method == "GET" and path == "/users/@me":
            return json_response(self.bot_user)
        if method == "GET" and path == "/oauth2/applications/@me":
            return json_response({
                "id": str(self.app_id), "name": "mlops-bot", "description": "", "icon": None, "bot_public": True,
                "bot_require_code_grant": False, "owner": self.member_user, "verify_key": "0" * 64, "flags": 0,
                "team": None, "summary": "", "rpc_origins": [],
            })
        if method == "GET" and path in ("/gateway/bot", "/gateway"):
            return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
        if method == "POST" and path == "/users/@me/channels":
            return self._open_dm(body or {})
        if method == "GET" and (m := re.fullmatch(r"/users/(\d+)", path)):
            if m[1] not in self.users:
                return json_response({"message": "Unknown User", "code": 10013}, 404)
            return json_response(self.users[m[1]])
        if m := re.fullmatch(r"/channels/(\d+)(/messages(?:/(\d+))?)?", path):
            return self._channel_route(method, m[1], bool(m[2]), m[3], body)
        if m := re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path):
            if int(m[1]) != self.app_id:
                return json_response({"message": "Unknown Application", "code": 10002}, 404)
            scope = int(m[2]) if m[2] else None
            if method == "PUT":
                return self._bulk_overwrite(scope, body)
            if method == "GET":
                return json_response(self.commands.get(scope, []))
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def _open_dm(self, body: dict[str, Any]) -> web.Response:
        recipient = str(body.get("recipient_id") or "")
        if not recipient.isdigit():
            return json_response({"message": "Invalid Form Body", "code": 50035, "errors": {"recipient_id": {
                "_errors": [{"code": "NUMBER_TYPE_COERCE", "message": "Value is not snowflake."}]}}}, 400)
        if recipient not in self.dm_channels:
            self.dm_channels[recipient] = channel_id = self.snowflake()
            self.channels[channel_id] = {"id": channel_id, "type": 1, "last_message_id": None, "flags": 0,
                                         "recipients": [self.user(recipient)]}
        return json_response(self.channels[self.dm_channels[recipient]])

    def _channel_route(self, method: str, channel_id: str, messages: bool, message_id: str | None,
                       body: Any) -> web.Response:
        channel = self.channels.get(channel_id)
        failure = self.channel_failures.get(channel_id)
        if failure is not None and method in failure.methods:
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.channel_failures[channel_id]
            return json_response(failure.body, failure.status)
        if channel is None:
            return json_response({"message": "Unknown Channel", "code": 10003}, 404)
        if not messages:
            return json_response(channel) if method == "GET" else self._not_found()
        if message_id is None:
            return self._post_message(channel, body or {}) if method == "POST" else self._not_found()
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != channel_id:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        if method == "GET":
            return json_response(message)
        if method == "PATCH":
            if message["author"]["id"] != str(self.app_id):
                return json_response({"message": "Cannot edit a message authored by another user",
                                      "code": 50005}, 403)
            self._check_message(body or {}, f"edit of message {message_id}")
            self.message_edits.append((message_id, body or {}))
            self._update(message, body or {})
            return json_response(message)
        return self._not_found()

    @staticmethod
    def _not_found() -> web.Response:
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def _post_message(self, channel: dict[str, Any], body: dict[str, Any]) -> web.Response:
        channel_id = channel["id"]
        if channel["type"] == 1 and channel["recipients"][0]["id"] in self.dms_refused:
            return json_response(CANNOT_DM[1], CANNOT_DM[0])
        if not (body.get("content") or body.get("embeds") or body.get("components") or body.get("sticker_ids")
                or body.get("attachments") or body.get("poll")):
            return json_response({"message": "Cannot send an empty message", "code": 50006}, 400)
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            return json_response({"message": "Invalid Form Body", "code": 50035, "errors": {"nonce": {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}]}}}, 400)
        now = self.clock()
        if nonce is not None and body.get("enforce_nonce"):
            # Discord's documented dedup: the same nonce in the same channel within a few minutes gives
            # back the message it created then, and creates nothing.
            seen = self._nonces.get((channel_id, str(nonce)))
            if seen is not None and now - seen[0] <= NONCE_WINDOW and seen[1] in self.messages:
                return json_response(self.messages[seen[1]])
        where = f"message to {'DM' if channel['type'] == 1 else 'channel'} {channel_id}"
        self._check_message(body, where)
        message = self._new_message(body, body.get("flags") or 0, None, channel_id=channel_id)
        if nonce is not None:
            message["nonce"] = nonce
            self._nonces[(channel_id, str(nonce))] = (now, message["id"])
        self.channel_posts.setdefault(channel_id, []).append(message["id"])
        channel["last_message_id"] = message["id"]
        return json_response(message)

    def _bulk_overwrite(self, scope: int | None, payload: list[dict[str, Any]]) -> web.Response:
        self.sync_requests.append((scope, payload))
        stored = []
        for command in payload:
            if not re.fullmatch(r"[-_\w]{1,32}", command["name"]) or len(command.get("description", "")) > 100:
                return json_response({"message": "Invalid Form Body", "code": 50035}, 400)
            entry = {"id": self.snowflake(), "application_id": str(self.app_id), "version": self.snowflake(),
                     "type": 1, "default_member_permissions": None, "dm_permission": True, "nsfw": False,
                     **command}
            if scope is not None:
                entry["guild_id"] = str(scope)
            stored.append(entry)
        self.commands[scope] = stored
        return json_response(stored)

    def _callback(self, interaction_id: str, token: str, body: dict[str, Any]) -> web.Response:
        pending = self.pending.get(token)
        if pending is None or pending.payload["id"] != interaction_id:
            return json_response({"message": "Unknown interaction", "code": 10062}, 404)
        if time.monotonic() - pending.created > INTERACTION_TIMEOUT:
            self.problems.append(f"interaction {interaction_id} answered after {INTERACTION_TIMEOUT} s")
            return json_response({"message": "Unknown interaction", "code": 10062}, 404)
        if pending.responded:
            return json_response({"message": "Interaction has already been acknowledged.", "code": 40060}, 400)
        if body["type"] == 9:
            errors = modal_errors(body.get("data") or {})
            if pending.payload["type"] in (1, 4, 5):  # a ping, an autocomplete, a modal submit
                errors["type"] = {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                               "message": "Modals cannot be sent in response to this interaction."}]}
            if errors:
                return json_response({"message": "Invalid Form Body", "code": 50035, "errors": errors}, 400)
            self.modals.append(ShownModal(pending.payload, body["data"]))
        pending.responded = True
        self.callbacks.append((interaction_id, body))
        kind, data = body["type"], body.get("data") or {}
        if kind in (4, 7):
            self._check_message(data, f"callback type {kind}")
        message = None
        if kind in (4, 5):  # a new message (type 5: "thinking…" until edited)
            flags = (data.get("flags") or 0) | (LOADING if kind == 5 else 0)
            message = self._new_message(data if kind == 4 else {}, flags, pending.payload)
            pending.original = message["id"]
        elif kind in (6, 7):  # update the message the component sits on
            if pending.message_id is None:
                return json_response({"message": "Invalid interaction type", "code": 40060}, 400)
            pending.original = pending.message_id
            message = self.messages[pending.message_id]
            if kind == 7:
                self._update(message, data)
        elif kind == 8:
            choices = data.get("choices", [])
            if len(choices) > 25 or any(not 1 <= len(c["name"]) <= 100 for c in choices):
                self.problems.append("autocomplete choices break Discord's limits")
        answer: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": pending.payload["type"],
            "response_message_id": message["id"] if message else None,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
        }}
        if message is not None:
            answer["resource"] = {"type": kind, "message": message}
        return json_response(answer)

    def _original(self, method: str, token: str, body: dict[str, Any] | None) -> web.Response:
        pending = self.pending.get(token)
        if pending is None or pending.original is None:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        message = self.messages[pending.original]
        if method == "DELETE":
            self.deletes.append(pending.payload["id"])
            del self.messages[pending.original]
            pending.original = None
            return web.Response(status=204)
        if method == "PATCH":
            self._check_message(body or {}, "edit of the original response")
            self.edits.append((pending.payload["id"], body or {}))
            self._update(message, body or {})
            message["flags"] &= ~LOADING
        return json_response(message)

    def _followup(self, token: str, body: dict[str, Any]) -> web.Response:
        pending = self.pending.get(token)
        if pending is None or not pending.responded:
            return json_response({"message": "Unknown Webhook", "code": 10015}, 404)
        self._check_message(body, "follow-up")
        self.followups.append((pending.payload["id"], body))
        return json_response(self._new_message(body, body.get("flags") or 0, pending.payload))

    def _new_message(self, data: dict[str, Any], flags: int, interaction: dict[str, Any] | None,
                     channel_id: str | None = None) -> dict[str, Any]:
        """A message as Discord returns it: an interaction's response (type 20) or a channel post (type 0)."""
        message: dict[str, Any] = {
            "id": self.snowflake(), "channel_id": channel_id or (interaction or {}).get("channel_id"),
            "author": self.bot_user,
            "content": data.get("content") or "", "embeds": data.get("embeds") or [],
            "components": data.get("components") or [], "flags": flags, "type": 20 if interaction else 0,
            "timestamp": "2025-01-01T00:00:00.000000+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "pinned": False,
        }
        if interaction is not None:
            who = (interaction.get("member") or {}).get("user") or interaction.get("user")
            message.update({
                "application_id": str(self.app_id), "webhook_id": str(self.app_id),
                "interaction_metadata": {"id": interaction["id"], "type": interaction["type"], "user": who,
                                         "authorizing_integration_owners": {}},
            })
        self.messages[message["id"]] = message
        return message

    @staticmethod
    def _update(message: dict[str, Any], data: dict[str, Any]) -> None:
        for key in ("content", "embeds", "components"):
            if key in data:
                message[key] = data[key] or ([] if key != "content" else "")
        message["edited_timestamp"] = "2025-01-01T00:00:01.000000+00:00"

    def _check_message(self, data: dict[str, Any], where: str) -> None:
        """What Discord would refuse, or what would ping someone."""
        if not data or set(data) <= {"flags"}:
            return
        mentions = data.get("allowed_mentions")
        if mentions is None or mentions.get("parse") != [] or mentions.get("users") or mentions.get("roles"):
            self.problems.append(f"{where}: allowed_mentions is {mentions!r}, not none()")
        self.problems += [f"{where}: {p}" for p in embed_problems(data)]

    # -- gateway ------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.gateway_down:
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}, "s": None,
                                      "t": None}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            op, data = frame["op"], frame.get("d")
            if op == 1:
                self.heartbeats += 1
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                await self._identify(ws, data)
            elif op == 6:
                await self._resume(ws, data)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if data.get("intents", 0) & PRIVILEGED_INTENTS:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.session_id = f"session-{len(self.identifies)}"
        self.seq = 0
        await self._send(ws, "READY", {
            "v": 10, "user": self.bot_user, "guilds": [{"id": g, "unavailable": True} for g in self.guilds()],
            "session_id": self.session_id, "resume_gateway_url": self.gateway_url, "shard": [0, 1],
            "application": {"id": str(self.app_id), "flags": 0},
        })
        for guild_id in self.guilds():
            await self._send(ws, "GUILD_CREATE", self.guild_create(guild_id))

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.resumes.append(data)
        if data.get("token") != self.token or data.get("session_id") != self.session_id:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return
        await self._send(ws, "RESUMED", {})

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))

    @property
    def ws(self) -> web.WebSocketResponse:
        live = [ws for ws in self.sockets if not ws.closed]
        assert live, "no gateway connection"
        return live[-1]

    async def close_gateway(self, code: int) -> None:
        await self.ws.close(code=code, message=b"fake Discord closed the session")

    # -- interactions -------------------------------------------------------------------------------

    def new_interaction(self, kind: int, data: dict[str, Any], message: dict[str, Any] | None = None, *,
                        member: Member | None = None, guild_id: int | str | None = None,
                        channel_id: int | str | None = None,
                        app_permissions: int | str | None = None) -> dict[str, Any]:
        """An interaction as Discord sends it. `member`: who (default: the learner, no roles); `channel_id`:
        where (default: the message's channel, else the study group; add others with `add_channel`);
        `guild_id` alone: a channel of that other server; `app_permissions`: the bot's permissions in
        that channel, which Discord sends as a decimal string."""
        interaction_id = self.snowflake()
        token = f"interaction-token-{interaction_id}"
        member = member or Member(self.user_id)
        self.users[str(member.user_id)] = member.user()
        channel = self._interaction_channel(channel_id or (message or {}).get("channel_id"), guild_id)
        payload: dict[str, Any] = {
            "id": interaction_id, "application_id": str(self.app_id), "type": kind, "data": data,
            "channel_id": channel["id"], "channel": channel,
            "token": token, "version": 1, "app_permissions": str(app_permissions or DEFAULT_PERMISSIONS),
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 10_485_760,
        }
        if channel["type"] == 1:  # in the bot's DM: a user, no member, no guild
            payload.update({"user": member.user(), "context": 1,
                            "authorizing_integration_owners": {"0": str(self.app_id)}})
        else:
            payload.update({
                "guild_id": channel["guild_id"], "guild_locale": "en-US", "context": 0,
                "authorizing_integration_owners": {"0": channel["guild_id"]},
                "member": {"user": member.user(), "roles": [str(r) for r in member.roles],
                           "joined_at": "2024-01-01T00:00:00.000000+00:00", "permissions": str(member.permissions),
                           "deaf": False, "mute": False, "flags": 0, "pending": False, "nick": None, "avatar": None,
                           "premium_since": None, "communication_disabled_until": None},
            })
        if message is not None:
            payload["message"] = message
        self.pending[token] = Pending(payload, time.monotonic(), message["id"] if message else None)
        return payload

    def _interaction_channel(self, channel_id: int | str | None, guild_id: int | str | None) -> dict[str, Any]:
        if channel_id is not None:
            channel = self.channels.get(str(channel_id))
            assert channel is not None, f"channel {channel_id} is unknown; add it with add_channel"
            return dict(channel)
        if guild_id is None or str(guild_id) == str(self.guild_id):
            return dict(self.channels[str(self.channel_id)])
        found = next((c for c in self.channels.values() if c.get("guild_id") == str(guild_id)), None)
        return dict(found or self.add_channel(name="general", guild_id=guild_id))

    def _command(self, scope: int | None, name: str = "mlops") -> dict[str, Any]:
        for command in self.commands.get(scope, []):
            if command["name"] == name:
                return command
        raise AssertionError(f"/{name} was never synced to {scope or 'global'}")

    def command_data(self, scope: int | None, sub: str, values: dict[str, Any],
                 focused: str | None = None) -> dict[str, Any]:
        """Options as Discord sends them, checked against the synced definition as Discord would."""
        command = self._command(scope)
        definition = next((o for o in command.get("options", []) if o["name"] == sub and o["type"] == 1), None)
        assert definition is not None, f"no subcommand {sub!r} was synced"
        known = {o["name"]: o for o in definition.get("options", [])}
        options = []
        for name, value in values.items():
            assert name in known, f"/{command['name']} {sub} has no option {name!r}"
            spec = known[name]
            if name != focused:
                if spec.get("choices"):
                    assert value in [c["value"] for c in spec["choices"]], f"{value!r} is not a choice of {name}"
                if "min_value" in spec:
                    assert spec["min_value"] <= value <= spec["max_value"], f"{name}={value} is out of range"
                if "max_length" in spec:
                    assert spec.get("min_length", 0) <= len(value) <= spec["max_length"]
            option = {"name": name, "type": spec["type"], "value": value}
            if name == focused:
                option["focused"] = True
            options.append(option)
        for name, spec in known.items():
            assert not spec.get("required") or name in values or name == focused, f"{name} is required"
        data = {"id": command["id"], "name": command["name"], "type": 1,
                "options": [{"name": sub, "type": 1, "options": options}]}
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    async def slash(self, sub: str, *, scope: int | None = None, member: Member | None = None,
                    guild_id: int | str | None = None, channel_id: int | str | None = None,
                    app_permissions: int | str | None = None, **values: Any) -> dict[str, Any]:
        payload = self.new_interaction(2, self.command_data(scope, sub, values), member=member, guild_id=guild_id,
                                       channel_id=channel_id, app_permissions=app_permissions)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def autocomplete(self, sub: str, focused: str, *, scope: int | None = None,
                           **values: Any) -> dict[str, Any]:
        payload = self.new_interaction(4, self.command_data(scope, sub, values, focused))
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def click(self, message: dict[str, Any], custom_id: str, *, member: Member | None = None,
                    app_permissions: int | str | None = None) -> dict[str, Any]:
        """A click on a button of that message (pass the current one, e.g. from `channel_messages`, since a
        removed button cannot be clicked), in the message's channel, by `member`."""
        ids = [c["custom_id"] for row in message["components"] for c in row["components"]]
        assert custom_id in ids, f"{custom_id!r} is not a button of that message"
        payload = self.new_interaction(3, {"custom_id": custom_id, "component_type": 2}, message, member=member,
                                       app_permissions=app_permissions)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def modal_submit(self, custom_id: str, values: dict[str, str], *, member: Member | None = None,
                           app_permissions: int | str | None = None) -> dict[str, Any]:
        """The member submits the modal the bot last showed with that custom_id (its text inputs' values by
        input custom_id), as an INTERACTION_CREATE of type 5, where that modal was opened, shaped like it
        (action rows or labels). Only what Discord's client lets through: required inputs filled, lengths
        within min/max. A modal opened from a button carries that button's message."""
        shown = next((m for m in reversed(self.modals) if m.data["custom_id"] == custom_id), None)
        assert shown is not None, f"the bot showed no modal {custom_id!r}"
        inputs = {i["custom_id"]: i for i in modal_inputs(shown.data)}
        unknown = set(values) - set(inputs)
        assert not unknown, f"the modal has no inputs {sorted(unknown)}"
        for input_id, spec in inputs.items():
            value = values.get(input_id, spec.get("value") or "")
            assert value or not spec.get("required", True), f"{input_id} is required"
            assert not value or spec.get("min_length", 0) <= len(value) <= spec.get("max_length", 4000), (
                f"{input_id}: {len(value)} characters is outside min/max_length")
        ids = itertools.count(1)  # Discord numbers the components it sends back

        def submitted(text_input: dict[str, Any]) -> dict[str, Any]:
            value = values.get(text_input["custom_id"], text_input.get("value") or "")
            return {"type": 4, "id": next(ids), "custom_id": text_input["custom_id"], "value": value}

        components: list[dict[str, Any]] = []
        for component in shown.data["components"]:
            if component["type"] == 1:
                components.append({"type": 1, "id": next(ids),
                                   "components": [submitted(c) for c in component["components"]]})
            elif component["type"] == 18:
                components.append({"type": 18, "id": next(ids), "component": submitted(component["component"])})
        source = shown.interaction
        message = source.get("message")
        payload = self.new_interaction(5, {"custom_id": custom_id, "components": components}, message,
                                       member=member, channel_id=source["channel_id"],
                                       app_permissions=app_permissions or source["app_permissions"])
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self._send(self.ws, event, data)

    # -- waiting ------------------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; problems: {self.problems}")
            await asyncio.sleep(0.005)

    async def response(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """The callback body sent for this interaction."""
        return await self.wait_until(
            lambda: next((body for iid, body in self.callbacks if iid == payload["id"]), None), timeout)

    async def edit(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_until(
            lambda: next((body for iid, body in self.edits if iid == payload["id"]), None), timeout)

    def original(self, payload: dict[str, Any]) -> dict[str, Any]:
        pending = self.pending[payload["token"]]
        assert pending.original is not None
        return self.messages[pending.original]


def embed_problems(data: dict[str, Any]) -> list[str]:
    """Discord's message limits, as documented."""
    problems = []
    if len(data.get("content") or "") > 2000:
        problems.append("content over 2000 characters")
    embeds = data.get("embeds") or []
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds")
    total = 0
    for embed in embeds:
        title, description = embed.get("title") or "", embed.get("description") or ""
        fields = embed.get("fields") or []
        footer = (embed.get("footer") or {}).get("text") or ""
        if len(title) > 256 or len(description) > 4096 or len(fields) > 25 or len(footer) > 2048:
            problems.append("an embed breaks a limit")
        if embed.get("url") and not title:
            problems.append("an embed has a url but no title")
        for f in fields:
            if not f["name"] or not f["value"] or len(f["name"]) > 256 or len(f["value"]) > 1024:
                problems.append(f"field {f['name'][:30]!r} breaks a limit")
            total += len(f["name"]) + len(f["value"])
        total += len(title) + len(description) + len(footer)
    if total > 6000:
        problems.append(f"{total} characters in all embeds")
    for row in data.get("components") or []:
        for component in row.get("components", []):
            if len(component.get("custom_id", "")) > 100 or len(component.get("label", "")) > 80:
                problems.append("a component breaks a limit")
    return problems


def _length_error(errors: dict[str, Any], path: str, value: Any, low: int, high: int) -> None:
    if value is None or not low <= len(value) <= high:
        errors[path] = {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": f"Must be between {low} and {high} "
                                     "in length."}]}


def modal_inputs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The text inputs of a modal, whether in action rows or in labels."""
    found = []
    for component in data.get("components") or []:
        if component.get("type") == 1:
            found += [c for c in component.get("components") or [] if c.get("type") == 4]
        elif component.get("type") == 18 and (component.get("component") or {}).get("type") == 4:
            found.append(component["component"])
    return found


def modal_errors(data: dict[str, Any]) -> dict[str, Any]:
    """What Discord answers 400 50035 to in a MODAL response, keyed by the field's path as Discord does."""
    errors: dict[str, Any] = {}
    _length_error(errors, "data.title", data.get("title"), 1, 45)
    _length_error(errors, "data.custom_id", data.get("custom_id"), 1, 100)
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        errors["data.components"] = {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                                                  "message": "Must be between 1 and 5 in length."}]}
    seen: set[str] = set()
    for i, component in enumerate(components):
        where = f"data.components.{i}"
        if component.get("type") == 1:
            inner = component.get("components") or []
            if len(inner) != 1 or inner[0].get("type") != 4:
                errors[where] = {"_errors": [{"code": "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                                              "message": "A modal action row holds exactly one text input."}]}
                continue
            text_input, labelled = inner[0], f"{where}.components.0"
            _length_error(errors, f"{labelled}.label", text_input.get("label"), 1, 45)
        elif component.get("type") == 18:
            _length_error(errors, f"{where}.label", component.get("label"), 1, 45)
            if len(component.get("description") or "") > 100:
                errors[f"{where}.description"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                               "message": "Must be 100 or fewer in length."}]}
            text_input, labelled = component.get("component") or {}, f"{where}.component"
            if text_input.get("type") != 4:
                continue  # a select in a label: the bot shows none, so nothing more is checked
        elif component.get("type") == 10:  # a text display
            continue
        else:
            errors[f"{where}.type"] = {"_errors": [{"code": "UNION_TYPE_CHOICES",
                                                    "message": "This component type is not allowed in a modal."}]}
            continue
        for field_name, problem in text_input_problems(text_input, seen).items():
            errors[f"{labelled}.{field_name}"] = {"_errors": [{"code": "BASE_TYPE_INVALID", "message": problem}]}
    return errors


def text_input_problems(text_input: dict[str, Any], seen: set[str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    custom_id = text_input.get("custom_id") or ""
    if not 1 <= len(custom_id) <= 100:
        problems["custom_id"] = "Must be between 1 and 100 in length."
    elif custom_id in seen:
        problems["custom_id"] = "Component custom id cannot be duplicated."
    seen.add(custom_id)
    if text_input.get("style") not in (1, 2):
        problems["style"] = "Value must be one of (1, 2)."
    low, high = text_input.get("min_length", 0), text_input.get("max_length", 4000)
    if not 0 <= low <= 4000:
        problems["min_length"] = "int value should be between 0 and 4000."
    if not 1 <= high <= 4000:
        problems["max_length"] = "int value should be between 1 and 4000."
    elif low > high:
        problems["min_length"] = "Must be less than or equal to max_length."
    value = text_input.get("value")
    if value is not None and len(value) > min(high, 4000):
        problems["value"] = f"Must be {min(high, 4000)} or fewer in length."
    if len(text_input.get("placeholder") or "") > 100:
        problems["placeholder"] = "Must be 100 or fewer in length."
    return problems
