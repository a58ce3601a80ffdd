"""Reply -> Discord embeds and button specs, always within Discord's limits.

Layout: a header embed (title, notices and text, fields, footer), then one embed per item (title
linked, summary, a `kind · level · cost` line, extra links). Catalog and member text is escaped so
that it can neither format nor link; only our own masked links are Markdown.

Limits are counted in UTF-16 code units, which is never less than the character count Discord
documents, so an emoji-heavy text cannot slip past a limit.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import discord

from bot.core.catalog import Link
from bot.core.registry import specs
from bot.core.reply import Button, ButtonAction, Item, Reply
from bot.core.text import ELLIPSIS
from bot.core.urls import url_problem

# Discord's documented limits.
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_TOTAL = 6000  # all titles, descriptions, field names and values and footers of one message
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_BUTTONS = 25
MAX_OFFSET = 99_999  # five digits in a custom_id

BLANK = "\u200b"  # Discord refuses empty field names and values
COLOR = discord.Colour(0x2A9D8F)
ERROR_COLOR = discord.Colour(0xE63946)

# Button state lives in the custom_id, so buttons survive restarts:
#   mlops:s:<offset>:<command>   share the reply of <command> at <offset> in the channel
#   mlops:s                      share a copy of the message itself (its command did not fit)
#   mlops:m:<offset>:<command>   the next page of <command>
#   mlops:<code>:<ref>           a button that acts on <ref> (approve suggestion 42: mlops:a:42); the
#                                service checks whoever clicks again, so the id grants nothing
# Command names are shortened to one letter to leave room for the query.
SHARE_PREFIX = "mlops:s"
MORE_PREFIX = "mlops:m"
SHARE_TEMPLATE = re.compile(r"mlops:s(?::(?P<offset>[0-9]{1,5}):(?P<command>.+))?", re.DOTALL)
MORE_TEMPLATE = re.compile(r"mlops:m:(?P<offset>[0-9]{1,5}):(?P<command>.+)", re.DOTALL)
REF_CODES = {ButtonAction.APPROVE: "a", ButtonAction.REJECT: "r", ButtonAction.EDIT: "e",
             ButtonAction.ANYWAY: "y", ButtonAction.RETRY: "t"}
REF_ACTIONS = {code: action for action, code in REF_CODES.items()}
REF_TEMPLATE = re.compile(r"mlops:(?P<code>[" + "".join(REF_CODES.values()) + r"]):(?P<ref>.+)", re.DOTALL)
STYLES = {ButtonAction.SHARE: discord.ButtonStyle.primary, ButtonAction.MORE: discord.ButtonStyle.secondary,
          ButtonAction.APPROVE: discord.ButtonStyle.success, ButtonAction.REJECT: discord.ButtonStyle.danger,
          ButtonAction.EDIT: discord.ButtonStyle.secondary, ButtonAction.ANYWAY: discord.ButtonStyle.primary,
          ButtonAction.RETRY: discord.ButtonStyle.primary}
TOO_LONG_FOR_MORE = "This query is too long for a More button: shorten it to page further."

_MARKDOWN = re.compile(r"([\\*_`~|\[\]<])")  # emphasis, code, spoilers, masked links, mentions
_LINE_START = re.compile(r"^(\s*)([#>\-])", re.MULTILINE)  # headings, quotes and lists only act there


def units(text: str) -> int:
    """Length in UTF-16 code units (what a JavaScript client counts)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, on a word boundary when one is near, marked with …."""
    if units(text) <= limit:
        return text
    if limit <= 0:
        return ""
    room, end = limit - 1, 0  # one unit for the ellipsis
    for char in text:
        room -= 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a surrogate pair
        if room < 0:
            break
        end += 1
    cut = text[:end]
    space = cut.rfind(" ")
    if space >= len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def escape(text: str) -> str:
    """Plain text that renders as itself: no Markdown, no masked links, no mention syntax."""
    return _LINE_START.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", text))


def _safe_url(url: str | None) -> str | None:
    if url is None or url_problem(url) is not None:
        return None
    # The catalog validator already refused spaces and quotes; parentheses would end a masked link.
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def _link(link: Link) -> str:
    url = _safe_url(link.url)
    label = escape(link.label.replace("\n", " ")) or "link"
    return f"[{label}]({url})" if url else label


# -- custom ids -------------------------------------------------------------------------------------

@functools.cache
def _short_names() -> tuple[dict[str, str], dict[str, str]]:
    """Command names shortened to the registry's short names, to leave room for the query."""
    by_name = {s.name: s.short for s in specs()}
    return by_name, {short: name for name, short in by_name.items()}


def encode_command(command: str) -> str:
    name, sep, rest = command.partition(" ")
    short = _short_names()[0].get(name)
    if short is not None:
        return short + sep + rest
    return "=" + command  # kept verbatim, and never mistaken for a short name


