"""Reads the newest entry of podcast and newsletter feeds for the weekly digest.

Feeds are strangers' servers, so every fetch is bounded: one total timeout per feed (redirects included),
a cap on the body read in chunks, at most a few redirects, each checked before it is followed (aiohttp
would follow one to any host and scheme it supports), and only http(s). feedparser gets the bytes we
read, wrapped in a stream: given a string or bytes it may fetch a URL or open a local file itself.

A feed that fails gives None and is logged once per reason until it works again: the digest asks every
week, and a dead feed should not fill the log.
"""

from __future__ import annotations

import asyncio
import io
import logging
from calendar import timegm
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import aiohttp
import feedparser

from bot import __version__
from bot.core.digest.feed_item import FeedItem
from bot.core.urls import url_problem

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds per feed, all hops and the body included
MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 5
CONCURRENCY = 4
CHUNK = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
HEADERS = {
    "User-Agent": f"mlops-bot/{__version__} (feed reader for a weekly digest)",
    "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
}


class FeedFailure(Exception):
    """Why one feed gave nothing. `reason` is what the log-once bookkeeping keys on, so it must not vary
    from one attempt to the next for the same cause (no byte counts, no ports); `detail` may."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class FeedReader:
    """Fetches feeds; keeps which ones are failing, and why, so each failure is logged once.

    Pass an aiohttp session to share one (it is left open); without one the reader makes its own on first
    use and closes it in `close()` (or at the end of `async with`).
    """

    def __init__(self, session: aiohttp.ClientSession | None = None, *, timeout: float = TIMEOUT,
                 max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS,
                 concurrency: int = CONCURRENCY) -> None:
        self._session = session
        self._owns_session = session is None
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._concurrency = max(1, concurrency)
        self._failing: dict[str, set[str]] = {}  # url -> reasons already logged since it last worked

    async def __aenter__(self) -> FeedReader:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No cookies: a feed has no business keeping state in the bot.
            self._session = aiohttp.ClientSession(headers=HEADERS, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def latest(self, urls: Iterable[str]) -> dict[str, FeedItem | None]:
        """The newest entry of each distinct feed URL (None where it failed), fetched concurrently."""
        distinct = list(dict.fromkeys(urls))
        gate = asyncio.Semaphore(self._concurrency)

        async def one(url: str) -> FeedItem | None:
            async with gate:
                return await self.fetch(url)

        found = await asyncio.gather(*(one(url) for url in distinct))
        return dict(zip(distinct, found, strict=True))

    async def fetch(self, url: str) -> FeedItem | None:
        """One feed's newest entry, or None (the failure logged, once per reason)."""
        try:
            body, final_url, headers = await self._download(url)
            # Parsing a big feed takes a while and is all CPU: off the event loop.
            item = await asyncio.to_thread(newest_entry, body, final_url, headers)
        except FeedFailure as failure:
            self._failed(url, failure)
            return None
        except Exception as exc:  # one broken feed must never cost the digest the others
            self._failed(url, FeedFailure(f"unexpected {type(exc).__name__}", str(exc)), unexpected=exc)
            return None
        if url in self._failing:
            del self._failing[url]
            log.info("feed %s works again", url)
        return item

    async def _download(self, url: str) -> tuple[bytes, str, Mapping[str, str]]:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(url)
        except TimeoutError:
            raise FeedFailure("timed out", f"no complete answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise FeedFailure("could not connect" if isinstance(exc, aiohttp.ClientConnectionError)
                              else "HTTP error", f"{type(exc).__name__}: {exc}") from None

    async def _follow(self, url: str) -> tuple[bytes, str, Mapping[str, str]]:
        problem = url_problem(url)
        if problem is not None:
            raise FeedFailure("not an http(s) URL", problem)
        current = url
        for _ in range(self.max_redirects + 1):
            async with self._client().get(current, allow_redirects=False, headers=HEADERS) as response:
                if response.status in REDIRECTS:
                    current = _redirect_target(current, response.headers.get("Location"))
                    continue
                if response.status != 200:
                    raise FeedFailure(f"HTTP {response.status}", response.reason or "")
                body = await self._read_capped(response)
                return body, current, {k.lower(): v for k, v in response.headers.items()}
        raise FeedFailure("too many redirects", f"more than {self.max_redirects}")

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        too_big = FeedFailure("too big", f"more than {self.max_bytes} bytes")
        if response.content_length is not None and response.content_length > self.max_bytes:
            raise too_big
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise too_big  # leaving the `async with` drops the connection: the rest is never read
        return bytes(body)

    def _failed(self, url: str, failure: FeedFailure, unexpected: BaseException | None = None) -> None:
        logged = self._failing.setdefault(url, set())
        if failure.reason in logged:
            return
        logged.add(failure.reason)
        detail = f" ({failure.detail})" if failure.detail else ""
        log.warning("feed %s: %s%s; the digest goes without it, and this is not logged again until it works",
                    url, failure.reason, detail, exc_info=unexpected)


def _redirect_target(current: str, location: str | None) -> str:
    if not location or not location.strip():
        raise FeedFailure("bad redirect", "no Location")
    try:
        target = urljoin(current, location.strip())
    except ValueError as exc:
        raise FeedFailure("bad redirect", str(exc)) from None
    problem = url_problem(target)
    if problem is not None:
        raise FeedFailure("bad redirect", f"to {problem}")
    return target


def newest_entry(body: bytes, url: str, headers: Mapping[str, str]) -> FeedItem:
    """The newest entry of a feed document: by published (else updated) date, else the first."""
    # Only the headers that say how to read the bytes; Content-Location makes relative links absolute.
    response_headers = {k: v for k, v in headers.items() if k in ("content-type", "content-language")}
    response_headers["content-location"] = url
    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    entries: list[Any] = list(parsed.get("entries") or [])
    if not entries:
        raise FeedFailure("not a feed" if parsed.get("bozo") else "no entries",
                          str(parsed.get("bozo_exception") or ""))
    dated = [(when, entry) for entry in entries if (when := _when(entry)) is not None]
    if dated:
        when, entry = max(dated, key=lambda pair: pair[0])
    else:
        when, entry = None, entries[0]
    link = entry.get("link")
    return FeedItem(title=str(entry.get("title") or ""), link=link if isinstance(link, str) else None,
                    published=when)


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            try:
                # feedparser gives UTC struct_times; timegm reads them as UTC (mktime would not).
                return datetime.fromtimestamp(timegm(value), UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    return None
