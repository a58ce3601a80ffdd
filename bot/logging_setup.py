"""Logging for `mlops-bot run`: one line per record, and secrets masked wherever they appear."""

from __future__ import annotations

import logging
import re
import sys

from bot.settings import Settings

_SECRET_FIELDS = ("slack_bot_token", "slack_signing_secret", "slack_app_token", "discord_token")


# Tokens that are not settings but still let whoever holds them answer as the bot for a while: a
# Discord interaction's token (in its callback and webhook URLs) and a Slack response_url. The SDKs log
# these URLs at DEBUG.
_REQUEST_TOKENS = re.compile(
    r"(/interactions/\d+/|/webhooks/\d+/|hooks\.slack\.com/(?:commands|actions|services)/)[^\s'\"<>]+")
_REQUEST_TOKEN_HINTS = ("/interactions/", "/webhooks/", "hooks.slack.com/")


class RedactingFormatter(logging.Formatter):
    """Formats a record, then replaces any configured secret in the whole text, and the per-request
    tokens in interaction and response URLs. Applied to the formatted line rather than to the message,
    so that a traceback, which quotes the exception's own text, is masked too; it covers SDKs' logging
    as much as ours."""

    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if len(s) >= 6]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        if any(hint in text for hint in _REQUEST_TOKEN_HINTS):
            text = _REQUEST_TOKENS.sub(r"\1***", text)
        return text


def configure_logging(settings: Settings, stream: object = None, *, quiet: bool = False) -> None:
    """Log to stderr with secrets masked; `quiet` raises INFO to WARNING (DEBUG is kept when asked for)."""
    secrets = [value.get_secret_value() for name in _SECRET_FIELDS if (value := getattr(settings, name))]
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(RedactingFormatter(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    if quiet and level == logging.INFO:
        level = logging.WARNING
    root.setLevel(level)
