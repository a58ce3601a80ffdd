"""Who may do what: the one place that decides, on every request and every click, whatever a button says.

Moderators are exactly those configured (`SLACK_MODERATORS`, `DISCORD_MODERATORS`, `DISCORD_MODERATOR_ROLES`)
and the local console user. Being an admin of some Discord server grants nothing: the bot may be in servers
it does not serve, and their admins are not this community's moderators.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Permission(enum.Enum):
    MEMBER = "member"
    MODERATOR = "moderator"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: a platform's user id and, on Discord, their role ids in the server they asked from."""

    platform: str  # "slack", "discord", "console", "cli"
    user_id: str = ""
    name: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        """How audit lines and review posts name the actor: their id, with the name they showed when known."""
        who = f"{self.platform}:{self.user_id}" if self.user_id else self.platform
        return f"{who} ({self.name})" if self.name else who


CONSOLE = Actor("console", "console", "console")
OPERATOR = Actor("cli", "operator", "operator")


@dataclass(frozen=True)
class Moderators:
    slack_users: frozenset[str] = frozenset()
    discord_users: frozenset[str] = frozenset()
    discord_roles: frozenset[str] = frozenset()
    local: bool = True  # the console user and the operator at a terminal
    # The message a refusal ends with depends on what would have granted it.
    settings: dict[str, str] = field(default_factory=lambda: {
        "slack": "SLACK_MODERATORS", "discord": "DISCORD_MODERATORS or DISCORD_MODERATOR_ROLES"})

    def includes(self, actor: Actor) -> bool:
        if actor.platform in ("console", "cli"):
            return self.local
        if actor.platform == "slack":
            return actor.user_id in self.slack_users
        if actor.platform == "discord":
            return actor.user_id in self.discord_users or bool(actor.roles & self.discord_roles)
        return False


def can(actor: Actor, permission: Permission, moderators: Moderators) -> bool:
    return permission is Permission.MEMBER or moderators.includes(actor)


def refusal_text(actor: Actor, moderators: Moderators) -> str:
    setting = moderators.settings.get(actor.platform, "the moderator settings")
    you = f"Your {actor.platform.capitalize()} user id is {actor.user_id}" if actor.user_id else "You have no user id"
    return (f"Only this community's moderators can do that, and nothing was changed. {you}: "
            f"an operator can add it to {setting} to make you one.")
