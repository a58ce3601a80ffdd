"""The Discord adapter: `/mlops` as native slash commands (discord.py 2.x), replies as embeds.

`DiscordAdapter` is resolved lazily so that `mlops-bot discord invite-url` (bot.adapters.discord.invite)
runs without importing discord.py at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.adapters.discord.client import DiscordAdapter

__all__ = ["DiscordAdapter"]


def __getattr__(name: str) -> Any:
    if name == "DiscordAdapter":
        from bot.adapters.discord.client import DiscordAdapter

        return DiscordAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
