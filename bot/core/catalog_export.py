"""Add moderator-approved resources to the catalog's YAML text, touching nothing else in it.

The catalog is a file people edit and review: its comments, order and spacing are theirs. So the
text is never re-dumped. The new entries are written in the file's own layout (its indentation, a
blank line between entries if it uses them, `links` in the style it uses) and inserted right after
the last entry of `resources:`, wherever that list sits in the file, so that `git diff` shows only
added lines. Every value is written by PyYAML's emitter, which quotes whatever YAML would read
differently (`yes`, `1.0`, `a: b`, `#`, a leading `-` or `&`, control characters).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml

from bot.core import yaml_events
from bot.core.catalog import Catalog, Link, Resource
from bot.core.catalog_loader import parse_catalog
from bot.core.urls import normalize_url

# The order entries in data/resources.yaml give their fields in (after `id`, which comes first).
FIELD_ORDER: tuple[str, ...] = (
    "title", "kind", "category", "url", "links", "summary", "notes", "tags", "aliases", "authors", "year",
    "level", "cost", "provider", "feed",
)
_LISTS = frozenset({"notes", "tags", "aliases", "authors"})
# YAML's line breaks, which the parser counts when it gives a node's line.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_WIDTH = math.inf  # never fold a long value over several lines


class ExportError(ValueError):
    """The catalog text has no block-style `resources:` list to append entries to."""


def already_present(text: str, resources: Iterable[Resource]) -> list[Resource]:
    """The resources that `merge_resources` would leave out: their id or one of their URLs is already
    in the catalog (or in a resource before them in `resources`).

    Raises `CatalogError` when `text` is not a valid catalog.
    """
    return _split(parse_catalog(text), resources)[1]


def merge_resources(text: str, resources: Sequence[Resource]) -> str:
    """`text` with the resources that are not already in it appended to its `resources:` list.

    A resource is already in it when its id is, or when any of its URLs (`url` or a link) is, in the
    normalised form `normalize_url` compares (so merging twice gives what merging once gave). With
    nothing to add, `text` comes back unchanged. Raises `CatalogError` when `text`, or the text with
    the new entries, is not a valid catalog (say, an approved resource names an unknown category),
    and `ExportError` when `resources:` is written in flow style (`resources: [...]`).
    """
    new, _ = _split(parse_catalog(text), resources)
    if not new:
        return text
    layout = _layout(text)
    entries = "".join(layout.separator + layout.entry(resource) for resource in new)
    head = text[:layout.insert_at]
    if head and not _LINE_BREAK.match(head[-1]):
        head += layout.newline  # the last line had no line break of its own
    merged = head + entries + text[layout.insert_at:]
    parse_catalog(merged)  # never hand back a catalog the bot would refuse
    return merged


def _split(catalog: Catalog, resources: Iterable[Resource]) -> tuple[list[Resource], list[Resource]]:
    ids = {r.id for r in catalog}
    urls = {normalize_url(url) for r in catalog for url in r.all_urls}
    new: list[Resource] = []
    present: list[Resource] = []
    for resource in resources:
        keys = {normalize_url(url) for url in resource.all_urls}
        if resource.id in ids or not keys.isdisjoint(urls):
            present.append(resource)
            continue
        new.append(resource)
        ids.add(resource.id)
        urls |= keys
    return new, present


@dataclass(frozen=True)
class _Layout:
    """How the file writes a resource entry, and where the next one goes."""

    insert_at: int  # index in the text: the start of the line after the last entry
    first_prefix: str  # "  - ": what comes before an entry's first key
    indent: str  # "    ": before its other keys
    separator: str  # a blank line between entries, or ""
    newline: str
    flow_links: bool  # `links: [{...}, {...}]` rather than one `- {...}` line per link
    link_prefix: str  # "      - ": before each link, when they are one a line

    def entry(self, resource: Resource) -> str:
        lines = [f"{self.first_prefix}id: {_block_scalar(resource.id)}"]
        for name in FIELD_ORDER:
            value = getattr(resource, name)
            if value is None or value == "" or value == ():
                continue
            if name == "links":
                lines.extend(self._links(value))
            elif name in _LISTS:
                lines.append(f"{self.indent}{name}: [{', '.join(_flow_scalar(item) for item in value)}]")
            else:
                lines.append(f"{self.indent}{name}: {_block_scalar(value)}")
        return "".join(line + self.newline for line in lines)

    def _links(self, links: tuple[Link, ...]) -> list[str]:
        maps = [f"{{label: {_flow_scalar(link.label)}, url: {_flow_scalar(link.url)}}}" for link in links]
        if self.flow_links:
            return [f"{self.indent}links: [{', '.join(maps)}]"]
        return [f"{self.indent}links:", *(f"{self.link_prefix}{m}" for m in maps)]


def _layout(text: str) -> _Layout:
    loader = yaml_events.SAFE_LOADER(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    entries = _resources_node(root)
    line_starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]

    def line_text(number: int) -> str:
        end = line_starts[number + 1] if number + 1 < len(line_starts) else len(text)
        return _LINE_BREAK.sub("", text[line_starts[number]:end])

    items = entries.value
    last = items[-1]
    first_prefix, indent = _prefixes(line_text(last.start_mark.line), last.start_mark.column)

    # Blank lines between entries, when most of the file's entries are separated by one.
    blank = sum(
        any(not line_text(n).strip() for n in range(_end_line(before) + 1, after.start_mark.line))
        for before, after in itertools.pairwise(items))
    separator = "" if blank * 2 < len(items) - 1 or len(items) < 2 else _newline(text)

    flow_votes, block_links = 0, []
    for item in items:
        links = _value_of(item, "links")
        if isinstance(links, yaml.SequenceNode) and links.value:
            if links.flow_style:
                flow_votes += 1
            else:
                block_links.append(links)
    if block_links and len(block_links) >= flow_votes:
        first_link = block_links[0].value[0]
        link_prefix, _ = _prefixes(line_text(first_link.start_mark.line), first_link.start_mark.column)
    else:
        link_prefix = indent + "  - "

    end = _last_end(last)
    # A mark at the start of a line means the entry ended with the line before; otherwise the entry
    # ends on that line, maybe with a comment after its last value.
    after = end.line if end.column == 0 else end.line + 1
    insert_at = line_starts[after] if after < len(line_starts) else len(text)
    return _Layout(insert_at=insert_at, first_prefix=first_prefix, indent=indent, separator=separator,
                   newline=_newline(text), link_prefix=link_prefix,
                   # With no links in the file yet, the README's example: `links: [{label: ..., url: ...}]`.
                   flow_links=flow_votes > len(block_links) or not (flow_votes or block_links))


def _resources_node(root: yaml.Node | None) -> yaml.SequenceNode:
    node = _value_of(root, "resources") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
        raise ExportError("the catalog's `resources:` must be a list with one `- id: ...` entry a line")
    return node


def _value_of(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    found = None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found = value_node  # of a key given twice, the data holds the last
    return found


def _prefixes(line: str, key_column: int) -> tuple[str, str]:
    """What comes before an item's first key on its `- ` line, and the indent of its other keys."""
    head = line[:key_column]
    if head.strip() == "-" and not head.startswith("\t"):
        return head, " " * key_column
    return " " * max(key_column - 2, 0) + "- ", " " * key_column


