"""Masking secrets in any text that leaves the process: log lines, tracebacks, the CLI's fatal line.

Three kinds of secret: the configured ones (tokens, signing secret), whatever stands for a user and
password in a URL (`SLACK_API_URL=https://user:pw@proxy/`, `DATABASE_URL`), and tokens that a
platform's error may quote back (an `Authorization` header, a Slack `xox…` token). The per-request
tokens in Discord interaction URLs and Slack response URLs are masked too: the SDKs log those URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
MIN_SECRET = 6  # a shorter "secret" would mask ordinary words all over the line

_USERINFO = re.compile(r"(?<=://)[^/@\s'\"<>]+@")
_SHAPED = re.compile(
    r"(?i)(?:\b(?:authorization|proxy-authorization)['\"]?\s*[:=]\s*['\"]?(?:bearer|bot|basic)?\s*)[^\s'\",}]+"
    r"|\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{6,}")
_REQUEST_TOKENS = re.compile(
    r"(/interactions/\d+/|/webhooks/\d+/|hooks\.slack\.com/(?:commands|actions|services)/)[^\s'\"<>]+")
_HINTS = ("://", "uthorization", "xox", "xapp-", "/interactions/", "/webhooks/", "hooks.slack.com/")


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if any(hint in text for hint in _HINTS):  # nearly every line has none: skip the regexes
            text = _USERINFO.sub(MASK + "@", text)
            text = _SHAPED.sub(_keep_name, text)
            text = _REQUEST_TOKENS.sub(r"\1" + MASK, text)
        return text


def _keep_name(match: re.Match[str]) -> str:
    found = match.group(0)
    if found[:1] in "xX" and "-" in found[:5]:
        return MASK
    # "Authorization: Bearer xoxb-…" keeps the header's name, loses its value.
    head = re.match(r"(?i)(?:authorization|proxy-authorization)['\"]?\s*[:=]\s*['\"]?(?:bearer|bot|basic)?\s*",
                    found)
    return (head.group(0) if head else "") + MASK


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    return Redactor(secrets)(text)
