"""Putting the application together, the same way for `mlops-bot run` and the one-shot commands:
the service, its store, the posters of the platforms that run, and the features' services."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.app.catalog_care import CatalogCare
from bot.app.digest import DigestService
from bot.app.posting import Posters
from bot.app.query_log import QueryLog
from bot.app.stats import install_stats
from bot.app.suggestions import SuggestionService
from bot.service import BotService
from bot.storage import Store

log = logging.getLogger(__name__)


@dataclass
class App:
    service: BotService
    store: Store
    posters: Posters = field(default_factory=Posters)
    suggestions: SuggestionService | None = None
    query_log: QueryLog | None = None
    digest: DigestService | None = None
    care: CatalogCare | None = None


def build_app(service: BotService, store: Store, *, review_channels: dict[str, str] | None = None,
              query_log_days: int = 0, digest_grace: dt.timedelta = dt.timedelta(hours=24),
              feeds: Any = None) -> App:
    """`query_log_days` 0 keeps no query log (one-shot commands: a script's searches are not members').
    `feeds` (a FeedReader) shows the feeds' latest episodes in digests; None keeps to the static picks."""
    app = App(service, store)
    app.suggestions = SuggestionService(service, store, app.posters, review_channels=review_channels).install()
    app.digest = DigestService(service, store, app.posters, grace=digest_grace, feeds=feeds)
    app.digest.register()
    app.care = CatalogCare(service, store, app.posters, review_channels or {})
    install_stats(service, store)
    if query_log_days > 0:
        app.query_log = QueryLog(store.engine, service.clock, days=query_log_days)
        service.observers.append(app.query_log.observe)
    return app


def background(app: App) -> list[Callable[[asyncio.Event], Awaitable[None]]]:
    """The loops `mlops-bot run` keeps going beside the platforms, each ended by the stop event."""
    loops: list[Callable[[asyncio.Event], Awaitable[None]]] = []
    if app.suggestions is not None:
        loops.append(app.suggestions.run)
    if app.query_log is not None:
        loops.append(app.query_log.run)
    if app.care is not None:
        loops.append(app.care.run)
    return loops


async def load_approved(app: App) -> int:
    """The approved resources, so that this process's catalog is the live one from its first answer."""
    assert app.suggestions is not None
    approved = await app.suggestions.sync()
    if app.care is not None:
        await app.care.refresh()
    return approved
