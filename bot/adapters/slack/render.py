"""Reply -> Slack Block Kit message. Pure: no SDK, no I/O, so the property tests can hammer it.

Two promises hold for *any* Reply, however hostile or huge:

* nothing pings: every piece of catalog or member text is escaped (`&`, `<`, `>`), `@here`-style
  words are broken with a word joiner, every mrkdwn object is `verbatim` (Slack's automatic
  parsing off) and `link_names` is never set;
* the message fits Slack's limits (50 blocks, 3000 characters a section text, 2000 a field or a
  button value, 150 a header, 75 a button label, 10 context elements), counted in UTF-16 code
  units as Slack counts them; whatever does not fit is cut with an ellipsis or left out, and the
  footer says how many results were left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.reply import Button, ButtonAction, Field, Item, Reply

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
# Slack accepts 40k, but this text is only the notification / screen-reader fallback.
MAX_FALLBACK_TEXT = 3000

ACTION_PREFIX = "mlops_"
ELLIPSIS = "…"
MAX_OFFSET = 10_000

# Control characters (newline and tab survive) and the bidi overrides that make a title lie about its order.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Without link_names Slack does not turn these words into pings, but a word joiner makes that true
# even if a future Slack parses them in verbatim text. No `\b` after the word: "@everyone00" cut
# to fit a limit would end as "@everyone…".
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone))", re.IGNORECASE)
_WORD_JOINER = "\u2060"
# Whatever `escape` would change: control characters (tab and CR included), `&<>`, `@`; and, on one line,
# any whitespace but a single space.
_TEXT_WORK = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069&<>@]")
_ONE_LINE_WORK = re.compile(_TEXT_WORK.pattern + r"|[^\S ]|  ")
_HTTP_URL = re.compile(r"(?i)https?://[^/\s]")
_URL_UNSAFE = re.compile(r"[\s|<>\"`\x00-\x1f\x7f]")
_json_string = json.encoder.encode_basestring  # a str as a JSON string literal, non-ASCII kept as is
_JSON = json.JSONEncoder(separators=(",", ":"))  # ASCII-only output: a lone surrogate cannot break the body


# -- text -------------------------------------------------------------------------------------------

def units(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut_units(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units, never splitting a character."""
    if len(text) * 2 <= limit:
        return text
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return text[:index]
    return text


def _clean(text: str, *, one_line: bool = False) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\t", " "))
    if one_line:
        text = " ".join(text.split())
    return text.strip()


