"""The one exception tree of mlops-bot.

    BotError                 user_message: what a member or operator may read
     ├── CatalogError        the catalog file is unreadable or invalid (carries every problem)
     ├── ConfigError         a setting is missing or wrong (names the setting, never its value)
     ├── StorageError        the database could not be reached or written
     └── PlatformError       Slack or Discord refused us (bad token, missing scope)

`str(err)` is the log detail; `err.user_message` is safe to show in a chat, and never
contains secrets, paths or stack traces.
"""

from __future__ import annotations

from dataclasses import dataclass


class BotError(Exception):
    user_message: str = "Something went wrong on our side. Please try again in a moment."

    def __init__(self, detail: str, *, user_message: str | None = None) -> None:
        super().__init__(detail)
        if user_message is not None:
            self.user_message = user_message


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a catalog file, located as precisely as the YAML allows."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.field}: {self.message}"


class CatalogError(BotError):
    user_message = "The resource catalog could not be loaded."

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(BotError):
    user_message = "The bot is not configured correctly."


class StorageError(BotError):
    user_message = "The bot could not reach its database. Please try again in a moment."


class PlatformError(BotError):
    user_message = "The chat platform refused the bot's request."
