"""Form -> Discord modal, a modal submit -> FormSubmission, and the drafts that let a member fix a form.

A modal's custom_id names its form (`mlops:f:<kind>:<ref>`), so a submit is understood from the
interaction alone, even by a process started after the modal opened. Discord closes a modal on submit
and cannot show it again with errors in it; the errors come as a private message with a button that
reopens the modal holding what the member typed. That text is kept here, in memory, under a short
random token that the button's custom_id carries (`mlops:x:<token>`): the Discord adapter runs as
exactly one process (one gateway session), so memory is where the click lands. Drafts expire, and
a click after that says to start again rather than opening an empty form.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.adapters.discord.render import MAX_CUSTOM_ID, fit, units
from bot.core.forms import Form

# Discord's documented modal limits.
MAX_MODAL_TITLE = 45
MAX_INPUTS = 5  # top-level components of a modal, text displays included
MAX_INPUT_LABEL = 45
MAX_DESCRIPTION = 100  # a label's description: where a field's error or its choices are shown
MAX_PLACEHOLDER = 100
MAX_VALUE = 4000
MAX_TEXT_DISPLAY = 4000

FORM_PREFIX = "mlops:f"
FORM_TEMPLATE = re.compile(r"mlops:f:(?P<kind>[^:]+):(?P<ref>.*)", re.DOTALL)
FIX_TEMPLATE = re.compile(r"mlops:x:(?P<token>[A-Za-z0-9_-]{8,32})")

DRAFT_TTL = 30 * 60.0  # seconds: long enough to read the errors and fix them, short enough to forget
MAX_DRAFTS = 500  # a member's text is at most 5 x 4000 characters: this bounds the memory kept


def form_custom_id(form: Form) -> str | None:
    custom_id = f"{FORM_PREFIX}:{form.kind}:{form.ref}"
    if ":" in form.kind or not form.kind or units(custom_id) > MAX_CUSTOM_ID:
        return None
    return custom_id


def fix_custom_id(token: str) -> str:
    return f"mlops:x:{token}"


def build_modal(form: Form, errors: dict[str, str] | None = None) -> discord.ui.Modal:
    """The modal for `form`, each field holding its value; `errors` (by field name) shown under the labels.

    Raises ValueError when the form's kind and ref do not fit in a custom_id.
    """
    custom_id = form_custom_id(form)
    if custom_id is None:
        raise ValueError(f"form {form.kind!r} with ref {form.ref[:20]!r} does not fit in a modal custom_id")
    errors = errors or {}
    modal = discord.ui.Modal(title=fit(form.title.strip(), MAX_MODAL_TITLE) or "mlops-bot", custom_id=custom_id)
    fields = form.fields[:MAX_INPUTS]
    unplaced = [text for name, text in errors.items() if name not in {f.name for f in fields}]
    intro = "\n".join([*(f"⚠️ {text}" for text in unplaced), form.intro.strip()]).strip()
    if intro and len(fields) < MAX_INPUTS:  # the intro takes a component's place: fields go first
        modal.add_item(discord.ui.TextDisplay(fit(intro, MAX_TEXT_DISPLAY)))
    for form_field in fields:
        max_length = min(max(1, form_field.max_length), MAX_VALUE)
        text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id=form_field.name,
            style=discord.TextStyle.paragraph if form_field.multiline else discord.TextStyle.short,
            default=form_field.value[:max_length] or None,
            required=form_field.required,
            max_length=max_length,
            placeholder=fit(form_field.placeholder.strip(), MAX_PLACEHOLDER) or None,
        )
        modal.add_item(discord.ui.Label(text=fit(form_field.label.strip(), MAX_INPUT_LABEL) or form_field.name[:45],
                                        component=text_input,
                                        description=_description(form_field.choices, errors.get(form_field.name))))
    # discord.py would keep the modal to route its submit to it, for ever (no timeout) and keyed by a
    # custom_id that two members' modals share. Submits are routed by custom_id instead (MlopsClient),
    # so it is stopped first, which tells discord.py not to keep it.
    modal.stop()
    return modal


def _description(choices: tuple[str, ...], error: str | None) -> str | None:
    if error:
        return fit(f"⚠️ {error}", MAX_DESCRIPTION)
    if choices:
        return fit("One of: " + ", ".join(choices), MAX_DESCRIPTION)
    return None


def submitted_values(data: Any) -> dict[str, str]:
    """The text inputs' values of a modal submit, by custom_id, in action rows or in labels."""
    values: dict[str, str] = {}

    def walk(components: Any) -> None:
        for component in components or []:
            if not isinstance(component, dict):
                continue
            if component.get("type") == 4 and isinstance(component.get("custom_id"), str):
                values[component["custom_id"]] = str(component.get("value") or "")
            walk(component.get("components"))
            if isinstance(component.get("component"), dict):
                walk([component["component"]])

    walk((data or {}).get("components"))
    return values


@dataclass(frozen=True)
class Draft:
    form: Form  # holding the member's values
    errors: dict[str, str]
    user_id: str  # only they see the button (the message is private); only they may reopen it
    expires: float


class Drafts:
    """Forms to reopen, by token, for DRAFT_TTL seconds; the oldest go first beyond MAX_DRAFTS."""

    def __init__(self, *, ttl: float = DRAFT_TTL, limit: int = MAX_DRAFTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._drafts: OrderedDict[str, Draft] = OrderedDict()

    def keep(self, form: Form, errors: dict[str, str], user_id: str) -> str:
        self._expire()
        token = secrets.token_urlsafe(9)  # 12 characters, 72 random bits: not guessable, short for the id
        self._drafts[token] = Draft(form, dict(errors), user_id, self.clock() + self.ttl)
        while len(self._drafts) > self.limit:
            self._drafts.popitem(last=False)
        return token

    def get(self, token: str) -> Draft | None:
        self._expire()
        return self._drafts.get(token)

    def __len__(self) -> int:
        return len(self._drafts)

    def _expire(self) -> None:
        now = self.clock()
        while self._drafts:
            token, draft = next(iter(self._drafts.items()))
            if draft.expires > now:
                break  # kept in insertion order, all with the same TTL: the first is the oldest
            del self._drafts[token]
