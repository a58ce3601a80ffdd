"""Settings: every one documented, secrets never shown, blank means unset, bad values named."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable

import pytest

from bot.errors import ConfigError
from bot.logging_setup import configure_logging
from bot.settings import Settings, load_settings
from tests.conftest import REPO


def env_names() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        choices = field.validation_alias.choices  # type: ignore[union-attr]
        names.add(next(c for c in choices if c.isupper()))
    return names


def test_env_example_lists_every_setting():
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_]+)=", text, re.MULTILINE))
    assert listed == env_names()
    for name in listed:  # each with a comment just above it
        before = text.split(f"\n{name}=")[0].rstrip().splitlines()[-1]
        assert before.startswith("#") or before.endswith("=") or "=" in before, name


def test_secrets_are_masked(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-token")
    settings = load_settings(_env_file=None)
    assert "xoxb-very-secret" not in repr(settings) and "discord-secret-token" not in str(settings)
    assert settings.slack_bot_token.get_secret_value() == "xoxb-very-secret"


def test_blank_values_mean_unset(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN", "DISCORD_GUILD_ID", "MLOPS_BOT_CATALOG"):
        monkeypatch.setenv(name, "")
    settings = load_settings(_env_file=None)
    assert not settings.slack_configured and not settings.discord_configured and settings.catalog is None


def test_which_platforms_are_configured(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert load_settings(_env_file=None).slack_http_configured
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = load_settings(_env_file=None)
    assert settings.slack_socket_configured and not settings.slack_http_configured


def test_dotenv_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PORT=4567\nDISCORD_GUILD_ID=42\n")
    settings = load_settings()
    assert (settings.port, settings.discord_guild_id) == (4567, 42)


def test_bad_value_names_the_setting_but_not_the_value(monkeypatch):
    monkeypatch.setenv("PORT", "not-a-port-s3cr3t")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert "PORT" in str(info.value) and "s3cr3t" not in str(info.value)


def logged(settings: Settings, write: Callable[[], None]) -> str:
    """What `write` logs through the logging `mlops-bot run` configures."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(settings, stream)
        write()
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    return stream.getvalue()


def test_logging_masks_secrets_even_from_sdks():
    settings = Settings(_env_file=None, slack_bot_token="xoxb-very-secret")  # type: ignore[call-arg]
    text = logged(settings, lambda: logging.getLogger("some.sdk").info("sending Authorization: Bearer %s",
                                                                         "xoxb-very-secret"))
    assert "xoxb-very-secret" not in text and "Bearer ***" in text


@pytest.mark.parametrize("url, token", [
    ("https://discord.com/api/v10/interactions/1234567890/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ/callback",
     "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"),
    ("https://discord.com/api/v10/webhooks/99887766/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ/messages/@original",
     "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"),
    ("https://hooks.slack.com/commands/T0001/1234567890/AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("https://hooks.slack.com/actions/T0001/1234567890/AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
])
def test_logging_masks_the_tokens_in_interaction_and_response_urls(url: str, token: str):
    settings = Settings(_env_file=None, log_level="DEBUG")  # type: ignore[call-arg]
    text = logged(settings, lambda: logging.getLogger("discord.http").debug("POST %s with 200 has returned", url))
    assert token not in text and "***" in text
    assert url.split("/")[2] in text  # the host is still there to read


def test_secrets_are_masked_in_tracebacks_too():
    """An exception's text (a URL with a token, an SDK's message) is printed by the formatter, not the
    message: it must be masked all the same."""
    settings = Settings(_env_file=None, slack_bot_token="xoxb-leaky-token-123")  # type: ignore[call-arg]

    def fail() -> None:
        try:
            raise RuntimeError("POST https://hooks.slack.com/actions/T1/2/AbCdEfGhIjKlMnOp failed "
                               "with Bearer xoxb-leaky-token-123")
        except RuntimeError:
            logging.getLogger("bot.test").exception("the service failed")

    output = logged(settings, fail)
    assert "RuntimeError" in output and "Traceback" in output
    assert "xoxb-leaky-token-123" not in output and "AbCdEfGhIjKlMnOp" not in output
