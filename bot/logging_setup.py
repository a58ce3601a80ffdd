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


class RedactSecrets(logging.Filter):
    """Replace any configured secret that reaches a log line, even through an SDK's own logging, and the
    per-request tokens in interaction and response URLs."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if any(hint in redacted for hint in _REQUEST_TOKEN_HINTS):
            redacted = _REQUEST_TOKENS.sub(r"\1***", redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(settings: Settings, stream: object = None, *, quiet: bool = False) -> None:
    """Log to stderr with secrets masked; `quiet` raises INFO to WARNING (DEBUG is kept when asked for)."""
    secrets = [value.get_secret_value() for name in _SECRET_FIELDS if (value := getattr(settings, name))]
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    if quiet and level == logging.INFO:
        level = logging.WARNING
    root.setLevel(level)
