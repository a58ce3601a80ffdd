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
    # The rest carry a reference (`ref`), never a command: whoever clicks is checked again on the server.
    APPROVE = "approve"  # ref: a suggestion's number
    REJECT = "reject"
    EDIT = "edit"
    ANYWAY = "anyway"  # submit a suggestion that looked like a duplicate; ref: a kept draft
    RETRY = "retry"  # reopen a form with what the member typed; ref: a kept draft

    @property
    def carries_command(self) -> bool:
        return self in (ButtonAction.SHARE, ButtonAction.MORE)


@dataclass(frozen=True, slots=True)
class Button:
    """Share and More re-run `command` (text after `/mlops`) at `offset`, which is public data anyone may
    page through; every other action names what it acts on in `ref`. Adapters keep both in the value."""

    label: str
    action: ButtonAction
    command: str = ""
    offset: int = 0
    ref: str = ""


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
    # How many resources the answer found (a search, a category), for the query log and the metrics;
    # None for answers that are not about finding something.
    results: int | None = None

    def public(self) -> Reply:
        """The same reply for everyone in the channel; sharing it again makes no sense."""
        from dataclasses import replace

        return replace(
            self,
            visibility=Visibility.PUBLIC,
            buttons=tuple(b for b in self.buttons if b.action is not ButtonAction.SHARE),
        )
