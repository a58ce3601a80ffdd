"""Output to a terminal or pipe that cannot show Unicode (`PYTHONIOENCODING=ascii`, a C locale).

Replies use typographic quotes, dashes, `·` and `…`; on such a stream they degrade to the nearest
plain characters instead of a UnicodeEncodeError traceback.
"""

from __future__ import annotations

import codecs
import sys
import unicodedata

ERRORS = "mlops-bot-plain"
_PLAIN = {
    "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "«": '"', "»": '"',
    "–": "-", "—": "-", "−": "-", "…": "...", "·": "*", "•": "*", "→": "->", "←": "<-", "×": "x",
    "\u00a0": " ", "\u2060": "", "\u200b": "",
}


def _nearest(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for char in error.object[error.start:error.end]:
        plain = _PLAIN.get(char)
        if plain is None:
            decomposed = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            plain = decomposed or "?"
        out.append(plain)
    return "".join(out), error.end


codecs.register_error(ERRORS, _nearest)


def degrade_unencodable_output() -> None:
    """Make stdout and stderr write what their encoding cannot hold as plain characters."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if not encoding or not hasattr(stream, "reconfigure"):
            continue
        try:
            "“”–…·é".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            stream.reconfigure(errors=ERRORS)
