"""Posting on a platform outside a member's request: review posts, their updates after a decision, DMs to
the member who suggested, the weekly digest. One `Poster` per configured platform, made by its adapter.

This is the transport boundary of the app layer: the services (suggestions, digest) decide what to post
and when; a Poster only renders a Reply for its platform and sends it.

    PostError                     a post the platform refused
     ├── permanent=True           it will not succeed by retrying (missing scope, not in channel, gone)
     └── permanent=False          it may (rate limited, 5xx, network); retry_after when the platform said

    PostWindow                    at most N posts accepted in any window of time, as a platform counts them
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
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


class Place:
    """One post's place in a PostWindow, from sending until the platform answered."""

    __slots__ = ("counted",)

    def __init__(self) -> None:
        self.counted = True

    def refused(self) -> None:
        """The platform refused the post for its rate (a 429): it did not count it, so neither do we."""
        self.counted = False


class PostWindow:
    """At most `limit` posts accepted in any `window` seconds, the way a platform counts them (Slack's
    workspace budget for chat.postMessage): each post holds a place from the moment it is sent until
    `window` after its answer arrived. The platform counted it somewhere in between, so a post sent when a
    place frees can never find the window full, however late the answers come. A post refused for its rate
    gives its place back at once: the platform did not count it, and keeping its place would leave the
    budget unused while the post waits out its Retry-After. A post that failed otherwise, or was cut off,
    may have been counted and keeps its place.

    Places are handed out in the order asked for (asyncio.Lock is fair), so a post waiting out a
    Retry-After queues behind those already waiting rather than being overtaken for ever. The clock is the
    event loop's unless given (tests); it paces an API and decides nothing about schedules."""

    def __init__(self, limit: int, window: float = 1.0, *, clock: Callable[[], float] | None = None) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"a window needs a limit ≥ 1 and a length > 0, not {limit} per {window} s")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sending = 0  # sent, not answered yet
        self._counted: deque[float] = deque()  # when each answered, counted post leaves the window
        self._turn = asyncio.Lock()
        self._freed = asyncio.Event()

    def clock(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def delay(self) -> float | None:
        """0 when a post may be sent now; else the seconds until a place frees, or None when only an
        answer still to come can free one."""
        now = self.clock()
        while self._counted and self._counted[0] <= now:
            self._counted.popleft()
        if self._sending + len(self._counted) < self.limit:
            return 0.0
        return self._counted[0] - now if self._counted else None

    @asynccontextmanager
    async def place(self) -> AsyncIterator[Place]:
        """Wait for a place, hold it while the post is sent; `Place.refused()` when the platform said 429."""
        async with self._turn:
            while (delay := self.delay()) != 0:
                self._freed.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait(), delay)
            self._sending += 1
        place = Place()
        try:
            yield place
        finally:
            self._sending -= 1
            if place.counted:
                self._counted.append(self.clock() + self.window)
            self._freed.set()
