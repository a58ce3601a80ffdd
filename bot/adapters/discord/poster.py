"""DiscordPoster: bot.app.posting.Poster over discord.py's client, for what the bot posts on its own.

Review posts, their updates after a decision and the weekly digest are channel messages; the note to a
suggester is a DM. Unlike interaction responses, these need the bot's channel permissions (View Channel,
Send Messages, Embed Links: what `mlops-bot discord invite-url` asks for), so every refusal becomes a
PostError that says what to fix.

Exactly-once: a post's key becomes the message nonce with enforce_nonce, and Discord answers a repeat
of that nonce in that channel within a few minutes with the message it created the first time. A retry
after a timeout therefore never posts twice, and `find` has nothing to look up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
import discord

from bot.adapters.discord.commands import NO_MENTIONS, build_view
from bot.adapters.discord.render import render
from bot.app.posting import PostError
from bot.core.reply import Reply

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_NONCE = 25  # characters: Discord refuses longer nonces
POST_TIMEOUT = 30.0  # seconds for one post, discord.py's own retries of 5xx and short rate limits included
REINVITE = "re-invite the bot with the URL `mlops-bot discord invite-url` prints, or grant it {what} on that channel"
NEEDED = (("view_channel", "View Channel"), ("send_messages", "Send Messages"), ("embed_links", "Embed Links"))


def nonce(key: str) -> str:
    """A nonce for `key`: the same key gives the same nonce, within Discord's 25 characters."""
    return hashlib.sha256(key.encode()).hexdigest()[:MAX_NONCE]


