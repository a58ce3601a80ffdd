"""Posting on a platform outside a member's request: review posts, their updates after a decision, DMs to
the member who suggested, the weekly digest. One `Poster` per configured platform, made by its adapter.

This is the transport boundary of the app layer: the services (suggestions, digest) decide what to post
and when; a Poster only renders a Reply for its platform and sends it.

    PostError                     a post the platform refused
     ├── permanent=True           it will not succeed by retrying (missing scope, not in channel, gone)
     └── permanent=False          it may (rate limited, 5xx, network); retry_after when the platform said
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.reply import Reply
from bot.errors import PlatformError


class PostError(PlatformError):
    def __init__(self, detail: str, *, code: str, permanent: bool, hint: str = "",
                 retry_after: float | None = None) -> None:
        # `hint` is what a moderator can do about it, in words: "invite the bot to #reviews (/invite @mlops-bot)".
        super().__init__(detail, user_message=hint or "The chat platform refused the bot's post.")
        self.code = code
        self.permanent = permanent
        self.hint = hint
        self.retry_after = retry_after


class Poster(Protocol):
    platform: str

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None,
                   metadata: dict[str, Any] | None = None) -> str:
        """Post `reply` in a channel; returns the message's reference (Slack ts, Discord message id).

        `key` identifies the post for exactly-once: Discord sends it as the message nonce with
        enforce_nonce (a retry within minutes returns the first message); Slack puts it, with `metadata`,
        in the message's metadata so that `find` can tell later whether it went out."""
        ...

    async def update(self, channel_id: str, ref: str, reply: Reply) -> None:
        """Replace a message the bot posted (a review post after its decision: no more buttons)."""
        ...

    async def dm(self, user_id: str, reply: Reply) -> None:
        """A direct message; PostError(code="dm_closed", permanent=True) when the member accepts none."""
        ...

    async def can_post(self, channel_id: str) -> str | None:
        """None when the bot can post in that channel, else what is missing, said so an admin can fix it."""
        ...

    async def find(self, channel_id: str, key: str, since: dt.datetime) -> str | None:
        """The reference of a message with this `key` posted since `since`, None when there is none, or
        raise PostError when the platform does not let the bot tell (then the caller must not post again)."""
        ...


@dataclass
class Posters:
    """The posters of the platforms this process serves, by platform name."""

    by_platform: dict[str, Poster] = field(default_factory=dict)

    def add(self, poster: Poster) -> None:
        self.by_platform[poster.platform] = poster

    def get(self, platform: str) -> Poster | None:
        return self.by_platform.get(platform)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_platform.values())
