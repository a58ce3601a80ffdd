"""SlackPoster: bot.app.posting.Poster over the Slack Web API (review posts, their updates, DMs, digests).

Replies to a member's command travel back through its response_url and need no scope. Posting on the
bot's own initiative does, and a workspace may still run the old `commands`-only install: every refusal
becomes a PostError whose `hint` says, in one sentence a moderator can act on, what to grant or do.

    chat:write          chat.postMessage / chat.update (review posts, digests, DMs)
    chat:write.public   chat.postMessage in a public channel the bot has not joined (the digest)
    im:write            conversations.open (DMs to the member who suggested)
    channels:read, groups:read        conversations.info (can_post)
    channels:history, groups:history  conversations.history (find: did the digest go out before a crash?)
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import math
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import RETRY_JITTER, CappedRateLimitRetryHandler, retry_handlers
from bot.adapters.slack.render import render_message
from bot.app.posting import PostError, PostWindow
from bot.core.reply import Reply

log = logging.getLogger(__name__)

EVENT_TYPE = "mlops_post"
MANIFEST = "deploy/slack/manifest.yaml"
# What each optional scope is for, as the start-up log and the README say it.
FEATURE_SCOPES: dict[str, str] = {
    "chat:write": "review posts, their updates, digests and DMs",
    "chat:write.public": "the digest in public channels the bot has not joined",
    "im:write": "DMs to members about their suggestions",
    "channels:read": "checking the bot may post in a public channel",
    "groups:read": "checking the bot may post in a private channel",
    "channels:history": "telling whether a digest went out before a restart (public channels)",
    "groups:history": "telling whether a digest went out before a restart (private channels)",
}
# A history longer than this many pages since `since` is not searched to the end: the caller is told it
# cannot know, which is safer than a None that would post the digest twice.
MAX_HISTORY_PAGES = 20
HISTORY_PAGE = 200
# Slack's answers for a DM that cannot be delivered, whoever is to blame: the member left, was
# deactivated, is a bot, turned off the app's Messages tab, or cannot be seen from this workspace.
DM_CLOSED = frozenset({"user_not_found", "user_disabled", "cannot_dm_bot", "user_not_visible",
                       "messages_tab_disabled", "not_allowed", "users_not_found", "is_archived"})
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# chat.postMessage accepted across the workspace per WORKSPACE_WINDOW seconds: the budget the bot is designed
# for (DESIGN.md), on top of Slack's ~1 message/s per channel. A workspace that allows less answers 429 with
# Retry-After, which each post waits out.
WORKSPACE_POSTS = 50
WORKSPACE_WINDOW = 1.0


def granted_scopes(headers: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The scopes of the token, from the `x-oauth-scopes` header every Web API answer carries; None if absent."""
    for name, value in (headers or {}).items():
        if name.lower() == "x-oauth-scopes":
            text = value[0] if isinstance(value, list) and value else value
            return frozenset(s.strip() for s in str(text or "").split(",") if s.strip())
    return None


def missing_scopes(scopes: frozenset[str]) -> dict[str, str]:
    """The optional scopes this token lacks, each with what it is for."""
    return {scope: why for scope, why in FEATURE_SCOPES.items() if scope not in scopes}


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(text))
            except (TypeError, ValueError):
                return None
    return None


