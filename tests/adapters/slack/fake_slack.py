"""A fake Slack on loopback: the Web API, response_url endpoints and a Socket Mode websocket.

It records every call for assertions. Scripted trouble (429 with Retry-After, a dropped connection)
is queued per path with `fail_next`; per-channel errors with `fail_channel`. Only what the bot uses
is implemented; anything else is 404, so a call the bot should not make shows up as a failure, not
a silent success.

Where slack_sdk cares it answers as Slack does: errors are HTTP 200 with `{"ok": false, "error"}`
(missing_scope adds `needed` and `provided`), a rate limit is HTTP 429 with an integer `Retry-After`,
every authenticated answer carries `x-oauth-scopes`, arguments arrive as JSON, a form or a query
string (GET for conversations.history/info, as slack_sdk sends them). The scopes each method needs
are checked against `scopes`, so a missing one in the app's manifest shows up here first. What Slack
would accept but that would hurt the bot (`link_names`, an input without block_id) goes to `problems`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-bot-token-000"
APP_TOKEN = "xapp-test-app-token-000"
TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0TEST"
DEFAULT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write")
TRIGGER_LIFETIME = 3.0  # seconds a trigger_id can open a modal
# Arguments that travel as JSON strings in a form or query string.
JSON_ARGUMENTS = ("view", "blocks", "metadata", "attachments")
# Which scope each method needs, by kind of conversation (public, private, DM), as Slack documents.
SCOPES: dict[str, tuple[str, str, str]] = {
    "chat.postMessage": ("chat:write", "chat:write", "chat:write"),
    "chat.update": ("chat:write", "chat:write", "chat:write"),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.info": ("channels:read", "groups:read", "im:read"),
}


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
class SlackChannel:
    """What conversations.info tells about a channel, and what decides whether the bot may post."""

    id: str
    name: str = ""
    is_member: bool = True
    is_archived: bool = False
    is_private: bool = False
    is_im: bool = False
    user: str | None = None  # the other party of a DM

    def info(self) -> dict[str, Any]:
        if self.is_im:
            return {"id": self.id, "created": 1700000000, "is_im": True, "is_org_shared": False,
                    "user": self.user, "is_user_deleted": False, "priority": 0, "is_open": True,
                    "last_read": "0000000000.000000"}
        return {"id": self.id, "name": self.name, "name_normalized": self.name, "is_channel": not self.is_private,
                "is_group": self.is_private, "is_im": False, "is_mpim": False, "is_private": self.is_private,
                "created": 1700000000, "creator": "U0ADMIN", "is_archived": self.is_archived,
                "is_general": False, "unlinked": 0, "is_shared": False, "is_ext_shared": False,
                "is_org_shared": False, "is_pending_ext_shared": False, "is_member": self.is_member,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": []}


@dataclass
class ChannelError:
    error: str  # a Slack error code, or an HTTP status as digits ("503")
    needed: str = "chat:write"  # for missing_scope
    times: int | None = None  # None: until cleared


@dataclass
class RateLimits:
    """chat.postMessage limits: Slack allows about one message per second per channel, and a
    workspace-wide budget. None disables a limit; `window` is shortened in tests of the fake."""

    per_channel: int | None = None  # accepted posts per channel per window
    workspace: int | None = None  # accepted posts in the whole workspace per window
    window: float = 1.0  # seconds
    random_share: float = 0.0  # share of posts answered 429 Retry-After: 1 whatever the counts
    seed: int = 0


class InvalidArguments(Exception):
    """What Slack answers `invalid_arguments` / `invalid_blocks` to, with its json-pointer messages."""

    def __init__(self, error: str, messages: list[str]) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages


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
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))
    rate_limits: RateLimits = field(default_factory=RateLimits)
    clock: Callable[[], float] = time.monotonic  # rate-limit windows and trigger expiry
    problems: list[str] = field(default_factory=list)  # what Slack would take but the bot must not send
    channels: dict[str, SlackChannel] = field(default_factory=dict)
    channel_errors: dict[tuple[str, str], ChannelError] = field(default_factory=dict)
    dm_errors: dict[str, str] = field(default_factory=dict)
    dm_channels: dict[str, str] = field(default_factory=dict)  # user ID -> D channel
    refused_updates: set[tuple[str, str]] = field(default_factory=set)  # (channel, ts): cant_update_message
    triggers: dict[str, float] = field(default_factory=dict)  # trigger_id -> when issued
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # view ID -> the view as Slack holds it
    views_opened: list[dict[str, Any]] = field(default_factory=list)  # views.open arguments, in order
    ratelimited: Counter[str] = field(default_factory=Counter)  # 429s given, per channel
    _messages: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # channel -> ts -> message
    _accepted: list[dict[str, Any]] = field(default_factory=list)
    _recent: dict[str, deque[float]] = field(default_factory=dict)  # rate windows; "" is the workspace
    _ts: int = 0
    _triggers: int = 0
    _random: random.Random | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        # slack_sdk sends conversations.history/info as GET with a query string, the rest as POST.
        app.router.add_route("*", "/api/{method}", self._api)
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

    # -- state and assertions ---------------------------------------------------------------------

    def channel(self, channel_id: str, **settings: Any) -> SlackChannel:
        """The channel's state, created on first use; keywords change it, e.g. `is_member=False`."""
        found = self.channels.get(channel_id)
        if found is None:
            found = self.channels[channel_id] = SlackChannel(channel_id, name=channel_id.lower(),
                                                             is_private=channel_id.startswith("G"),
                                                             is_im=channel_id.startswith("D"))
        for key, value in settings.items():
            if not hasattr(found, key):
                raise AttributeError(f"a channel has no {key!r}")
            setattr(found, key, value)
        return found

    def fail_channel(self, channel_id: str, error: str, *, method: str = "chat.postMessage",
                     needed: str = "chat:write", times: int | None = None) -> None:
        """Answer `method` for that channel with `error` (not_in_channel, channel_not_found, is_archived,
        missing_scope with `needed`), `times` times or until `clear_channel`. Digits ("503") are an HTTP
        status. This overrides what the channel's state and the scopes would give."""
        self.channel_errors[(method, channel_id)] = ChannelError(error, needed, times)

    def clear_channel(self, channel_id: str, method: str = "chat.postMessage") -> None:
        self.channel_errors.pop((method, channel_id), None)

    def fail_dm(self, user_id: str, error: str = "user_not_found") -> None:
        """conversations.open with that user answers `error` (user_not_found, user_disabled, cannot_dm_bot)."""
        self.dm_errors[user_id] = error

    def refuse_update(self, channel_id: str, ts: str) -> None:
        """chat.update of that message answers cant_update_message."""
        self.refused_updates.add((channel_id, ts))

    def new_trigger(self) -> str:
        """A trigger_id, as Slack sends with a command or a click: it opens one modal within 3 seconds."""
        self._triggers += 1
        trigger = f"{self._triggers}.{int(time.time())}.{self._triggers:032x}"
        self.triggers[trigger] = self.clock()
        return trigger

    def expire_trigger(self, trigger_id: str) -> None:
        self.triggers[trigger_id] = -math.inf

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The bot's messages in that channel (a user ID: the DM with them), oldest first, as they are now."""
        return list(self._messages.get(self._resolve(channel_id), {}).values())

    def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return self._messages.get(self._resolve(channel_id), {}).get(ts)

    def sent(self, channel_id: str) -> list[dict[str, Any]]:
        """The arguments of each accepted chat.postMessage to that channel, oldest first (unfurl flags, …)."""
        resolved = self._resolve(channel_id)
        return [args for channel, args in self._accepted_args() if channel == resolved]

    def posts_per_channel(self) -> Counter[str]:
        """Accepted chat.postMessage calls per channel ID; a 429 or an error does not count."""
        return Counter(channel for channel, _ in self._accepted_args())

    def dms_to(self, user_id: str) -> list[dict[str, Any]]:
        """The bot's DMs to that user, oldest first."""
        channel_id = self.dm_channels.get(user_id)
        return self.messages(channel_id) if channel_id else []

    def dm_channel(self, user_id: str) -> str:
        """The D channel of the bot's DM with that user (opened on first use, as conversations.open does)."""
        if user_id not in self.dm_channels:
            channel_id = self.dm_channels[user_id] = f"D0DM{len(self.dm_channels) + 1:05d}"
            self.channel(channel_id, is_im=True, user=user_id)
        return self.dm_channels[user_id]

    def _resolve(self, channel_id: str) -> str:
        # chat.postMessage to a user ID posts to the app's DM with them; Slack answers with the D channel.
        return self.dm_channel(channel_id) if re.fullmatch(r"[UW][A-Z0-9]+", channel_id) else channel_id

    def _accepted_args(self) -> list[tuple[str, dict[str, Any]]]:
        return [(a["channel"], a["args"]) for a in self._accepted]

    def _next_ts(self) -> str:
        # Unique and increasing, in Slack's "seconds.micro" form, so ordering and lookups by ts work.
        self._ts += 1
        return f"{1700000000 + self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

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

    @staticmethod
    async def _arguments(request: web.Request) -> dict[str, Any]:
        # Slack reads arguments from the query string and the body alike.
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json":
            args.update(json.loads(raw or b"{}"))
        elif raw:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        return args

    async def _api(self, request: web.Request) -> web.StreamResponse:
        body = await self._arguments(request)
        self.calls.append(Call(request.path, body, dict(request.headers)))
        trouble = await self._trouble(request)
        if trouble is not None:
            return trouble
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or body.get("token", "")
        method = request.match_info["method"]
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{request.url.port}/socket"})
        handler = self._methods().get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        if token != BOT_TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        headers = {"x-oauth-scopes": ",".join(self.scopes)}
        try:
            args = _decode_json_arguments(body)
            answer = handler(args)
        except InvalidArguments as exc:
            answer = {"ok": False, "error": exc.error, "response_metadata": {"messages": exc.messages}}
            if exc.error == "invalid_blocks":
                answer["errors"] = exc.messages
        if isinstance(answer, web.StreamResponse):
            answer.headers.update(headers)
            return answer
        return web.json_response(answer, headers=headers)

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any] | web.Response]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update_message,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
        }

    def _missing_scope(self, needed: str) -> dict[str, Any] | None:
        if needed in self.scopes:
            return None
        return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(self.scopes)}

    def _channel_refusal(self, method: str, channel_id: str) -> dict[str, Any] | web.Response | None:
        """A scripted error, then the scope, then what the channel's state implies, in Slack's order."""
        scripted = self.channel_errors.get((method, channel_id))
        if scripted is not None:
            if scripted.times is not None:
                scripted.times -= 1
                if scripted.times <= 0:
                    del self.channel_errors[(method, channel_id)]
            if scripted.error.isdigit():
                return web.json_response({"ok": False, "error": "internal_error"}, status=int(scripted.error))
            if scripted.error == "missing_scope":
                return {"ok": False, "error": "missing_scope", "needed": scripted.needed,
                        "provided": ",".join(self.scopes)}
            return {"ok": False, "error": scripted.error}
        unknown_dm = channel_id.startswith("D") and channel_id not in self.channels  # conversations.open makes one
        if not re.fullmatch(r"[CGD][A-Z0-9]+", channel_id) or unknown_dm:
            return {"ok": False, "error": "channel_not_found"}
        channel = self.channel(channel_id)
        if channel.is_private and not channel.is_member:
            return {"ok": False, "error": "channel_not_found"}  # a private channel is invisible to outsiders
        if method in SCOPES:
            public, private, im = SCOPES[method]
            missing = self._missing_scope(im if channel.is_im else private if channel.is_private else public)
            if missing is not None:
                return missing
        if method in ("chat.postMessage", "chat.update") and channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        if method == "chat.postMessage" and not channel.is_member and "chat:write.public" not in self.scopes:
            return {"ok": False, "error": "not_in_channel"}
        if method == "conversations.history" and not channel.is_member:
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "mlops",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _rate_limited(self, channel_id: str) -> web.Response | None:
        limits = self.rate_limits
        if limits.random_share:
            self._random = self._random or random.Random(limits.seed)
            if self._random.random() < limits.random_share:
                return self._429(channel_id, 1)
        now = self.clock()
        waits = []
        for key, limit in ((channel_id, limits.per_channel), ("", limits.workspace)):
            if limit is None:
                continue
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - limits.window:
                recent.popleft()
            if len(recent) >= limit:
                waits.append(recent[0] + limits.window - now)
        if waits:
            # Slack's Retry-After is whole seconds, never 0.
            return self._429(channel_id, max(1, math.ceil(max(waits))))
        return None

    def _429(self, channel_id: str, seconds: int) -> web.Response:
        self.ratelimited[channel_id] += 1
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                 headers={"Retry-After": str(seconds)})

    def _count_post(self, channel_id: str) -> None:
        now = self.clock()
        for key in (channel_id, ""):
            self._recent.setdefault(key, deque()).append(now)

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any] | web.Response:
        if "link_names" in args:
            self.problems.append(f"chat.postMessage to {args.get('channel')} sets link_names={args['link_names']!r}")
        if (missing := self._missing_scope("chat:write")) is not None:
            return missing
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        channel_id = self._resolve(str(args["channel"]))
        limited = self._rate_limited(channel_id)
        if limited is not None:
            return limited
        refusal = self._channel_refusal("chat.postMessage", channel_id)
        if refusal is not None:
            return refusal
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        if text is not None and len(str(text)) > 40_000:
            return {"ok": False, "error": "msg_too_long"}
        check_message_blocks(blocks)
        metadata = check_metadata(args.get("metadata"))
        ts = self._next_ts()
        message: dict[str, Any] = {
            "user": BOT_USER_ID, "type": "message", "ts": ts, "bot_id": BOT_ID, "app_id": APP_ID,
            "text": text or "", "team": TEAM_ID,
            "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "mlops", "deleted": False, "team_id": TEAM_ID},
        }
        if blocks:
            message["blocks"] = blocks
        if metadata is not None:
            message["metadata"] = metadata
        self._messages.setdefault(channel_id, {})[ts] = message
        self._accepted.append({"channel": channel_id, "args": args})
        self._count_post(channel_id)
        return {"ok": True, "channel": channel_id, "ts": ts, "message": message}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if (missing := self._missing_scope("chat:write")) is not None:
            return missing
        check_message_blocks(args.get("blocks"))
        return {"ok": True, "message_ts": self._next_ts()}

    def _update_message(self, args: dict[str, Any]) -> dict[str, Any] | web.Response:
        if "link_names" in args:
            self.problems.append(f"chat.update in {args.get('channel')} sets link_names={args['link_names']!r}")
        channel_id, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        refusal = self._channel_refusal("chat.update", channel_id)
        if refusal is not None:
            return refusal
        message = self._messages.get(channel_id, {}).get(ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if (channel_id, ts) in self.refused_updates:
            return {"ok": False, "error": "cant_update_message"}
        if not args.get("text") and args.get("blocks") is None and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        check_message_blocks(args.get("blocks"))
        if "text" in args:
            message["text"] = args["text"]
        if "blocks" in args:
            message["blocks"] = args["blocks"]
        metadata = check_metadata(args.get("metadata"))
        if metadata is not None:
            message["metadata"] = metadata
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"ok": True, "channel": channel_id, "ts": ts, "text": message["text"], "message": message}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or "")
        if not trigger:
            raise InvalidArguments("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        issued = self.triggers.get(trigger)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if self.clock() - issued > TRIGGER_LIFETIME:
            return {"ok": False, "error": "expired_trigger_id"}
        self.expire_trigger(trigger)  # one modal per trigger
        view = self._check_view(args.get("view"))
        self.views_opened.append(args)
        view_id = f"V0VIEW{len(self.views) + 1:05d}"
        stored = self._store_view(view_id, view, root=view_id)
        return {"ok": True, "view": stored}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((v["id"] for v in self.views.values() if v["external_id"] == args["external_id"]), None)
        if not view_id and not args.get("external_id"):
            raise InvalidArguments("invalid_arguments", ["[ERROR] view_id or external_id is required"])
        old = self.views.get(str(view_id))
        if old is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != old["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = self._check_view(args.get("view"))
        return {"ok": True, "view": self._store_view(old["id"], view, root=old["root_view_id"])}

    def _store_view(self, view_id: str, view: dict[str, Any], *, root: str) -> dict[str, Any]:
        stored = {
            "id": view_id, "team_id": TEAM_ID, "type": view["type"], "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", ""),
            "state": {"values": {}}, "title": view["title"], "close": view.get("close"),
            "submit": view.get("submit"), "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)), "previous_view_id": None,
            "root_view_id": root, "app_id": APP_ID, "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID, "bot_id": BOT_ID,
        }
        stored["hash"] = f"{len(self.calls)}.{hashlib.sha1(json.dumps(view).encode()).hexdigest()[:8]}"
        self.views[view_id] = stored
        return stored

    def _check_view(self, view: Any) -> dict[str, Any]:
        problems = view_problems(view)
        if problems:
            raise InvalidArguments("invalid_arguments", [f"[ERROR] {p}" for p in problems])
        assert isinstance(view, dict)
        for i, block in enumerate(view["blocks"]):
            # Slack makes up a random block_id/action_id when one is missing, and the submission's
            # state is keyed by them: the bot could not find its values.
            if block.get("type") == "input":
                if not block.get("block_id"):
                    self.problems.append(f"view input block {i} has no block_id")
                if not (block.get("element") or {}).get("action_id"):
                    self.problems.append(f"view input block {i} element has no action_id")
        return view

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if (missing := self._missing_scope("im:write")) is not None:
            return missing
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 1:
            return {"ok": False, "error": "not_supported"}  # a group DM (mpim:write) is not what the bot does
        user = users[0]
        if user in self.dm_errors:
            return {"ok": False, "error": self.dm_errors[user]}
        if user == BOT_USER_ID:
            return {"ok": False, "error": "cannot_dm_bot"}
        already = user in self.dm_channels
        channel_id = self.dm_channel(user)
        return {"ok": True, "no_op": already, "already_open": already, "channel": {"id": channel_id}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any] | web.Response:
        channel_id = str(args.get("channel") or "")
        refusal = self._channel_refusal("conversations.history", channel_id)
        if refusal is not None:
            return refusal
        limit = int(args.get("limit") or 100)
        inclusive = _truthy(args.get("inclusive"))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or math.inf)
        with_metadata = _truthy(args.get("include_all_metadata"))
        found = []
        for ts, message in reversed(self._messages.get(channel_id, {}).items()):
            t = float(ts)
            if (oldest <= t <= latest) if inclusive else (oldest < t < latest):
                shown = {k: v for k, v in message.items() if k != "metadata" or with_metadata}
                found.append(shown)
        page = found[:limit]
        return {"ok": True, "messages": page, "has_more": len(found) > limit, "pin_count": 0,
                "channel_actions_ts": None, "channel_actions_count": 0,
                "response_metadata": {"next_cursor": ""}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any] | web.Response:
        channel_id = str(args.get("channel") or "")
        refusal = self._channel_refusal("conversations.info", channel_id)
        if refusal is not None:
            return refusal
        return {"ok": True, "channel": self.channel(channel_id).info()}

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


