"""`mlops-bot discord invite-url`: the OAuth2 URL that adds the bot to a server.

Deliberately free of discord.py: an operator can print the URL on a machine without the extra.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

from bot.errors import ConfigError
from bot.settings import Settings

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
SCOPES = ("bot", "applications.commands")
# Replies to commands and buttons are interaction responses, which need no channel permission. What
# the bot posts on its own does: review posts in DISCORD_REVIEW_CHANNEL, their updates after a decision,
# and the weekly digest are channel messages (embeds, so Embed Links), and the DM to a suggester is one
# too. Nothing more: no Manage Messages, no Mention Everyone, no Read Message History.
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS


def application_id(settings: Settings) -> int:
    """DISCORD_APPLICATION_ID, else the id encoded in the token's first segment (the bot user's id,
    which equals the application id for every application created since 2016)."""
    if settings.discord_application_id is not None:
        return settings.discord_application_id
    if settings.discord_token is None:
        raise ConfigError("neither DISCORD_APPLICATION_ID nor DISCORD_TOKEN is set",
                          user_message="Set DISCORD_APPLICATION_ID (or DISCORD_TOKEN) to build the invite URL.")
    first = settings.discord_token.get_secret_value().strip().split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.isdigit():
        # Never echo the token, not even its first segment.
        raise ConfigError("DISCORD_TOKEN does not look like a bot token; set DISCORD_APPLICATION_ID instead",
                          user_message="DISCORD_TOKEN is not a bot token; set DISCORD_APPLICATION_ID.")
    return int(decoded)


def invite_url(settings: Settings) -> str:
    params: dict[str, str | int] = {
        "client_id": application_id(settings),
        "scope": " ".join(SCOPES),
        "permissions": PERMISSIONS,
        "integration_type": 0,  # a server install, not a user install
    }
    if settings.discord_guild_id is not None:
        # Preselect the server the commands are synced to, so that the operator cannot pick another one.
        params |= {"guild_id": settings.discord_guild_id, "disable_guild_select": "true"}
    return f"{AUTHORIZE_URL}?{urlencode(params)}"
