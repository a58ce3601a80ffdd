"""Form -> Slack modal, and a submitted modal -> FormSubmission. Pure: no SDK, no I/O.

A modal keeps in `private_metadata` what its submission needs and Slack would not send back: the form's
kind and ref, and the channel it was opened from (where the answer goes, ephemerally). Slack signs the
submission, and private_metadata is never shown to the member, but the service still checks everything
it is given (who submits, whether that ref may be acted on).

Every modal fits Slack's limits, for any Form: title, submit and close 24 characters, at most 100 blocks,
3000 a section, 150 a placeholder, 3000 an input's max_length, 255 a block_id, 3000 the metadata. Labels,
hints and the intro are escaped as message text is; an input's initial value is the member's own text,
given back as typed (it is never parsed as mrkdwn).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.adapters.slack.render import (
    _clean,
    _cut_units,
    _mrkdwn,
    _plain_text,
    escape,
    fit,
    plain,
    render_blocks,
    units,
)
from bot.core.forms import MAX_VALUE, Form, FormErrors
from bot.core.reply import Reply

log = logging.getLogger(__name__)

CALLBACK_ID = "mlops_form"
MAX_TITLE = 24
MAX_MODAL_BLOCKS = 100
MAX_METADATA = 3000
MAX_SECTION = 3000
MAX_LABEL = 2000
MAX_HINT = 2000
MAX_PLACEHOLDER = 150
MAX_INPUT = 3000
MAX_BLOCK_ID = 255
MAX_ERROR = 2000
DEFAULT_TITLE = "mlops-bot"


@dataclass(frozen=True, slots=True)
class ModalState:
    """What a submission of our modal needs back: the form's kind and ref, and the channel it came from."""

    kind: str
    ref: str
    channel_id: str | None


