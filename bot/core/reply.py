"""The one reply model every handler returns and every adapter renders.

All text here is plain: no Markdown, no mrkdwn, no HTML. Each adapter escapes and formats it for
its platform, so that catalog or member text can never smuggle in a ping or a fake link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bot.core.catalog import Link


class Visibility(Enum):
    PRIVATE = "private"  # only the asker sees it (Slack/Discord ephemeral)
    PUBLIC = "public"


class ButtonAction(Enum):
    SHARE = "share"  # post this same reply in the channel
    MORE = "more"  # replace this reply with the next page


@dataclass(frozen=True, slots=True)
class Button:
    """A button re-runs `command` (text after `/mlops`) at `offset`; adapters keep both in its value."""

    label: str
    action: ButtonAction
    command: str
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    url: str | None = None
    summary: str = ""
    meta: tuple[str, ...] = ()  # kind · level · cost, shown on one line
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Reply:
    header: str
    text: str = ""
    items: tuple[Item, ...] = ()
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    footer: str = ""
    visibility: Visibility = Visibility.PRIVATE
    is_error: bool = False
    notices: tuple[str, ...] = field(default=())

    def public(self) -> Reply:
        """The same reply for everyone in the channel; sharing it again makes no sense."""
        from dataclasses import replace

        return replace(
            self,
            visibility=Visibility.PUBLIC,
            buttons=tuple(b for b in self.buttons if b.action is not ButtonAction.SHARE),
        )