def decode_command(encoded: str) -> str:
    if encoded.startswith("="):
        return encoded[1:]
    name, sep, rest = encoded.partition(" ")
    return _short_names()[1].get(name, name) + sep + rest


def button_custom_id(button: Button) -> str | None:
    """The custom_id that carries this button's state, or None when it cannot fit in 100 characters."""
    if not button.action.carries_command:
        return ref_custom_id(button.action, button.ref)
    prefix = SHARE_PREFIX if button.action is ButtonAction.SHARE else MORE_PREFIX
    offset = min(max(0, button.offset), MAX_OFFSET)  # the core caps offsets far below this anyway
    custom_id = f"{prefix}:{offset}:{encode_command(button.command)}"
    if len(custom_id) <= MAX_CUSTOM_ID and units(custom_id) <= MAX_CUSTOM_ID and button.command.strip():
        return custom_id
    return SHARE_PREFIX if button.action is ButtonAction.SHARE else None


def ref_custom_id(action: ButtonAction, ref: str) -> str | None:
    custom_id = f"mlops:{REF_CODES[action]}:{ref}"
    if ref and units(custom_id) <= MAX_CUSTOM_ID:
        return custom_id
    return None  # refs are numbers and short tokens: one this long is a bug, and the button is left out


# -- rendering --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ButtonSpec:
    label: str
    custom_id: str
    action: ButtonAction
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


@dataclass
class _Embed:
    """An embed under construction: plain strings, trimmed by `_fit_total` before becoming discord.Embed."""

    title: str
    description: str = ""
    url: str | None = None
    fields: list[list[str]] = field(default_factory=list)  # [name, value]
    footer: str = ""
    colour: discord.Colour = COLOR
    inline: list[bool] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [self.title, self.description, self.footer, *(t for f in self.fields for t in f)]


@dataclass(frozen=True)
class Rendered:
    embeds: list[discord.Embed]
    buttons: list[ButtonSpec]

    @property
    def total(self) -> int:
        return sum(embed_units(e) for e in self.embeds)


def embed_units(embed: discord.Embed) -> int:
    total = units(embed.title or "") + units(embed.description or "") + units(embed.footer.text or "")
    return total + sum(units(f.name or "") + units(f.value or "") for f in embed.fields)


def render(reply: Reply) -> Rendered:
    colour = ERROR_COLOR if reply.is_error else COLOR
    buttons, footer_notes = _buttons(reply)
    header = _header(reply, colour, footer_notes)
    items = list(reply.items)
    room = MAX_EMBEDS - 1
    embeds = [header]
    if len(items) <= room:
        embeds += [_item_embed(item, colour) for item in items]
    else:
        embeds += [_item_embed(item, colour) for item in items[: room - 1]]
        embeds.append(_overflow_embed(items[room - 1:], colour))
    if len(embeds) > 1:
        # The footer ("Showing 1–5 of 12") reads best under the last item, not under the header.
        embeds[-1].footer, header.footer = header.footer, ""
    _fit_total(embeds)
    return Rendered([_to_discord(e) for e in embeds], buttons)


def _buttons(reply: Reply) -> tuple[list[ButtonSpec], list[str]]:
    specs: list[ButtonSpec] = []
    notes: list[str] = []
    for button in reply.buttons[:MAX_BUTTONS]:
        custom_id = button_custom_id(button)
        if custom_id is None:
            if button.action is ButtonAction.MORE:
                notes.append(TOO_LONG_FOR_MORE)
            continue
        if any(s.custom_id == custom_id for s in specs):
            continue  # Discord refuses two components with one custom_id in a message
        label = fit(button.label.strip(), MAX_LABEL) or button.action.value.capitalize()
        specs.append(ButtonSpec(label, custom_id, button.action, STYLES[button.action]))
    return specs, notes


def _header(reply: Reply, colour: discord.Colour, footer_notes: list[str]) -> _Embed:
    lines = [f"⚠️ {escape(n)}" for n in reply.notices]
    if reply.text:
        lines.append(escape(reply.text))
    fields = [[fit(escape(f.name), MAX_FIELD_NAME) or BLANK, fit(escape(f.value), MAX_FIELD_VALUE) or BLANK]
              for f in reply.fields]
    inline = [f.inline for f in reply.fields]
    if len(fields) > MAX_FIELDS:
        fields = [*fields[: MAX_FIELDS - 1], ["…", f"and {len(fields) - MAX_FIELDS + 1} more"]]
        inline = [*inline[: MAX_FIELDS - 1], False]
    footer = " · ".join(p for p in (reply.footer, *footer_notes) if p)
    return _Embed(
        title=fit(escape(reply.header), MAX_TITLE) or "mlops-bot",
        description=fit("\n".join(lines), MAX_DESCRIPTION),
        fields=fields,
        inline=inline,
        footer=fit(footer, MAX_FOOTER),  # footers do not render Markdown: no escaping needed
        colour=colour,
    )