def escape(text: str, *, one_line: bool = False) -> str:
    """Catalog or member text, made inert for mrkdwn (and plain_text)."""
    # Nearly all catalog text needs none of the work below; a reply escapes some 25 texts, so finding
    # that out with one regex scan instead of eight passes is most of rendering's cost saved.
    if (_ONE_LINE_WORK if one_line else _TEXT_WORK).search(text) is None:
        return text.strip()
    text = _clean(text, one_line=one_line)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def fit(mrkdwn: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to `limit` units without breaking a link or an entity."""
    if len(mrkdwn) * 2 <= limit or units(mrkdwn) <= limit:
        return mrkdwn
    cut = _cut_units(mrkdwn, limit - 1)
    # `<` only ever opens one of our links (member text is escaped), so an unclosed one was cut.
    opened = cut.rfind("<")
    if opened != -1 and ">" not in cut[opened:]:
        cut = cut[:opened]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def plain(text: str, limit: int) -> str:
    """Escaped one-line text for a plain_text object (header, button label)."""
    return fit(escape(text, one_line=True), limit)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that cannot break out of `<url|label>`, or None."""
    if not url:
        return None
    url = url.strip()
    if not _HTTP_URL.match(url) or len(url) > 2000:
        return None
    url = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    return url.replace("&", "&amp;")


def link(url: str | None, label: str) -> str:
    """`<url|label>` with an escaped label, or the bare escaped label when the URL is unusable."""
    text = escape(label, one_line=True)
    target = safe_url(url)
    if target is None:
        return text
    # Slack ends the URL at the first `|`: one inside the label would only show oddly, but replace it anyway.
    text = text.replace("|", "¦") or target
    return f"<{target}|{text}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


# -- button values ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ButtonState:
    """What a button needs to redo its command after a restart: it travels in the button's value."""

    action: ButtonAction
    command: str
    offset: int


def encode_button(button: Button) -> str | None:
    """The button's value, or None when it cannot fit Slack's 2000 characters (the button is dropped).

    Share and More carry their command and offset; every other action carries only its reference, so
    that a click can never say what to do, only what it is about (the service checks the clicker)."""
    # JSON objects ({"c": command, "o": offset} or {"r": ref}) written directly (json's encoder machinery
    # costs more than the two fields); the decoders read them back with json.loads.
    return _button_value(button, button.action.carries_command)


def _button_value(button: Button, carries_command: bool) -> str | None:
    if carries_command:
        value = f'{{"c":{_json_string(button.command)},"o":{max(0, min(button.offset, MAX_OFFSET))}}}'
    else:
        value = f'{{"r":{_json_string(button.ref)}}}'
    return value if len(value) * 2 <= MAX_BUTTON_VALUE or units(value) <= MAX_BUTTON_VALUE else None


def _action_of(action_id: str) -> ButtonAction | None:
    if not action_id.startswith(ACTION_PREFIX):
        return None
    try:
        return ButtonAction(action_id.removeprefix(ACTION_PREFIX).split("_", 1)[0])
    except ValueError:
        return None


def _object(value: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(value or "")
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def decode_button(action_id: str, value: str | None) -> ButtonState | None:
    """Parse a Share/More value we wrote; anything else (a ref button, old format, tampering) is None."""
    action = _action_of(action_id)
    data = _object(value)
    if action is None or not action.carries_command or data is None or set(data) != {"c", "o"}:
        return None
    command, offset = data.get("c"), data.get("o")
    if not isinstance(command, str) or not isinstance(offset, int) or isinstance(offset, bool):
        return None
    if len(command) > MAX_BUTTON_VALUE or not 0 <= offset <= MAX_OFFSET:
        return None
    return ButtonState(action, command, offset)


@dataclass(frozen=True, slots=True)
class RefClick:
    """A click on a button that names what it acts on (Approve #42): nothing more is read from it."""

    action: ButtonAction
    ref: str


def decode_ref(action_id: str, value: str | None) -> RefClick | None:
    """Parse a reference button's value we wrote; a command button, tampering or junk is None."""
    action = _action_of(action_id)
    data = _object(value)
    if action is None or action.carries_command or data is None or set(data) != {"r"}:
        return None
    ref = data["r"]
    if not isinstance(ref, str) or not ref or len(ref) > MAX_BUTTON_VALUE:
        return None
    return RefClick(action, ref)


# -- blocks -----------------------------------------------------------------------------------------

def _item_blocks(item: Item) -> list[dict[str, Any]]:
    section, meta, _ = _ITEMS.get(item)
    return _blocks_of(section, meta)


def _blocks_of(section: str, meta: str) -> list[dict[str, Any]]:
    blocks = [{"type": "section", "text": _mrkdwn(section)}]
    if meta:
        blocks.append({"type": "context", "elements": [_mrkdwn(meta)]})
    return blocks


def _item_texts(item: Item) -> tuple[str, str]:
    """(section mrkdwn, context mrkdwn) of one item, both escaped and within Slack's limits."""
    title = link(item.url, item.title) or link(item.url, item.url or "") or "untitled"
    lines = [f"*{title}*"]
    if item.summary.strip():
        lines.append(escape(item.summary))
    links = [link(extra.url, extra.label or extra.url) for extra in item.links]
    if links:
        lines.append(" · ".join(links))
    meta = escape(" · ".join(m for m in item.meta if m.strip()), one_line=True)
    return fit("\n".join(lines), MAX_SECTION_TEXT), fit(meta, MAX_CONTEXT_TEXT) if meta else ""


class _ItemMemo:
    """The rendered text and JSON of recently rendered items.

    Items are immutable, and nearly all are the catalog's, each one object for as long as its catalog is
    loaded (see handlers.Context.item): the same few are rendered for one member after another. Kept
    by identity because hashing an item means hashing its links in Python, which cost as much as the
    lookup saved; each entry holds its item, so no other object can take its id while it is kept.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[int, tuple[Item, str, str, str]] = {}

    def get(self, item: Item) -> tuple[str, str, str]:
        """(section, meta, the blocks as JSON array elements)."""
        entry = self._entries.get(id(item))
        if entry is not None and entry[0] is item:
            return entry[1], entry[2], entry[3]
        section, meta = _item_texts(item)
        encoded = ",".join(_JSON.encode(block) for block in _blocks_of(section, meta))
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[id(item)] = (item, section, meta, encoded)
        return section, meta, encoded


ITEM_MEMO = 4096  # about 1.5 KB each
_ITEMS = _ItemMemo(ITEM_MEMO)


def _field_text(field: Field, limit: int) -> str:
    name = escape(field.name, one_line=True)
    value = escape(field.value)
    text = "\n".join(part for part in (f"*{name}*" if name else "", value) if part)
    return fit(text, limit)


class _Dicts:
    """Blocks as the dicts render_message sends; an item stands for its own (render_blocks adds them)."""

    @staticmethod
    def item(item: Item, kept: tuple[str, str, str]) -> Item:
        return item

    @staticmethod
    def header(text: str) -> dict[str, Any]:
        return {"type": "header", "text": _plain_text(text)}

    @staticmethod
    def section(text: str) -> dict[str, Any]:
        return {"type": "section", "text": _mrkdwn(text)}

    @staticmethod
    def fields(texts: list[str]) -> dict[str, Any]:
        return {"type": "section", "fields": [_mrkdwn(text) for text in texts]}

    @staticmethod
    def context(texts: list[str]) -> dict[str, Any]:
        return {"type": "context", "elements": [_mrkdwn(text) for text in texts]}

    @staticmethod
    def actions(buttons: list[_ButtonParts]) -> dict[str, Any]:
        elements: list[dict[str, Any]] = []
        for label, action_id, value, style in buttons:
            element = {"type": "button", "text": _plain_text(label), "action_id": action_id, "value": value}
            if style:
                element["style"] = style
            elements.append(element)
        return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


_ascii = json.encoder.encode_basestring_ascii  # what _JSON writes for a str


def _mrkdwn_json(text: str) -> str:
    return f'{{"type":"mrkdwn","text":{_ascii(text)},"verbatim":true}}'


def _plain_text_json(text: str) -> str:
    return f'{{"type":"plain_text","text":{_ascii(text)},"emoji":true}}'


class _Json:
    """The same blocks as _Dicts, written directly as the JSON text _JSON would make of them: json's
    encoder spends more on a block's dicts (building its machinery, walking them) than this spends in all.
    tests/adapters/slack/test_render.py checks that both give the same text for any reply."""

    @staticmethod
    def item(item: Item, kept: tuple[str, str, str]) -> str:
        return kept[2]

    @staticmethod
    def header(text: str) -> str:
        return f'{{"type":"header","text":{_plain_text_json(text)}}}'

    @staticmethod
    def section(text: str) -> str:
        return f'{{"type":"section","text":{_mrkdwn_json(text)}}}'

    @staticmethod
    def fields(texts: list[str]) -> str:
        return f'{{"type":"section","fields":[{",".join(map(_mrkdwn_json, texts))}]}}'

    @staticmethod
    def context(texts: list[str]) -> str:
        return f'{{"type":"context","elements":[{",".join(map(_mrkdwn_json, texts))}]}}'

    @staticmethod
    def actions(buttons: list[_ButtonParts]) -> str:
        elements = [f'{{"type":"button","text":{_plain_text_json(label)},"action_id":{_ascii(action_id)},'
                    f'"value":{_ascii(value)}' + (f',"style":{_ascii(style)}}}' if style else "}")
                    for label, action_id, value, style in buttons]
        return f'{{"type":"actions","block_id":"{ACTIONS_BLOCK_ID}","elements":[{",".join(elements)}]}}'


# A button as (label, action_id, value, style or "").
_ButtonParts = tuple[str, str, str, str]
_Out = type[_Dicts] | type[_Json]
ACTIONS_BLOCK_ID = "mlops_buttons"


def _field_blocks(fields: Iterable[Field], out: _Out) -> list[Any]:
    """Inline fields side by side (10 to a section), the others one section each, in their order."""
    blocks: list[Any] = []
    row: list[str] = []
    for field in fields:
        if field.inline:
            text = _field_text(field, MAX_FIELD_TEXT)
            if text:
                row.append(text)
            if len(row) == MAX_SECTION_FIELDS:
                blocks.append(out.fields(row))
                row = []
            continue
        if row:
            blocks.append(out.fields(row))
            row = []
        text = _field_text(field, MAX_SECTION_TEXT)
        if text:
            blocks.append(out.section(text))
    if row:
        blocks.append(out.fields(row))
    return blocks


# Each action's name in action_ids, whether it carries a command, and its style: read off the enum once,
# not for every button of every reply (an Enum member's properties are Python code).
_ACTIONS: dict[ButtonAction, tuple[str, bool, str]] = {
    action: (action.value, action.carries_command,
             "primary" if action in (ButtonAction.SHARE, ButtonAction.APPROVE)
             else "danger" if action is ButtonAction.REJECT else "")
    for action in ButtonAction}


def _buttons(buttons: Iterable[Button]) -> list[_ButtonParts]:
    """The buttons that can be shown, at most Slack's 25."""
    shown: list[_ButtonParts] = []
    for index, button in enumerate(buttons):
        name, carries_command, style = _ACTIONS[button.action]
        value = _button_value(button, carries_command)
        label = plain(button.label, MAX_BUTTON_TEXT)
        # A reference button without its reference would only ever answer "not one I know".
        unusable = value is None or (not carries_command and not button.ref)
        if unusable or not label or len(shown) == MAX_ACTION_ELEMENTS:
            continue
        # action_id must be unique within the block; the listener matches on the prefix.
        shown.append((label, f"{ACTION_PREFIX}{name}_{index}", value, style))  # type: ignore[arg-type]
    return shown


def _layout(reply: Reply, shared_by: str | None, out: _Out) -> list[Any]:
    """The message's blocks in order, made by `out` (an item's by `out.item`: one or two blocks)."""
    head: list[Any] = []
    header = plain(reply.header, MAX_HEADER_TEXT)
    if header:
        head.append(out.header(header))
    notices = [escape(n, one_line=True) for n in reply.notices if n.strip()][:MAX_CONTEXT_ELEMENTS]
    if notices:
        head.append(out.context([fit(":information_source: " + n, MAX_CONTEXT_TEXT) for n in notices]))
    text = escape(reply.text)
    if text:
        prefix = ":warning: " if reply.is_error else ""
        head.append(out.section(fit(prefix + text, MAX_SECTION_TEXT)))

    buttons = _buttons(reply.buttons)
    footer_parts = [escape(reply.footer, one_line=True)]
    if shared_by and escape(shared_by, one_line=True):
        footer_parts.append("Shared by " + escape(shared_by, one_line=True))
    # Room for the footer (and a "not shown" note in it) is always kept.
    room = MAX_BLOCKS - len(head) - (1 if buttons else 0) - 1

    body: list[Any] = []
    used = 0  # blocks in body
    left_out = 0
    for item in reply.items:
        kept = _ITEMS.get(item)
        size = 2 if kept[1] else 1  # a section, and a context line when there is meta
        if used + size > room:
            left_out += 1
            continue
        body.append(out.item(item, kept))
        used += size
    field_blocks = _field_blocks(reply.fields, out)
    fields_fit = field_blocks[: max(0, room - used)]
    body += fields_fit
    if left_out:
        footer_parts.append(f"{left_out} more not shown here")
    if len(fields_fit) < len(field_blocks):
        footer_parts.append(f"{len(field_blocks) - len(fields_fit)} more sections not shown here")

    blocks = head + body
    if buttons:
        blocks.append(out.actions(buttons))
    footer_parts = [part for part in footer_parts if part]
    if footer_parts:
        blocks.append(out.context([fit(" · ".join(footer_parts), MAX_CONTEXT_TEXT)]))
    if not blocks:
        blocks.append(out.section("(empty reply)"))
    return blocks


def render_blocks(reply: Reply, *, shared_by: str | None = None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in _layout(reply, shared_by, _Dicts):
        if isinstance(part, Item):
            blocks += _item_blocks(part)
        else:
            blocks.append(part)
    return blocks


def fallback_text(reply: Reply) -> str:
    """Top-level `text`: what notifications and screen readers show. Same escaping as the blocks."""
    parts = [reply.header, reply.text] + [item.title for item in reply.items[:5]]
    text = escape(" · ".join(" ".join(p.split()) for p in parts if p.strip()), one_line=True)
    return fit(text, MAX_FALLBACK_TEXT) or "mlops-bot"


def render_message(reply: Reply, *, shared_by: str | None = None) -> dict[str, Any]:
    """A message body for an ack, a response_url post or chat.postMessage (never with `link_names`)."""
    return {
        "text": fallback_text(reply),
        "blocks": render_blocks(reply, shared_by=shared_by),
        # Five resources unfurled would bury the answer under previews.
        "unfurl_links": False,
        "unfurl_media": False,
    }


_UNFURL = '"unfurl_links":false,"unfurl_media":false'


def encode_message(reply: Reply, *, shared_by: str | None = None, **extra: Any) -> str:
    """`{**render_message(reply, shared_by=...), **extra}` as JSON text: the text `_JSON` makes of it.

    Each item's blocks are serialised once and kept with its text, and the other blocks are written as
    JSON directly (_Json): encoding the whole message for every reply cost about half as much CPU as
    finding the resources in it.
    """
    parts = _layout(reply, shared_by, _Json)
    if extra.keys() & {"text", "blocks", "unfurl_links", "unfurl_media"}:
        rest = _JSON.encode({"unfurl_links": False, "unfurl_media": False, **extra})[1:-1]
    else:
        rest = _UNFURL + "".join(f",{_ascii(key)}:{_JSON.encode(value)}" for key, value in extra.items())
    return f'{{"text":{_ascii(fallback_text(reply))},"blocks":[{",".join(parts)}],{rest}}}'
