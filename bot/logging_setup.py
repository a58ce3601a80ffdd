"""Logging for `mlops-bot run`: one line per record, and secrets masked wherever they appear."""

from __future__ import annotations

import logging
import sys

from bot.redact import Redactor
from bot.settings import Settings

SECRET_FIELDS = ("slack_bot_token", "slack_signing_secret", "slack_app_token", "discord_token")


def configured_secrets(settings: Settings) -> list[str]:
    return [value.get_secret_value() for name in SECRET_FIELDS if (value := getattr(settings, name, None))]


class RedactingFormatter(logging.Formatter):
    """Formats a record, then masks secrets in the whole text (bot.redact). Applied to the formatted
    line rather than to the message, so that a traceback, which quotes the exception's own text, is
    masked too; it covers SDKs' logging as much as ours."""

    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redact = Redactor(secrets)

    @property
    def secrets(self) -> list[str]:
        return self.redact.secrets

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def configure_logging(settings: Settings, stream: object = None, *, quiet: bool = False) -> None:
    """Log to stderr with secrets masked; `quiet` raises INFO to WARNING (DEBUG is kept when asked for)."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(RedactingFormatter(configured_secrets(settings),
                                            "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    if quiet and level == logging.INFO:
        level = logging.WARNING
    root.setLevel(level)
