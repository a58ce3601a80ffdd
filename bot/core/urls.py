"""URL rules shared by the catalog validator and (later) member suggestions."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_UNSAFE = re.compile(r"[\s<>\"\x00-\x1f\x7f]")
MAX_URL_LENGTH = 2000


def url_problem(url: object) -> str | None:
    """Why `url` may not be shown to members as a link, or None when it is fine.

    Only absolute http(s) URLs pass: `javascript:`, `data:` and relative links are refused, and so
    are characters that would break out of a Slack `<url|label>` or a Markdown link.
    """
    if not isinstance(url, str) or not url.strip():
        return "must be a non-empty http(s) URL"
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if _UNSAFE.search(url):
        return f"{_short(url)} contains spaces, quotes, '<' or '>'"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{_short(url)} is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{_short(url)} is not an http(s) URL"
    if not parts.netloc or parts.netloc.startswith((".", "-")) or "." not in (parts.hostname or ""):
        return f"{_short(url)} has no valid host"
    return None


def normalize_url(url: str) -> str:
    """The form two URLs are compared in: scheme, `www.`, case of the host and a trailing `/` ignored."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{path}{query}"


def _short(url: str, limit: int = 60) -> str:
    text = url if len(url) <= limit else url[: limit - 1] + "…"
    return repr(text)