def _item_description(item: Item) -> str:
    lines = []
    if item.summary:
        lines.append(escape(item.summary))
    if item.meta:
        lines.append("*" + " · ".join(escape(m) for m in item.meta) + "*")
    if item.links:
        lines.append(" · ".join(_link(link) for link in item.links))
    return "\n".join(lines)


def _item_embed(item: Item, colour: discord.Colour) -> _Embed:
    # Titles render no Markdown links, but do render emphasis: escape them too.
    return _Embed(title=fit(escape(item.title), MAX_TITLE) or BLANK, url=_safe_url(item.url),
                  description=fit(_item_description(item), MAX_DESCRIPTION), colour=colour)


def _overflow_embed(items: list[Item], colour: discord.Colour) -> _Embed:
    """More items than embeds: the rest go as lines of one last embed, each title still linked."""
    lines = []
    for item in items:
        url = _safe_url(item.url)
        title = escape(item.title) or BLANK
        head = f"**[{title}]({url})**" if url else f"**{title}**"
        summary = f" — {escape(item.summary)}" if item.summary else ""
        lines.append(fit(head + summary, 600))
    return _Embed(title="More on this page", description=fit("\n".join(lines), MAX_DESCRIPTION), colour=colour)


def _fit_total(embeds: list[_Embed]) -> None:
    """Trim the longest texts first until the message fits in MAX_TOTAL.

    Finds the largest cap C such that cutting every text to C units leaves the whole message within
    the limit (water filling), so short texts like titles survive whole and long descriptions give way.
    """
    texts = [t for e in embeds for t in e.texts()]
    if sum(units(t) for t in texts) <= MAX_TOTAL:
        return
    low, high = 1, max(units(t) for t in texts)
    while low < high:
        cap = (low + high + 1) // 2
        if sum(min(units(t), cap) for t in texts) <= MAX_TOTAL:
            low = cap
        else:
            high = cap - 1
    cap = low

    def cut(text: str, minimum: str = "") -> str:
        return (fit(text, cap) or minimum) if units(text) > cap else text

    for e in embeds:
        e.title = cut(e.title, BLANK)
        e.description = cut(e.description)
        e.footer = cut(e.footer)
        e.fields = [[cut(n, BLANK), cut(v, BLANK)] for n, v in e.fields]


def _to_discord(e: _Embed) -> discord.Embed:
    embed = discord.Embed(title=e.title, url=e.url, description=e.description or None, colour=e.colour)
    for (name, value), inline in zip(e.fields, e.inline or [False] * len(e.fields), strict=False):
        embed.add_field(name=name, value=value, inline=inline)
    if e.footer:
        embed.set_footer(text=e.footer)
    return embed


def limit_problems(rendered: Rendered, content: str | None = None) -> list[str]:
    """Every way a rendered message breaks Discord's limits (empty when it fits); used by the tests."""
    problems = []
    if content is not None and units(content) > MAX_CONTENT:
        problems.append(f"content has {units(content)} units")
    if len(rendered.embeds) > MAX_EMBEDS:
        problems.append(f"{len(rendered.embeds)} embeds")
    for i, embed in enumerate(rendered.embeds):
        if not embed.title:
            problems.append(f"embed {i} has no title")
        if units(embed.title or "") > MAX_TITLE:
            problems.append(f"embed {i} title has {units(embed.title or '')} units")
        if units(embed.description or "") > MAX_DESCRIPTION:
            problems.append(f"embed {i} description has {units(embed.description or '')} units")
        if len(embed.fields) > MAX_FIELDS:
            problems.append(f"embed {i} has {len(embed.fields)} fields")
        for f in embed.fields:
            if not f.name or not f.value or units(f.name) > MAX_FIELD_NAME or units(f.value) > MAX_FIELD_VALUE:
                problems.append(f"embed {i} field {f.name[:20]!r} is empty or too long")
        if units(embed.footer.text or "") > MAX_FOOTER:
            problems.append(f"embed {i} footer too long")
    if rendered.total > MAX_TOTAL:
        problems.append(f"{rendered.total} units in all")
    for spec in rendered.buttons:
        if len(spec.custom_id) > MAX_CUSTOM_ID or not spec.label or units(spec.label) > MAX_LABEL:
            problems.append(f"button {spec.custom_id[:20]!r} breaks a limit")
    if len(rendered.buttons) > MAX_BUTTONS:
        problems.append(f"{len(rendered.buttons)} buttons")
    return problems
