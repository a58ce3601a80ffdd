"""`mlops-bot discord invite-url`: scopes, least permissions, application id, and no discord.py import."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.adapters.discord.invite import PERMISSIONS, invite_url
from bot.cli import main
from bot.errors import ConfigError
from bot.settings import Settings
from tests.adapters.discord.fake_discord import make_token
from tests.conftest import REPO, clean_env


def settings(**values: object) -> Settings:
    base: dict[str, object] = {"discord_token": None, "discord_application_id": None, "discord_guild_id": None}
    return Settings(_env_file=None, **(base | values))  # type: ignore[call-arg]


def query(url: str) -> dict[str, list[str]]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "discord.com", "/oauth2/authorize")
    return parse_qs(parts.query)


def test_the_url_has_both_scopes_and_asks_for_view_send_and_embed_links_only() -> None:
    q = query(invite_url(settings(discord_application_id=1234)))
    assert q["client_id"] == ["1234"]
    assert q["scope"] == ["bot applications.commands"]
    # View Channel, Send Messages, Embed Links: what review posts, digests and DMs need, nothing more.
    assert q["permissions"] == [str(PERMISSIONS)] == [str((1 << 10) | (1 << 11) | (1 << 14))] == ["19456"]


def test_the_permissions_are_the_ones_the_fake_discord_checks_in_a_channel() -> None:
    from tests.adapters.discord.fake_discord import EMBED_LINKS, SEND_MESSAGES, VIEW_CHANNEL

    assert PERMISSIONS == VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS


def test_the_application_id_comes_from_the_token_when_not_set() -> None:
    q = query(invite_url(settings(discord_token=make_token(987654321012345678))))
    assert q["client_id"] == ["987654321012345678"]


def test_a_guild_is_preselected() -> None:
    q = query(invite_url(settings(discord_application_id=1, discord_guild_id=42)))
    assert q["guild_id"] == ["42"] and q["disable_guild_select"] == ["true"]


def test_neither_setting_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        invite_url(settings())
    assert "DISCORD_APPLICATION_ID" in str(caught.value) and "DISCORD_TOKEN" in str(caught.value)


def test_a_token_that_is_not_a_bot_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        invite_url(settings(discord_token="not-a-token.at.all"))
    assert "DISCORD_APPLICATION_ID" in str(caught.value) and "not-a-token" not in str(caught.value)


def test_the_cli_prints_it(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                           tmp_path: object) -> None:
    for name in ("DISCORD_TOKEN", "DISCORD_GUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "555")
    monkeypatch.chdir(tmp_path)  # no .env
    assert main(["discord", "invite-url"]) == 0
    assert query(capsys.readouterr().out.strip())["client_id"] == ["555"]


def test_invite_does_not_import_discord_py() -> None:
    code = ("import sys; from bot.adapters.discord.invite import invite_url; "
            "from bot.settings import Settings; "
            "print(invite_url(Settings(_env_file=None, discord_application_id=7))); "
            "assert 'discord' not in sys.modules and 'aiohttp' not in sys.modules, 'imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean_env(), capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
