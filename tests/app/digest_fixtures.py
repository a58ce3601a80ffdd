"""What the digest tests share: a clock they move, a Poster that keeps what it was sent (a transport fake at
the Poster boundary, standing in for a platform), and a DigestService over a real database file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.app.digest import DigestService
from bot.app.posting import PostError, Posters
from bot.core.context import Community
from bot.core.permissions import Moderators
from bot.core.reply import Reply
from bot.service import BotService, Request
from bot.storage import Store, open_store

MOD = "U0MOD"
MEMBER = "U0MEMBER"
# Monday 2 March 2026, 08:00 UTC = 09:00 in Berlin (CET, before the clocks go forward on 29 March).
MONDAY = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, now: dt.datetime) -> dt.datetime:
        self.now = now
        return now


@dataclass
class Sent:
    channel: str
    reply: Reply
    key: str | None
    metadata: dict[str, Any] | None
    ref: str


@dataclass
class ListPoster:
    """Keeps every post; scripted refusals per channel; `find` looks through what it kept, as a platform's
    history would (or raises, as one that cannot be read)."""

    platform: str = "slack"
    sent: list[Sent] = field(default_factory=list)
    refuse: dict[str, list[PostError]] = field(default_factory=dict)  # channel -> errors, next first
    cannot: dict[str, str] = field(default_factory=dict)  # channel -> what can_post says
    find_error: PostError | None = None
    finds: list[tuple[str, str]] = field(default_factory=list)

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None,
                   metadata: dict[str, Any] | None = None) -> str:
        queue = self.refuse.get(channel_id)
        if queue:
            error = queue[0] if len(queue) == 1 and queue[0].permanent else queue.pop(0)
            raise error
        ref = f"{self.platform}-{len(self.sent) + 1}"
        self.sent.append(Sent(channel_id, reply, key, metadata, ref))
        return ref

    async def update(self, channel_id: str, ref: str, reply: Reply) -> None:
        raise AssertionError("the digest never updates a post")

    async def dm(self, user_id: str, reply: Reply) -> None:
        raise AssertionError("the digest never sends a DM")

    async def can_post(self, channel_id: str) -> str | None:
        return self.cannot.get(channel_id)

    async def find(self, channel_id: str, key: str, since: dt.datetime) -> str | None:
        self.finds.append((channel_id, key))
        if self.find_error is not None:
            raise self.find_error
        return next((s.ref for s in self.sent if s.channel == channel_id and s.key == key), None)

    def to(self, channel: str) -> list[Sent]:
        return [s for s in self.sent if s.channel == channel]


def bot_service(catalog: Any, clock: Clock, **community: Any) -> BotService:
    bot = BotService(catalog, community=Community(moderators=Moderators(slack_users=frozenset({MOD})),
                                                  **{"digest_timezone": "Europe/Berlin", **community}))
    bot.clock = clock
    return bot


def digest_service(bot: BotService, store: Store, poster: ListPoster, clock: Clock, **options: Any
                   ) -> DigestService:
    posters = Posters()
    posters.add(poster)  # type: ignore[arg-type]
    options.setdefault("sleep", _no_wait)
    digest = DigestService(bot, store, posters, clock=clock, **options)
    digest.register()
    return digest


async def _no_wait(seconds: float) -> None:
    """A Retry-After waited out at once: the clock in these tests moves only when a test moves it."""


def slack(text: str, *, user: str = MOD, channel: str = "C1") -> Request:
    return Request(text, platform="slack", user_id=user, channel_id=channel)


# Named fixtures: a test module imports these `*_fixture` functions, and its tests ask for `clock`, `store`...
@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock(MONDAY - dt.timedelta(days=3))


@pytest.fixture(name="store")
def store_fixture(tmp_path: Any) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/digest.db")
    yield store
    store.close()


@pytest.fixture(name="poster")
def poster_fixture() -> ListPoster:
    return ListPoster()