class DiscordPoster:
    platform = "discord"

    def __init__(self, client: discord.Client, *, guild_id: int | None = None,
                 timeout: float = POST_TIMEOUT) -> None:
        self.client = client
        self.guild_id = guild_id
        self.timeout = timeout

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None,
                   metadata: dict[str, Any] | None = None) -> str:
        """`metadata` is Slack's; Discord messages have none, and the nonce does what `find` would."""
        channel = self._channel(channel_id)
        rendered = render(reply)
        view = build_view(rendered)
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        if key is not None:
            kwargs["nonce"] = nonce(key)  # discord.py sends enforce_nonce with every nonce
        message = await self._call(f"post in channel {channel_id}", channel_id, channel.send(
            embeds=rendered.embeds, allowed_mentions=NO_MENTIONS, **kwargs))
        return str(message.id)

    async def update(self, channel_id: str, ref: str, reply: Reply) -> None:
        channel = self._channel(channel_id)
        message_id = _snowflake(ref, "message")
        rendered = render(reply)
        # view=None removes the components: a decided review post keeps no Approve or Reject.
        await self._call(f"edit of message {ref} in channel {channel_id}", channel_id,
                         channel.get_partial_message(message_id).edit(
                             embeds=rendered.embeds, view=build_view(rendered), allowed_mentions=NO_MENTIONS))

    async def dm(self, user_id: str, reply: Reply) -> None:
        user = discord.Object(id=_snowflake(user_id, "user"))
        rendered = render(reply)

        async def send() -> None:
            channel = await self.client.create_dm(user)  # type: ignore[arg-type]  # an Object is a Snowflake
            await channel.send(embeds=rendered.embeds, allowed_mentions=NO_MENTIONS)

        await self._call(f"DM to user {user_id}", None, send())

    async def can_post(self, channel_id: str) -> str | None:
        try:
            snowflake = _snowflake(channel_id, "channel")
        except PostError as exc:
            return exc.hint
        channel = self.client.get_channel(snowflake)
        if channel is None:  # not in the cache: in a server the bot is not in, or gone
            try:
                channel = await self._call(f"look-up of channel {channel_id}", channel_id,
                                           self.client.fetch_channel(snowflake))
            except PostError as exc:
                return exc.hint or str(exc)
        if not isinstance(channel, discord.abc.GuildChannel | discord.Thread) or not isinstance(
                channel, discord.abc.Messageable):
            return f"Channel {channel_id} is not a text channel of a server: pick one where members can write."
        where = f"#{channel.name} ({channel_id})"
        if self.guild_id is not None and channel.guild.id != self.guild_id:
            return (f"Channel {where} is in another server than DISCORD_GUILD_ID ({self.guild_id}): pick a channel "
                    "of the server the bot serves.")
        me = channel.guild.me
        if me is None:  # the bot's own member normally comes with the server at connect
            assert self.client.user is not None
            try:
                me = await self._call(f"look-up of the bot in server {channel.guild.id}", channel_id,
                                      channel.guild.fetch_member(self.client.user.id))
            except PostError as exc:
                return exc.hint or str(exc)
        permissions = channel.permissions_for(me)
        missing = [label for attribute, label in NEEDED if not getattr(permissions, attribute)]
        if not missing:
            return None
        what = _words(missing)
        return f"The bot lacks {what} in {where}: {REINVITE.format(what=what)}."

    # Discord checks an enforced nonce against "the past few minutes" of the channel's messages. Trusted for
    # less than that: a repeat sooner returns the first message; later, the bot cannot tell.
    NONCE_TRUST = dt.timedelta(seconds=150)

    async def find(self, channel_id: str, key: str, since: dt.datetime) -> str | None:
        """None when posting again is safe: `post` sends the key as an enforced nonce, and within Discord's
        nonce window a repeat returns the first message instead of a second one. Past the window (the
        attempt that may have posted began before `since` + NONCE_TRUST) the bot cannot tell, and says so
        (PostError): reading the history would need Read Message History, which the bot does not ask for."""
        if dt.datetime.now(dt.UTC) - since > self.NONCE_TRUST:
            raise PostError(f"a post begun at {since:%H:%M:%S} UTC may have gone out; Discord's nonce no longer "
                            "tells", code="unknown", permanent=True)
        return None

    # -- errors -------------------------------------------------------------------------------------

    def _channel(self, channel_id: str) -> discord.PartialMessageable:
        # A partial channel sends without a look-up first (and without the cache, which may not hold it yet).
        return self.client.get_partial_messageable(_snowflake(channel_id, "channel"))

    async def _call(self, what: str, channel_id: str | None, work: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(work, self.timeout)
        except PostError:
            raise
        except discord.Forbidden as exc:
            error = _forbidden(what, channel_id, exc)
        except discord.NotFound as exc:
            error = _not_found(what, channel_id, exc)
        except discord.RateLimited as exc:  # longer than the client's max_ratelimit_timeout: do not sleep on it
            error = PostError(f"{what}: rate limited for {exc.retry_after:.0f} s", code="rate_limited",
                              permanent=False, retry_after=exc.retry_after)
        except discord.DiscordServerError as exc:
            error = PostError(f"{what}: Discord answered {exc.status}", code="server_error", permanent=False)
        except discord.HTTPException as exc:
            if exc.status == 429:  # refused before reaching Discord (Cloudflare): as transient as any 429
                error = PostError(f"{what}: rate limited (HTTP 429)", code="rate_limited", permanent=False)
            else:
                error = PostError(f"{what}: HTTP {exc.status} code {exc.code}: {_first_line(exc.text)}",
                                  code=f"http_{exc.status}", permanent=True,
                                  hint="Discord refused the bot's message; the log has the details.")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = PostError(f"{what}: {exc.__class__.__name__}: {_first_line(str(exc))}", code="network",
                              permanent=False)
        if error.code in ("missing_access", "missing_permissions", "unknown_channel"):
            # The setup is wrong, and stays wrong until someone fixes it: say so where operators look.
            log.warning("discord: %s%s", error, f" ({error.hint})" if error.hint else "")
        raise error from None


def _forbidden(what: str, channel_id: str | None, exc: discord.Forbidden) -> PostError:
    where = f"channel {channel_id}" if channel_id else "that channel"
    if exc.code == 50007:
        return PostError(f"{what}: the member accepts no DMs from the bot (50007)", code="dm_closed",
                         permanent=True, hint="The member does not accept direct messages from the bot.")
    if exc.code == 50001:
        return PostError(f"{what}: Missing Access (50001)", code="missing_access", permanent=True,
                         hint=f"The bot cannot see {where}: {REINVITE.format(what='View Channel')}.")
    if exc.code == 50013:
        what_needed = "Send Messages and Embed Links"
        return PostError(f"{what}: Missing Permissions (50013)", code="missing_permissions", permanent=True,
                         hint=f"The bot may not post in {where}: {REINVITE.format(what=what_needed)}.")
    return PostError(f"{what}: Forbidden (403, code {exc.code}): {_first_line(exc.text)}", code="forbidden",
                     permanent=True, hint=f"Discord does not let the bot post in {where}.")


def _not_found(what: str, channel_id: str | None, exc: discord.NotFound) -> PostError:
    if exc.code == 10003:
        return PostError(f"{what}: Unknown Channel (10003)", code="unknown_channel", permanent=True,
                         hint=f"There is no channel {channel_id} (deleted, or a wrong id): set the setting that "
                              "names it (DISCORD_REVIEW_CHANNEL, say) to an existing channel's id (right-click it, "
                              "Copy Channel ID).")
    if exc.code == 10008:
        return PostError(f"{what}: Unknown Message (10008)", code="unknown_message", permanent=True,
                         hint="The message was deleted.")
    return PostError(f"{what}: Not Found (404, code {exc.code})", code="not_found", permanent=True,
                     hint="Discord does not know what the bot tried to post to.")


def _snowflake(value: str, what: str) -> int:
    text = str(value).strip().lstrip("#")
    if not text.isdigit():
        raise PostError(f"{value!r} is not a Discord {what} id", code="bad_id", permanent=True,
                        hint=f"{value!r} is not a Discord {what} id: use the number Discord shows with "
                             "Developer Mode on (right-click, Copy ID).")
    return int(text)


def _words(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0][:200] if lines else ""
