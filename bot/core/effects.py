"""What a handler asks the application layer to do when the answer needs the database or a platform.

The core decides (what was asked, by whom, whether it is allowed, whether the input is valid) and
returns one of these; the service hands it to the app-layer executor registered for its type, which
does the I/O and answers with a Reply or a Form. Handlers stay pure and testable as plain functions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Effect:
    """Base of every effect; an executor is registered per subclass (BotService.register)."""


@dataclass(frozen=True)
class SubmitSuggestion(Effect):
    url: str
    title: str
    why: str = ""
    anyway: bool = False  # the member saw the duplicate warning and submits all the same
    note: str = ""  # how it differs from what it looked like


@dataclass(frozen=True)
class ListPending(Effect):
    offset: int = 0


@dataclass(frozen=True)
class Decide(Effect):
    number: int
    approve: bool
    kind: str | None = None
    category: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class EditSuggestion(Effect):
    number: int
    title: str | None = None
    summary: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class OpenForm(Effect):
    """A form that needs stored data to fill in (approve, reject or edit suggestion N)."""

    kind: str
    number: int
