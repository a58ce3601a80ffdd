"""Small text helpers shared by the core and the renderers."""

from __future__ import annotations

import re

ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Drop control and bidi-override characters and fold runs of white space to one space."""
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, on a word boundary when one is near, marking the cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


_ASCII_NUMBER = re.compile(r"[0-9]{1,9}")


def ascii_int(text: str) -> int | None:
    """`text` as a whole number when it is 1-9 ASCII digits, else None.

    `int()` and `str.isdigit()` also accept `²`, `①`, `٣`, `३` and `𝟑` (some raise, some read as 3):
    every number a member types goes through here instead.
    """
    return int(text) if _ASCII_NUMBER.fullmatch(text) else None


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
