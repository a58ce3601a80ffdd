"""URL rules shared by the catalog validator and member suggestions: which URLs may be shown, and
the key two URLs are compared by to find the same resource twice."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2000

_UNSAFE = re.compile(r"[\s<>\"']")
# Invisible characters and controls: a right-to-left override makes `https://evil.example/‮moc.elgoog`
# read as something else, and a zero-width space makes two URLs look alike.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Two labels or more (a host with a dot), each of letters, digits, `-` and `_` inside; a trailing dot.
_HOST = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W_](?:[\w-]*[^\W_])?\.?")
_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*@")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# `mailto:x`, `javascript:x`: a scheme that is not followed by `//`, unlike `example.com:8080/x`.
_OPAQUE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d*(?:[/?#]|$))")

# Query parameters that say how a visitor arrived, not what they asked for: they are dropped before
# comparing, so a link shared from a newsletter matches the catalog's. `utm_` covers every name
# Google Analytics' campaign parameters use. `ref` is a referrer on most sites; where it selects
# something (a git ref), two such URLs on one page would also look alike, a price worth paying.
TRACKING_PARAMETERS: frozenset[str] = frozenset({
    "fbclid",  # Facebook
    "gclid", "dclid",  # Google Ads, DoubleClick
    "msclkid",  # Microsoft Ads
    "mc_cid", "mc_eid",  # Mailchimp
    "ref", "ref_src",  # referrers (many sites; Twitter)
    "igshid",  # Instagram
    "si",  # YouTube and Spotify share links
    "yclid",  # Yandex
    "_hsenc", "_hsmi",  # HubSpot
    "spm",  # Alibaba
})
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)
_DEFAULT_PORTS = frozenset({80, 443})

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/"))
# In one `name=value` of a query, `&` would split it and `=` is kept as written after the first.
_QUERY_SAFE = frozenset((_UNRESERVED | set(_SUB_DELIMS) | set(":@/?")) - {"&"})
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_IDN_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def url_problem(url: object) -> str | None:
    """Why `url` may not be shown to members as a link, or None when it is fine.

    Only absolute http(s) URLs to a named host pass: `javascript:`, `data:` and relative links are
    refused, and so are characters that would break out of a Slack `<url|label>` or a Markdown link,
    invisible characters that would disguise where a link goes, and a user name or password. The
    messages are for whoever typed the URL, and never repeat a password.
    """
    if not isinstance(url, str) or not url.strip():
        return "must be a non-empty http(s) URL"
    if len(url) > MAX_URL_LENGTH:
        return f"is {len(url):,} characters long; a link may have at most {MAX_URL_LENGTH:,}"
    invisible = _invisible_character(url)
    if invisible is not None:
        # Not shown: the character itself would reorder or hide the text of the message too.
        return (f"contains an invisible or control character (U+{ord(invisible):04X}), which can disguise "
                "where a link leads; please type the address again")
    if _UNSAFE.search(url):
        return f"{_shown(url)} contains spaces, quotes, '<' or '>'"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{_shown(url)} is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{_shown(url)} is not an http(s) URL"
    if "@" in parts.netloc:
        return f"{_shown(url)} contains a user name or password before its host; please remove it"
    if not _HOST.fullmatch(parts.hostname or ""):
        return f"{_shown(url)} has no valid host"
    try:
        parts.port  # noqa: B018  (only checked: urlsplit raises on a port that is not a number up to 65535)
    except ValueError:
        return f"{_shown(url)} has an invalid port"
    return None


def normalize_url(url: str) -> str:
    """The key two URLs are compared by: equal when both point at the same resource.

    Ignored: the scheme (http or https), `www.`, the host's case, its IDN spelling (compared as
    punycode), a trailing dot, the default ports 80 and 443, a user name, a trailing `/`, the
    fragment, tracking parameters (`TRACKING_PARAMETERS`, `utm_*`) and the order of the remaining
    query parameters. Percent-encoding is made uniform where RFC 3986 says that changes nothing.
    The path's case is kept: paths are case-sensitive. Never raises; text that is not a URL comes
    back stripped, so it still compares with itself.
    """
    text = url.strip() if isinstance(url, str) else str(url)
    if not _HAS_SCHEME.match(text):
        if _OPAQUE.match(text):
            return text
        # Without `scheme://` (`www.example.com/x`, or a key this function made) it is read as host
        # and path, not as a path.
        text = f"//{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text.removeprefix("//")
    scheme = parts.scheme.lower()
    prefix = f"{scheme}://" if scheme not in ("", "http", "https") else ""
    host = _host_key(parts)
    port_text = f":{port}" if port is not None and port not in _DEFAULT_PORTS else ""
    path = _remove_dot_segments(_normalise_percent(parts.path, _PATH_SAFE)).rstrip("/")
    query = _query_key(parts.query)
    return f"{prefix}{host}{port_text}{path}{'?' + query if query else ''}"


def _host_key(parts: SplitResult) -> str:
    host = (parts.hostname or "").translate(_IDN_DOTS).rstrip(".")
    if ":" in host:  # an IPv6 address, which urlsplit gives without its brackets
        return f"[{host}]"
    labels = [_punycode(label) for label in host.split(".")]
    if labels and labels[0] == "www":
        labels = labels[1:]
    return ".".join(labels)


def _punycode(label: str) -> str:
    if label.isascii():
        return label
    try:
        return "xn--" + unicodedata.normalize("NFC", label).encode("punycode").decode("ascii")
    except UnicodeError:
        return label


def _query_key(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        pair = _normalise_percent(pair, _QUERY_SAFE)
        name = _percent_decoded(pair.partition("=")[0]).lower()
        if name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES):
            continue
        kept.append(pair)
    # By name only, and stably, so that repeated parameters keep their order (a=1&a=2 is a list).
    kept.sort(key=lambda pair: pair.partition("=")[0])
    return "&".join(kept)


def _normalise_percent(text: str, safe: frozenset[str]) -> str:
    """RFC 3986 6.2.2: unreserved characters decoded, other escapes in upper case, the rest escaped."""
    if safe.issuperset(text):  # nothing to change, as in most URLs (a `%` is not in `safe`)
        return text
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            escape = _PERCENT.match(text, i)
            if escape is None:
                out.append("%25")  # a lone `%` means itself
            else:
                decoded = chr(int(escape.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else f"%{escape.group(1).upper()}")
                i += 3
                continue
        elif ch in safe:
            out.append(ch)
        else:
            out.append("".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out)


def _percent_decoded(text: str) -> str:
    return _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: `/a/./b/../c` is `/a/c`."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/".join(out)


def _invisible_character(url: str) -> str | None:
    if url.isascii():  # the usual case, checked without a look-up per character
        found = _ASCII_CONTROL.search(url)
        return found.group() if found else None
    return next((ch for ch in url if unicodedata.category(ch) in _INVISIBLE_CATEGORIES), None)


def _shown(url: str, limit: int = 60) -> str:
    """`url` quoted for a message: without a user name or password, and cut to `limit` characters."""
    url = _USER_INFO.sub(lambda m: f"{m.group(1) or ''}//", url, count=1)
    text = url if len(url) <= limit else url[: limit - 1] + "…"
    return repr(text)
