"""Putting the application together, the same way for `mlops-bot run` and the one-shot commands:
the service, its store, the posters of the platforms that run, and the features' services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.app.posting import Posters
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


def build_app(service: BotService, store: Store, *, review_channels: dict[str, str] | None = None) -> App:
    app = App(service, store)
    app.suggestions = SuggestionService(service, store, app.posters, review_channels=review_channels).install()
    return app


async def load_approved(app: App) -> int:
    """The approved resources, so that this process's catalog is the live one from its first answer."""
    assert app.suggestions is not None
    return await app.suggestions.sync()