def encode_metadata(kind: str, ref: str, channel_id: str | None) -> str:
    """{"k": kind, "r": ref, "c": channel} within Slack's 3000 characters. Kind and ref are ours and short;
    only a pathological one is cut, which makes its submission unknown to the service, never another's."""
    data: dict[str, str | None] = {"k": kind, "r": ref, "c": channel_id}
    text = _dump(data)
    while units(text) > MAX_METADATA:
        longest = max(data, key=lambda name: len(data[name] or ""))
        cut = data[longest] or ""
        data[longest] = cut[: len(cut) // 2] or None
        text = _dump(data)
    return text


def _dump(data: dict[str, str | None]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_metadata(text: object) -> ModalState | None:
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind, ref, channel = data.get("k"), data.get("r"), data.get("c")
    if not isinstance(kind, str) or not kind or not isinstance(ref, str):
        return None
    return ModalState(kind, ref, channel if isinstance(channel, str) and channel else None)


def _title(text: str) -> dict[str, Any]:
    return _plain_text(plain(text, MAX_TITLE) or DEFAULT_TITLE)


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(fit(mrkdwn, MAX_SECTION))}


def _usable_name(name: str) -> bool:
    # block_id and action_id are the field's name: Slack keys the submitted state by them.
    return 0 < len(name) <= MAX_BLOCK_ID and name == name.strip()


def render_modal(form: Form, channel_id: str | None, *, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The modal for `form`. `errors` (field name -> message) show under their fields and above them all,
    for a form given back after the modal was acked already (a slow submission, see app.py)."""
    blocks: list[dict[str, Any]] = []
    errors = errors or {}
    if errors:
        listed = "\n".join(f"• {escape(text, one_line=True)}" for text in errors.values() if text.strip())
        blocks.append(_section(":warning: Please fix:\n" + listed if listed else ":warning: Please fix the form."))
    intro = escape(form.intro)
    if intro:
        blocks.append(_section(intro))
    seen: set[str] = set()
    for field in form.fields:
        if len(blocks) == MAX_MODAL_BLOCKS:
            log.error("form %s has more fields than a modal holds; the rest are left out", form.kind)
            break
        if not _usable_name(field.name) or field.name in seen:
            log.error("form %s: field name %r cannot be a block_id; left out", form.kind, field.name[:40])
            continue
        seen.add(field.name)
        limit = max(1, min(field.max_length, MAX_INPUT, MAX_VALUE))
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": field.name, "multiline": field.multiline,
                                   "max_length": limit}
        value = _cut_units(_clean(field.value, one_line=not field.multiline), limit)
        if value:
            element["initial_value"] = value
        placeholder = plain(field.placeholder, MAX_PLACEHOLDER)
        if placeholder:
            element["placeholder"] = _plain_text(placeholder)
        block: dict[str, Any] = {"type": "input", "block_id": field.name,
                                 "label": _plain_text(plain(field.label, MAX_LABEL) or plain(field.name, MAX_LABEL)
                                                      or "Value"),
                                 "element": element, "optional": not field.required}
        hint = ""
        if field.name in errors and errors[field.name].strip():
            hint = "⚠ " + errors[field.name]
        elif field.choices:
            hint = "One of: " + ", ".join(field.choices)
        hint = plain(hint, MAX_HINT)
        if hint:
            block["hint"] = _plain_text(hint)
        blocks.append(block)
    if not blocks:
        blocks.append(_section("Nothing to fill in: press the button to go on."))
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _title(form.title),
        "submit": _plain_text(plain(form.submit, MAX_TITLE) or "Submit"),
        "close": _plain_text("Cancel"),
        "private_metadata": encode_metadata(form.kind, form.ref, channel_id),
        "blocks": blocks,
    }


def notice_modal(title: str, reply: Reply) -> dict[str, Any]:
    """A modal that only shows something (the "working on it" step of a slow submission, its outcome):
    no inputs, no submit, no buttons (a click inside a modal has no response_url to answer through)."""
    from dataclasses import replace

    blocks = [b for b in render_blocks(replace(reply, buttons=())) if b["type"] != "actions"]
    title = _cut_units(title, MAX_TITLE).strip() or DEFAULT_TITLE
    return {"type": "modal", "callback_id": CALLBACK_ID + "_notice", "title": _plain_text(title),
            "close": _plain_text("Close"), "blocks": blocks[:MAX_MODAL_BLOCKS]}


def view_title(view: dict[str, Any]) -> str:
    """The title of a view Slack sent back, already within the limit (we wrote it)."""
    title = (view.get("title") or {}).get("text")
    return _cut_units(title, MAX_TITLE) if isinstance(title, str) and title.strip() else DEFAULT_TITLE


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    """{field name: text} from a view_submission's state; an input left empty is "" (Slack sends null)."""
    values: dict[str, str] = {}
    state = ((view.get("state") or {}).get("values")) or {}
    if not isinstance(state, dict):
        return values
    for block_id, actions in state.items():
        if not isinstance(actions, dict) or not actions:
            continue
        action = actions.get(block_id)
        if action is None:
            action = next(iter(actions.values()))
        value = action.get("value") if isinstance(action, dict) else None
        values[str(block_id)] = _cut_units(value, MAX_VALUE) if isinstance(value, str) else ""
    return values


def error_response(errors: FormErrors, view: dict[str, Any]) -> dict[str, Any]:
    """The ack that keeps the modal open, with the member's text, and a message under each wrong field.

    Slack refuses an `errors` key that is not an input of the view; a message about the form as a whole
    (or a field this view lacks) goes under its first input instead."""
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]
    shown: dict[str, str] = {}
    for name, text in errors.errors.items():
        target = name if name in inputs else (inputs[0] if inputs else None)
        message = fit(escape(text, one_line=True), MAX_ERROR) or "Please check this."
        if target is None:
            continue
        shown[target] = f"{shown[target]} · {message}" if target in shown else message
        shown[target] = fit(shown[target], MAX_ERROR)
    if not shown:
        # Nowhere to show it: the form again, the errors written above its fields.
        metadata = decode_metadata(view.get("private_metadata"))
        channel = metadata.channel_id if metadata else None
        return {"response_action": "update", "view": render_modal(errors.form, channel, errors=errors.errors)}
    return {"response_action": "errors", "errors": shown}
