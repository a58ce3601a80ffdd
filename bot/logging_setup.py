"""Logging for `mlops-bot run`: one line per record, and secrets masked wherever they appear.

Two formats, chosen by LOG_FORMAT: `text` (the default, for a terminal) and `json` (one JSON object a
line, for a log collector):

    {"time": "2025-05-01T09:30:00.123Z", "level": "INFO", "logger": "bot.service", "message": "...",
     "platform": "slack", "request_id": "5f0c2a9e1b7d4c36", "exc_info": "Traceback ..."}

`platform` and `request_id` are null outside a request (bot.log_context); `exc_info` (and `stack_info`)
only when the record has one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from bot.log_context import ContextFilter
from bot.redact import Redactor
from bot.settings import Settings

SECRET_FIELDS = ("slack_bot_token", "slack_signing_secret", "slack_app_token", "discord_token")
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (json.dumps escapes the newlines of a traceback).

    Secrets are masked in each string field before it is serialised, not in the serialised line: JSON
    escapes a quote or a backslash in a secret, so the escaped text would no longer contain the secret
    to find; and a mask applied to the line could swallow an escape's backslash and break the JSON."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.redact = Redactor(secrets)

    @property
    def secrets(self) -> list[str]:
        return self.redact.secrets

    def format(self, record: logging.LogRecord) -> str:
        redact = self.redact
        entry: dict[str, str | None] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "platform": _text(getattr(record, "platform", None), redact),
            "request_id": _text(getattr(record, "request_id", None), redact),
        }
        if record.exc_info and not record.exc_text:  # logging.Formatter's cache, kept for other handlers
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def _text(value: object, redact: Redactor) -> str | None:
    return None if value is None else redact(str(value))


def log_format(settings: Settings) -> str:
    # Settings refuses anything but text or json; a settings object from elsewhere (a test's, an older
    # one) may lack it or hold another value, and logs text then.
    value = str(getattr(settings, "log_format", "text") or "text").strip().lower()
    return value if value in LOG_FORMATS else "text"


def make_formatter(settings: Settings) -> logging.Formatter:
    secrets = configured_secrets(settings)
    if log_format(settings) == "json":
        return JsonFormatter(secrets)
    return RedactingFormatter(secrets, TEXT_FORMAT)


def configure_logging(settings: Settings, stream: object = None, *, quiet: bool = False) -> None:
    """Log to stderr with secrets masked; `quiet` raises INFO to WARNING (DEBUG is kept when asked for)."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(make_formatter(settings))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    if quiet and level == logging.INFO:
        level = logging.WARNING
    root.setLevel(level)