def _last_end(node: yaml.Node) -> yaml.Mark:
    # A block collection's own end mark is where the next token starts, possibly past comments and
    # other keys; the last value inside it ends where its text does.
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark


def _end_line(node: yaml.Node) -> int:
    end = _last_end(node)
    return end.line - 1 if end.column == 0 else end.line


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _block_scalar(value: str | int) -> str:
    """`value` as PyYAML writes it after `key: `, on one line."""
    out = _dump(value)
    if _LINE_BREAK.search(out):  # a value with line breaks: written with escapes instead, on one line
        out = _dump(value, style='"')
    return out


def _flow_scalar(value: str) -> str:
    """`value` as an item of a flow list or mapping: plain when the parser reads it back as itself.

    PyYAML's emitter quotes any `:` inside flow collections, URLs included, while its parser (like
    the YAML 1.2 spec) reads `url: https://...` there as plain text, which is how the catalog writes
    links. The plain form of printable text is kept when parsing it gives the value back; otherwise
    the emitter's form is.
    """
    emitted = _dump([value], flow=True)[1:-1]
    if emitted != value and value.isprintable() and value.strip() == value:
        try:
            if yaml.load(f"[{value}]", Loader=yaml_events.SAFE_LOADER) == [value]:
                return value
        except yaml.YAMLError:
            pass
    return emitted


def _dump(value: object, *, style: str | None = None, flow: bool = False) -> str:
    out = yaml.safe_dump(value, default_style=style, default_flow_style=flow, allow_unicode=True, width=_WIDTH)
    out = out.removesuffix("\n").removesuffix("\n...")  # a lone scalar ends the document with `...`
    if flow and _LINE_BREAK.search(out):
        out = yaml.safe_dump(value, default_style='"', default_flow_style=True, allow_unicode=True,
                             width=_WIDTH).removesuffix("\n")
    return out
