"""Load a YAML document straight from the parser's events, without PyYAML's node tree.

`yaml.load` composes the whole document into nodes (each with two position marks) and only then
walks them to build Python objects. For a catalog of 100,000 resources that tree is about a gigabyte
and most of the load time. Building the objects as the events arrive gives the same data for the
plain YAML catalogs are written in, in half the time and a small fraction of the memory.

Anything this reader does not handle exactly as PyYAML's safe loader would (explicit tags, merge
keys, keys that are not scalars, a second document) raises `Unusual`; so does any syntax error, a
scalar PyYAML cannot construct (an integer past Python's digit limit, a date like 2015-02-30) and a
key repeated in one mapping, which PyYAML would let the last one win silently. The caller then
parses the text the ordinary way, which gives the same data or reports the problem at its line.
"""

from __future__ import annotations

from typing import Any

import yaml

# PyYAML's C parser where it is installed; the catalog loader parses with the same one.
SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STR_TAG = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# Below Python's smallest allowed int-to-text digit limit (640 digits, about 2,126 bits), any int prints.
_PRINTABLE_INT_BITS = 2000


class Unusual(Exception):
    """The document needs PyYAML's full loader (or is not valid YAML)."""


class Unreadable(ValueError):
    """A scalar PyYAML cannot turn into a value (2015-02-30), or whose value cannot be printed."""


def construct_scalar(loader: Any, node: yaml.ScalarNode) -> Any:
    """`node`'s value, built by `loader`'s own constructor for its tag; `Unreadable` when that fails.

    Python refuses to convert between int and decimal text past a digit limit (4,300 by default):
    PyYAML's int constructor raises ValueError on a longer number, and a long hex number builds an
    int that no message could print. Both are refused here, so no reader trips on them later.
    """
    try:
        value = loader.yaml_constructors[node.tag](loader, node)
        if type(value) is int and value.bit_length() > _PRINTABLE_INT_BITS:
            str(value)
    except (ValueError, OverflowError) as exc:
        raise Unreadable(str(exc)) from None
    return value


def load(text: str) -> Any:
    """The document's data, as `yaml.load(text, SafeLoader)` would give it; `Unusual` otherwise."""
    try:
        # libyaml encodes the text to UTF-8 as the loader is made, which a lone surrogate fails.
        loader = SAFE_LOADER(text)
    except UnicodeError as exc:
        raise Unusual(str(exc)) from None
    try:
        return _build(loader)
    except yaml.YAMLError as exc:
        raise Unusual(str(exc)) from None
    finally:
        loader.dispose()


def _build(loader: Any) -> Any:
    # Plain scalars whose first character starts no implicit type (bool, int, float, null,
    # timestamp, merge) are strings; only the others go through the resolver.
    typed_starts = frozenset(ch for ch in loader.yaml_implicit_resolvers if ch is not None)
    resolve = loader.resolve
    constructors = loader.yaml_constructors
    anchors: dict[str, Any] = {}
    # Open collections: [container, pending mapping key or _NO_KEY]
    stack: list[list[Any]] = []
    root: Any = None
    documents = 0

    def add(value: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        container = top[0]
        if type(container) is list:
            container.append(value)
        elif top[1] is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise Unusual("a mapping key that is not a scalar")
            if value in container:
                raise Unusual(f"duplicate key {value!r}")
            top[1] = value
        else:
            container[top[1]] = value
            top[1] = _NO_KEY

    while True:
        event = loader.get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            value = event.value
            tag = event.tag
            if tag is not None and tag != "!":
                raise Unusual(f"explicit tag {tag}")
            if event.implicit[0] and value and (value[0] in typed_starts or value[0] == "~"):
                tag = resolve(yaml.ScalarNode, value, (True, False))
                if tag == _MERGE:
                    raise Unusual("merge key")
                if tag != STR_TAG:
                    if tag not in constructors:
                        raise Unusual(f"no constructor for {tag}")
                    try:
                        value = construct_scalar(loader, yaml.ScalarNode(tag, value))
                    except Unreadable as exc:
                        raise Unusual(f"cannot construct {tag}: {exc}") from None
            elif event.implicit[0] and not value:
                value = None  # an empty plain scalar is null
            if event.anchor is not None:
                anchors[event.anchor] = value
            add(value)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if event.tag is not None and event.tag != "!":
                raise Unusual(f"explicit tag {event.tag}")
            container: Any = {} if kind is yaml.MappingStartEvent else []
            if event.anchor is not None:
                anchors[event.anchor] = container
            add(container)
            stack.append([container, _NO_KEY])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                raise Unusual(f"unknown alias {event.anchor}")
            value = anchors[event.anchor]
            if stack and type(stack[-1][0]) is dict and stack[-1][1] is _NO_KEY and isinstance(value, (dict, list)):
                raise Unusual("a mapping key that is not a scalar")
            add(value)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise Unusual("more than one document")
        elif kind is yaml.StreamEndEvent:
            return root


class _NoKey:
    """Marks a mapping that waits for its next key."""


_NO_KEY = _NoKey()