# -- validation, after Slack's documented limits ------------------------------------------------------

def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _decode_json_arguments(args: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(args)
    for key in JSON_ARGUMENTS:
        if isinstance(decoded.get(key), str):
            try:
                decoded[key] = json.loads(decoded[key]) if decoded[key] else None
            except ValueError:
                error = "invalid_blocks_format" if key == "blocks" else "invalid_arguments"
                raise InvalidArguments(error, [f"[ERROR] {key} is not valid JSON"]) from None
    return decoded


def _plain_text(value: Any, pointer: str, limit: int, problems: list[str], *, required: bool = True) -> None:
    if value is None:
        if required:
            problems.append(f"missing required field [json-pointer:{pointer}]")
        return
    if not isinstance(value, dict) or value.get("type") != "plain_text" or not isinstance(value.get("text"), str):
        problems.append(f"must be a plain_text text object [json-pointer:{pointer}]")
        return
    if len(value["text"]) > limit:
        problems.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


def _text_object(value: Any, pointer: str, limit: int, problems: list[str]) -> None:
    if not isinstance(value, dict) or value.get("type") not in ("plain_text", "mrkdwn"):
        problems.append(f"must be a text object [json-pointer:{pointer}]")
    elif len(value.get("text") or "") > limit:
        problems.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


def block_problems(blocks: list[Any], pointer: str) -> list[str]:
    problems: list[str] = []
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"missing required field: type [json-pointer:{where}]")
            continue
        if len(block.get("block_id") or "") > 255:
            problems.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
        kind = block["type"]
        if kind == "header":
            _plain_text(block.get("text"), f"{where}/text", 150, problems)
        elif kind == "section":
            if "text" in block:
                _text_object(block["text"], f"{where}/text", 3000, problems)
            elif not block.get("fields"):
                problems.append(f"must provide text or fields [json-pointer:{where}]")
            fields = block.get("fields") or []
            if len(fields) > 10:
                problems.append(f"must have at most 10 items [json-pointer:{where}/fields]")
            for j, f in enumerate(fields):
                _text_object(f, f"{where}/fields/{j}", 2000, problems)
        elif kind == "context":
            if not 1 <= len(block.get("elements") or []) <= 10:
                problems.append(f"must have 1 to 10 items [json-pointer:{where}/elements]")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                problems.append(f"must have 1 to 25 items [json-pointer:{where}/elements]")
            for j, element in enumerate(elements):
                if element.get("type") == "button":
                    _plain_text(element.get("text"), f"{where}/elements/{j}/text", 75, problems)
                    if len(element.get("value") or "") > 2000 or len(element.get("action_id") or "") > 255:
                        problems.append(f"must be less than 2001 characters [json-pointer:{where}/elements/{j}]")
        elif kind == "input":
            _plain_text(block.get("label"), f"{where}/label", 2000, problems)
            _plain_text(block.get("hint"), f"{where}/hint", 2000, problems, required=False)
            problems += _input_element_problems(block.get("element"), f"{where}/element")
        elif kind not in ("divider", "image", "rich_text", "context_actions"):
            problems.append(f"unknown block type {kind!r} [json-pointer:{where}/type]")
    return problems