class SlackPoster:
    """Posts as the bot. `client` is an AsyncWebClient with the bot token and SLACK_API_URL; it should retry
    429s for Retry-After (bot.adapters.slack.app.retry_handlers): what is left after its retries is a
    PostError(code="ratelimited", permanent=False, retry_after=...).

    Every chat.postMessage, a digest's, a review post's or a DM's, takes a place in one PostWindow of
    `workspace_posts` per `workspace_window` seconds, and so does every retry of it: the client's 429
    retries are made here, with the same count and longest wait, each through the window. Left to
    slack_sdk, a retry after Retry-After went out past the window, on top of the posts it was pacing, and
    overran the workspace budget into more 429s (a fan-out of 1,000 digests got ~270 instead of the ~50
    Slack refused at random)."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, bot_user_id: str = "", bot_id: str = "",
                 bot_name: str = "mlops-bot", scopes: frozenset[str] | None = None,
                 workspace_posts: int = WORKSPACE_POSTS, workspace_window: float = WORKSPACE_WINDOW) -> None:
        self.client = client
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name or "mlops-bot"
        self.scopes = scopes  # as of the last auth.test; None when Slack did not say
        self.window = PostWindow(workspace_posts, workspace_window)
        self._post_client, self._post_retries, self._post_max_wait = _posting_client(client)

    @classmethod
    def create(cls, token: str, *, api_url: str | None = None, session: aiohttp.ClientSession | None = None,
               **kwargs: Any) -> SlackPoster:
        client = AsyncWebClient(token=token, base_url=api_url or "https://slack.com/api/", session=session,
                                retry_handlers=retry_handlers(), logger=logging.getLogger("bot.adapters.slack.web"))
        return cls(client, **kwargs)

    @property
    def invite(self) -> str:
        return f"Invite the bot to this channel: /invite @{self.bot_name}"

    async def refresh(self) -> frozenset[str] | None:
        """auth.test again: who the bot is and the scopes granted now (an admin may have reinstalled the app)."""
        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            raise self._error(exc, "auth.test", "") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _network(exc, "auth.test") from None
        self.bot_user_id = str(response.get("user_id") or self.bot_user_id)
        self.bot_id = str(response.get("bot_id") or self.bot_id)
        self.bot_name = str(response.get("user") or self.bot_name)
        self.scopes = granted_scopes(response.headers)
        return self.scopes

    # -- Poster ---------------------------------------------------------------------------------------

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None,
                   metadata: dict[str, Any] | None = None) -> str:
        message = render_message(reply)
        if key is not None or metadata:
            # Message metadata survives in the channel's history: `find` reads the key back after a crash.
            payload = {**(metadata or {}), **({"key": key} if key is not None else {})}
            message["metadata"] = {"event_type": EVENT_TYPE, "event_payload": payload}
        response = await self._post_message(channel_id, channel=channel_id, **message)
        return str(response["ts"])

    async def update(self, channel_id: str, ref: str, reply: Reply) -> None:
        # A decided review post keeps no buttons: a second click could only be refused.
        message = render_message(replace(reply, buttons=()))
        await self._call("chat.update", channel_id, self.client.chat_update, channel=channel_id, ts=ref,
                         text=message["text"], blocks=message["blocks"])

    async def dm(self, user_id: str, reply: Reply) -> None:
        opened = await self._call("conversations.open", user_id, self.client.conversations_open, dm=True,
                                  users=user_id)
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            raise PostError(f"conversations.open for {user_id} gave no channel", code="dm_closed", permanent=True,
                            hint="Slack opened no direct message with that member.")
        await self._post_message(channel, dm=True, channel=channel, **render_message(reply))

    async def can_post(self, channel_id: str) -> str | None:
        try:
            scopes = await self.refresh()
        except PostError as exc:
            return f"Could not ask Slack which scopes the app has ({exc.code}); try again in a minute."
        if scopes is not None and "chat:write" not in scopes:
            return self._scope_hint("chat:write")
        try:
            info = await self.client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            error = self._error(exc, "conversations.info", channel_id)
            if not error.permanent:
                return f"Could not check channel {channel_id} (Slack answered {error.code}); try again in a minute."
            return error.hint
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Could not reach Slack to check channel {channel_id} ({exc.__class__.__name__}); try again."
        channel = info.get("channel") or {}
        if channel.get("is_archived"):
            return f"Channel {_name(channel, channel_id)} is archived: unarchive it or choose another channel."
        if channel.get("is_member") or channel.get("is_im"):
            return None
        if channel.get("is_private"):
            return self.invite
        if scopes is None or "chat:write.public" in scopes:
            return None
        return f"{self.invite} (or reinstall the app from the manifest to grant it the chat:write.public scope)"

    async def find(self, channel_id: str, key: str, since: dt.datetime) -> str | None:
        oldest = f"{since.timestamp():.6f}"
        cursor: str | None = None
        for _ in range(MAX_HISTORY_PAGES):
            arguments: dict[str, Any] = {"channel": channel_id, "oldest": oldest, "include_all_metadata": True,
                                         "limit": HISTORY_PAGE}
            if cursor:
                arguments["cursor"] = cursor
            response = await self._call("conversations.history", channel_id, self.client.conversations_history,
                                        **arguments)
            for message in response.get("messages") or []:
                if self._ours(message) and _key_of(message) == key:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or not cursor:
                return None
        raise PostError(f"more than {MAX_HISTORY_PAGES * HISTORY_PAGE} messages in {channel_id} since {oldest}",
                        code="history_too_long", permanent=False,
                        hint="The channel has too many messages since then to tell whether the post went out.")

    # -- plumbing -------------------------------------------------------------------------------------

    def _ours(self, message: Mapping[str, Any]) -> bool:
        if self.bot_id and message.get("bot_id"):
            return bool(message.get("bot_id") == self.bot_id)
        if self.bot_user_id:
            return bool(message.get("user") == self.bot_user_id)
        return True  # whoever we are was never learnt: the metadata type is ours alone

    async def _post_message(self, where: str, *, dm: bool = False, **arguments: Any) -> Any:
        """chat.postMessage, each try through the workspace window; a 429 gives its place back and is
        tried again after Retry-After, as often and as long as the client's own 429 handler would."""
        attempt = 0
        while True:
            async with self.window.place() as place:
                try:
                    return await self._call("chat.postMessage", where, self._post_client.chat_postMessage, dm=dm,
                                            **arguments)
                except PostError as exc:
                    if exc.code != "ratelimited":
                        raise
                    place.refused()
                    wait = 1.0 if exc.retry_after is None else exc.retry_after
                    if attempt >= self._post_retries:
                        raise
                    if wait > self._post_max_wait:
                        log.warning("Slack asked to wait %.0f s before posting in %s again; not waiting over %.0f s",
                                    wait, where, self._post_max_wait)
                        raise
            attempt += 1
            await asyncio.sleep(wait + random.uniform(0, RETRY_JITTER))

    async def _call(self, method: str, where: str, call: Any, *, dm: bool = False, **arguments: Any) -> Any:
        try:
            return await call(**arguments)
        except SlackApiError as exc:
            raise self._error(exc, method, where, dm=dm) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _network(exc, method) from None

    def _scope_hint(self, scope: str) -> str:
        return f"The app lacks the {scope} scope: reinstall it from the manifest ({MANIFEST})."

    def _error(self, exc: SlackApiError, method: str, where: str, *, dm: bool = False) -> PostError:
        """Slack's refusal as a PostError: permanent or not, and what a moderator can do about it."""
        response = exc.response
        status = int(getattr(response, "status_code", 200) or 200)
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
        code = str(data.get("error") or f"http_{status}")
        detail = f"Slack refused {method} for {where or 'the bot'}: {code} (HTTP {status})"
        if status == 429 or code == "ratelimited":
            wait = _retry_after(getattr(response, "headers", None))
            return PostError(detail, code="ratelimited", permanent=False, retry_after=wait,
                             hint="Slack is rate-limiting the bot; it will try again shortly.")
        if status >= 500 or code in TRANSIENT:
            return PostError(detail, code="server_error" if status >= 500 else code, permanent=False,
                             hint="Slack had a problem; the bot will try again shortly.")
        if code == "missing_scope":
            needed = str(data.get("needed") or "a scope").split(",")[0]
            return PostError(f"{detail}; needed {needed}", code="missing_scope", permanent=True,
                             hint=self._scope_hint(needed))
        if dm and code in DM_CLOSED:
            return PostError(detail, code="dm_closed", permanent=True,
                             hint="That member cannot receive direct messages from the app.")
        if code == "not_in_channel":
            return PostError(detail, code=code, permanent=True, hint=self.invite)
        if code == "channel_not_found":
            return PostError(detail, code=code, permanent=True,
                             hint=f"Channel {where} was not found: use the channel's ID (C…, at the bottom of its "
                                  f"details) and, for a private channel, invite the bot: /invite @{self.bot_name}")
        if code == "is_archived":
            return PostError(detail, code=code, permanent=True,
                             hint=f"Channel {where} is archived: unarchive it or choose another channel.")
        if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
            return PostError(detail, code=code, permanent=True,
                             hint="Slack no longer accepts SLACK_BOT_TOKEN: reinstall the app and update the token.")
        return PostError(detail, code=code, permanent=True, hint=f"Slack refused the post ({code}).")


def _posting_client(client: AsyncWebClient) -> tuple[AsyncWebClient, int, float]:
    """The client for chat.postMessage: `client` (same session, token and URL) without its 429 handlers,
    with how often and how long those would have waited, for SlackPoster._post_message to do it paced."""
    limiters = [h for h in client.retry_handlers if isinstance(h, AsyncRateLimitErrorRetryHandler)]
    posting = copy.copy(client)
    posting.retry_handlers = [h for h in client.retry_handlers if h not in limiters]
    retries = max((h.max_retry_count for h in limiters), default=0)
    max_wait = max((h.max_wait if isinstance(h, CappedRateLimitRetryHandler) else math.inf for h in limiters),
                   default=0.0)
    return posting, retries, max_wait


def _network(exc: BaseException, method: str) -> PostError:
    return PostError(f"{method}: Slack unreachable ({exc.__class__.__name__})", code="network", permanent=False,
                     hint="Slack could not be reached; the bot will try again shortly.")


def _key_of(message: Mapping[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key is not None else None


def _name(channel: Mapping[str, Any], channel_id: str) -> str:
    return f"#{channel['name']}" if channel.get("name") else channel_id
