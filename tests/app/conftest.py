"""An application on a real database (SQLite file, and the local PostgreSQL), with a clock tests move."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app.posting import PostError
from bot.app.wiring import App, build_app
from bot.catalog_file import PACKAGED_CATALOG
from bot.core.context import Community
from bot.core.permissions import Moderators
from bot.core.reply import Reply
from bot.service import BotService, Request
from bot.storage import open_store
from tests.pg import fresh_postgres_database

MODERATOR = "UMOD"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class RecordingPoster:
    """The Poster boundary for app-level tests (the adapters' posters are tested against the fakes)."""

    platform: str = "slack"
    posts: list[tuple[str, Reply, str | None]] = field(default_factory=list)
    updates: list[tuple[str, str, Reply]] = field(default_factory=list)
    dms: list[tuple[str, Reply]] = field(default_factory=list)
    refuse_dms: bool = False

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None,
                   metadata: dict[str, Any] | None = None) -> str:
        self.posts.append((channel_id, reply, key))
        return f"ts{len(self.posts)}"

    async def update(self, channel_id: str, ref: str, reply: Reply) -> None:
        self.updates.append((channel_id, ref, reply))

    async def dm(self, user_id: str, reply: Reply) -> None:
        if self.refuse_dms:
            raise PostError("dms closed", code="dm_closed", permanent=True)
        self.dms.append((user_id, reply))

    async def can_post(self, channel_id: str) -> str | None:
        return None

    async def find(self, channel_id: str, key: str, since: dt.datetime) -> str | None:
        return None


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/app.db"
    else:
        with fresh_postgres_database() as url:
            yield url


def make_app(database_url: str, clock: Clock, *, limit: int = 5) -> App:
    community = Community(moderators=Moderators(slack_users=frozenset({MODERATOR})), suggestions_per_day=limit)
    service = BotService.from_file(PACKAGED_CATALOG, community=community)
    service.clock = clock
    store = open_store(database_url, clock=clock)
    app = build_app(service, store, review_channels={"slack": "C0REVIEW"})
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database_url: str, clock: Clock) -> Iterator[App]:
    made = make_app(database_url, clock)
    made.posters.add(RecordingPoster())
    yield made
    made.store.close()


def member(text: str, user: str = "U0MEMBER", name: str = "ada", channel: str = "C0CHAN") -> Request:
    return Request(text, platform="slack", user_id=user, user_name=name, channel_id=channel)
