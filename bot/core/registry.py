"""The one list of commands. The parser, help, the Discord command tree and the dispatcher all read it,
so a command is added once: a handler decorated with `@command(...)` in its module.

    @command("week", aliases=("weeks",), usage="week [1-10]", example="week 3", short="w",
             summary="The study-schedule step of one week",
             options=(Option("number", "the week, 1 to 10", kind="int", min_value=1, max_value=10),))
    def _week(command, ctx, call) -> Reply: ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.permissions import Permission

# Modules whose handlers register themselves, in the order help lists them.
HANDLER_MODULES = ("bot.core.handlers", "bot.core.suggestion_commands", "bot.core.digest_commands",
                   "bot.core.stats_commands")


@dataclass(frozen=True, slots=True)
class Option:
    """A typed option where a platform offers them (Discord); its value goes back into the text after
    `prefix` (`kind:paper`), so every platform ends in the same parser."""

    name: str
    description: str
    kind: str = "text"  # "text" or "int"
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    max_length: int = 200
    autocomplete: str | None = None  # "query", "category", "comparison"
    prefix: str = ""


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    usage: str  # after the command prefix: "resource <query> [kind:K]"
    example: str
    summary: str  # one line, ≤ 100 characters (Discord's description limit)
    short: str  # a letter or two that stands for it where space is short (Discord custom ids)
    handler: Callable[..., Any]
    permission: Permission = Permission.MEMBER
    options: tuple[Option, ...] = ()
    in_help: bool = True
    long_text: bool = False  # reads Command.full: its text is not cut to a query's length (a suggestion's why)

    def text(self, values: dict[str, Any]) -> str:
        """The command line that typed options stand for: `resource kind:paper debt`."""
        parts = [self.name]
        for option in self.options:
            value = values.get(option.name)
            if value is not None and str(value).strip():
                parts.append(f"{option.prefix}{value}")
        return " ".join(parts)


_SPECS: dict[str, CommandSpec] = {}
_loaded = False


def command(name: str, *, aliases: tuple[str, ...] = (), usage: str, example: str, summary: str, short: str,
            permission: Permission = Permission.MEMBER, options: tuple[Option, ...] = (),
            in_help: bool = True, long_text: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        if name in _SPECS:
            raise ValueError(f"command {name!r} is registered twice")
        _SPECS[name] = CommandSpec(name, aliases, usage, example, summary, short, handler, permission, options,
                                   in_help, long_text)
        return handler

    return register


def specs() -> tuple[CommandSpec, ...]:
    _load()
    return tuple(_SPECS.values())


def spec(name: str) -> CommandSpec | None:
    _load()
    return _SPECS.get(name)


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        _check()


def _check() -> None:
    seen: dict[str, str] = {}
    for s in _SPECS.values():
        for word in (s.name, *s.aliases):
            if word in seen:
                raise ValueError(f"{word!r} names both {seen[word]!r} and {s.name!r}")
            seen[word] = s.name
    shorts = [s.short for s in _SPECS.values()]
    if len(set(shorts)) != len(shorts):
        raise ValueError(f"two commands share a short name: {shorts}")


def aliases() -> dict[str, str]:
    """Every word that names a command (its name and aliases), to the command's name."""
    return {word: s.name for s in specs() for word in (s.name, *s.aliases)}
