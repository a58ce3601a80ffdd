"""Slack request signatures, checked strictly before slack-bolt sees the request.

slack-bolt's own check does `int(timestamp)` unguarded, so a non-numeric (or 5000-digit)
`X-Slack-Request-Timestamp` raises inside the middleware and the request is answered 500. Here every
malformed, missing, stale or forged request is simply "not from Slack": the caller answers 401.
It is the only check: bolt's own is switched off (app.py), as it would repeat this one on every
request. tests/adapters/slack/test_http.py sends forged, unsigned, stale and malformed requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping

MAX_AGE_SECONDS = 60 * 5
# A Unix time in seconds: ten digits today. Anything else is not a timestamp Slack would send.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` + HMAC-SHA256 over `v0:{timestamp}:{body}`, exactly as Slack signs its requests."""
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def is_from_slack(secret: str, headers: Mapping[str, str], body: bytes,
                  now: Callable[[], float] = time.time) -> bool:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    # fullmatch on ASCII digits only: int() would also accept " 12", "1_2" and Arabic-Indic digits.
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return False
    if abs(now() - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
