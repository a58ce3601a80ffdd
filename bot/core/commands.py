"""Turn what a member typed after `/mlops` into a `Command`: the same grammar on every platform."""

from __future__ import annotations

import functools
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from bot.core.catalog import COSTS, KINDS, LEVELS
from bot.core.search_api import SearchQuery
from bot.core.text import clean

MAX_QUERY = 200
MAX_INPUT = 4000  # anything longer is cut before parsing so that hostile input costs nothing
_PREFIX = re.compile(r"^\s*/?mlops\b", re.IGNORECASE)

# Plurals and everyday words that members use for a kind.
KIND_WORDS: dict[str, str] = {k: k for k in KINDS} | {
    **{k + "s": k for k in KINDS if not k.endswith("s")},
    "case-studies": "case-study", "casestudy": "case-study", "case_study": "case-study",
    "papers": "paper", "article": "article", "articles": "article", "videos": "video", "youtube": "video",
    "podcasts": "podcast", "courses": "course", "books": "book", "tools": "tool", "certificate": "certification",
    "certifications": "certification", "talk": "conference", "talks": "conference", "projects": "project",
}


@dataclass(frozen=True)
class Command:
    name: str  # a registered command's name (bot.core.registry), or "unknown"
    args: str = ""
    raw: str = ""  # the text after /mlops, cleaned, cut to MAX_QUERY
    full: str = ""  # the arguments uncut (up to MAX_INPUT), for commands that take long text (suggest)
    notices: tuple[str, ...] = field(default=())

    @property
    def canonical(self) -> str:
        """The text that re-runs this command (kept in Share / More buttons)."""
        return f"{self.name} {self.args}".strip()


def parse(text: str) -> Command:
    """Parse any text; never raises. An empty line means help."""
    notices: list[str] = []
    sent = len(text)  # what the member typed, for the notice: the cut below must not shrink it
    text = clean(_PREFIX.sub("", text[:MAX_INPUT], count=1))
    if not text:
        return Command("help", raw="")
    word, _, rest = text.partition(" ")
    name = _aliases().get(word.lower().lstrip("/"))
    if name is None:
        return Command("unknown", args=word[:50], raw=text[:MAX_QUERY])
    args = rest.strip()
    if len(args) > MAX_QUERY:
        length = len(args) if sent <= MAX_INPUT else sent - (len(text) - len(args))
        notices.append(f"Your query was {length:,} characters long, so only its first {MAX_QUERY} were used.")
        args = args[:MAX_QUERY].rstrip()
    return Command(name, args=args, raw=text[:MAX_QUERY], notices=tuple(notices), full=rest.strip())


def suggest_command(word: str) -> str | None:
    """The command a mistyped word most likely meant."""
    from rapidfuzz import fuzz, process

    names = _aliases()
    match = process.extractOne(word.lower(), list(names), scorer=fuzz.ratio, score_cutoff=60)
    return names[match[0]] if match else None


@functools.cache
def _aliases() -> dict[str, str]:
    from bot.core import registry  # its handlers import this module

    return registry.aliases()


class QueryError(ValueError):
    """A filter the member typed is not one we know; the message is shown to them as is."""


def parse_query(args: str, category_ids: AbstractSet[str] | None = None) -> SearchQuery:
    """Split `kind:paper level:beginner free debt` into filters and free text."""
    kinds: set[str] = set()
    levels: set[str] = set()
    costs: set[str] = set()
    categories: set[str] = set()
    words: list[str] = []
    for token in args.split():
        key, sep, value = token.partition(":")
        key, value = key.lower(), value.lower().strip(",")
        if sep and key in ("kind", "type", "k"):
            kind = KIND_WORDS.get(value)
            if kind is None:
                raise QueryError(f"There is no kind '{value[:30]}'. Try one of: {', '.join(KINDS)}.")
            kinds.add(kind)
        elif sep and key in ("level", "lvl", "l"):
            if value not in LEVELS:
                raise QueryError(f"There is no level '{value[:30]}'. Try one of: {', '.join(LEVELS)}.")
            levels.add(value)
        elif sep and key in ("cost", "price"):
            if value not in COSTS:
                raise QueryError(f"There is no cost '{value[:30]}'. Try one of: {', '.join(COSTS)}.")
            costs.add(value)
        elif sep and key in ("category", "cat", "in"):
            if category_ids is not None and value not in category_ids:
                raise QueryError(f"There is no category '{value[:40]}'. `/mlops list` shows them all.")
            categories.add(value)
        elif not sep and token.lower() in ("free", "paid", "freemium"):
            costs.add(token.lower())
        else:
            words.append(token)
    return SearchQuery(
        text=" ".join(words),
        kinds=frozenset(kinds),
        levels=frozenset(levels),
        costs=frozenset(costs),
        categories=frozenset(categories),
    )