def _input_element_problems(element: Any, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(element, dict) or "type" not in element:
        return [f"missing required field: element [json-pointer:{where}]"]
    if len(element.get("action_id") or "") > 255:
        problems.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    if element["type"] == "plain_text_input":
        _plain_text(element.get("placeholder"), f"{where}/placeholder", 150, problems, required=False)
        max_length, min_length = element.get("max_length"), element.get("min_length")
        if max_length is not None and not (isinstance(max_length, int) and 1 <= max_length <= 3000):
            problems.append(f"must be between 1 and 3000 [json-pointer:{where}/max_length]")
        if min_length is not None and not (isinstance(min_length, int) and 0 <= min_length <= 3000):
            problems.append(f"must be between 0 and 3000 [json-pointer:{where}/min_length]")
        initial = element.get("initial_value")
        if initial is not None:
            if not isinstance(initial, str):
                problems.append(f"must be a string [json-pointer:{where}/initial_value]")
            elif isinstance(max_length, int) and len(initial) > max_length:
                problems.append(f"must be at most max_length characters [json-pointer:{where}/initial_value]")
    return problems


def check_message_blocks(blocks: Any) -> None:
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise InvalidArguments("invalid_blocks_format", ["[ERROR] blocks must be an array"])
    problems = [] if len(blocks) <= 50 else ["no more than 50 items allowed [json-pointer:/blocks]"]
    problems += block_problems(blocks, "/blocks")
    problems += [f"input blocks are for modals [json-pointer:/blocks/{i}]"
                 for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") == "input"]
    if problems:
        raise InvalidArguments("invalid_blocks", [f"[ERROR] {p}" for p in problems])


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise InvalidArguments("invalid_metadata_format", ["[ERROR] metadata must be an object"])
    if not isinstance(metadata.get("event_type"), str) or not isinstance(metadata.get("event_payload"), dict):
        raise InvalidArguments("invalid_metadata_schema",
                               ["[ERROR] metadata needs event_type (string) and event_payload (object)"])
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def view_problems(view: Any) -> list[str]:
    """Why views.open/update would answer invalid_arguments, as Slack words it."""
    if not isinstance(view, dict):
        return ["missing required field: view [json-pointer:/view]"]
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("must be 'modal' [json-pointer:/view/type]")
    _plain_text(view.get("title"), "/view/title", 24, problems)
    _plain_text(view.get("submit"), "/view/submit", 24, problems, required=False)
    _plain_text(view.get("close"), "/view/close", 24, problems, required=False)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*problems, "missing required field: blocks [json-pointer:/view/blocks]"]
    if len(blocks) > 100:
        problems.append("no more than 100 items allowed [json-pointer:/view/blocks]")
    if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks) and not view.get("submit"):
        problems.append("submit is required when an input block is present [json-pointer:/view/submit]")
    for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        if len(str(view.get(key) or "")) > limit:
            problems.append(f"must be less than {limit + 1} characters [json-pointer:/view/{key}]")
    return problems + block_problems(blocks, "/view/blocks")
