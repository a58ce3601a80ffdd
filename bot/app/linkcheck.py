"""Checks that the catalog's links still lead somewhere: the weekly link check and `mlops-bot links check`.

Each distinct URL (compared by `normalize_url`) is asked once, however many resources use it: HEAD first,
and GET after any error answer but 429 (servers that mishandle HEAD answer it 403, 404, 405, 500 or 501
while the page is there; a page is only called broken on GET's word), reading at most a little of the
body. A 405 or 501 to HEAD has the rest of that host's links asked with GET at once. Redirects are
followed by hand, each checked before it is followed (only http(s)), at most `max_redirects` of them; a
chain of permanent ones (301, 308) gives the address the catalog should use instead. Every request has
its own timeout. 429 and 5xx are retried with backoff, honouring Retry-After (capped: a weekly check may
wait, but not for hours); a 429 pauses the whole host.

These are strangers' servers, so the checker is polite: at most `per_host` requests at a time to one
host:port, and at most `concurrency` in all. Requests wait for a host's slot before they take a global
one, so a busy host never keeps the others waiting; a freed global slot goes to the host with the most
work left, which is the one the per-host limit would otherwise make finish last.

Connection failures and timeouts are not retried: a link is marked in answers only when it failed in two
weekly runs in a row (bot.storage.links_repo), which is the retry that matters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import heapq
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot import __version__
from bot.core.catalog import Resource
from bot.core.urls import normalize_url, url_problem

log = logging.getLogger(__name__)

OK, REDIRECTED, BROKEN, UNREACHABLE = "ok", "redirected", "broken", "unreachable"
OUTCOMES: tuple[str, ...] = (OK, REDIRECTED, BROKEN, UNREACHABLE)
BAD: frozenset[str] = frozenset({BROKEN, UNREACHABLE})  # what a member would find: no page

TIMEOUT = 10.0  # seconds per request (each hop, each attempt)
CONCURRENCY = 20
PER_HOST = 2
MAX_REDIRECTS = 5
RETRIES = 3  # further attempts after a 429 or 5xx
BACKOFF = 1.0  # seconds before the first retry when the server gives no Retry-After; doubled each time
MAX_RETRY_AFTER = 60.0  # a server asking for more is waited on this long, then asked again
PEEK_BYTES = 1024  # of a GET body: enough to know the answer started, never a whole page

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
# Refusals of the method rather than of the page: every further URL on that host is asked with GET at once.
HEAD_NOT_ALLOWED = frozenset({405, 501})
HEADERS = {
    "User-Agent": f"mlops-bot/{__version__} (link checker for a community's learning-resource catalog)",
    "Accept": "*/*",
}

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[Any]]
Progress = Callable[["LinkResult", int, int], None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Use:
    """A resource that links to a URL; `main` when it is the resource's own `url`, not one of its `links`."""

    resource_id: str
    main: bool


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """One URL to check, with the resources that use it (`resource_id`/`main` first, then `also`)."""

    url: str
    resource_id: str | None = None
    main: bool = False
    also: tuple[Use, ...] = ()

    @property
    def uses(self) -> tuple[Use, ...]:
        first = (Use(self.resource_id, self.main),) if self.resource_id is not None else ()
        return first + self.also

    @property
    def key(self) -> str:
        return normalize_url(self.url)


@dataclass(frozen=True, slots=True)
class Hop:
    status: int
    to: str


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What one URL gave. `final_url` is where its redirects ended (None without any); `permanent` when
    every hop was a 301 or 308, so that `final_url` is the address to use instead."""

    target: LinkTarget
    outcome: str
    http_status: int | None
    checked_at: dt.datetime
    final_url: str | None = None
    permanent: bool = False
    error: str | None = None
    hops: tuple[Hop, ...] = ()
    requests: int = 0

    @property
    def url(self) -> str:
        return self.target.url

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url, "resources": [{"id": u.resource_id, "main": u.main} for u in self.target.uses],
            "outcome": self.outcome, "http_status": self.http_status, "final_url": self.final_url,
            "permanent": self.permanent, "error": self.error, "checked_at": self.checked_at.isoformat(),
            "redirects": [{"status": h.status, "to": h.to} for h in self.hops], "requests": self.requests,
        }


def targets(catalog: Iterable[Resource]) -> list[LinkTarget]:
    """Every URL and link of `catalog`, once per `normalize_url` key, with every resource that uses it
    (a resource's main use first). In the catalog's order, so that a report reads like the catalog."""
    found: dict[str, tuple[str, dict[str, bool]]] = {}
    for resource in catalog:
        for index, url in enumerate(resource.all_urls):
            main = index == 0 and resource.url is not None
            _, uses = found.setdefault(normalize_url(url), (url, {}))
            uses[resource.id] = uses.get(resource.id, False) or main
    out = []
    for url, uses in found.values():
        ordered = sorted((Use(rid, main) for rid, main in uses.items()), key=lambda u: not u.main)
        out.append(LinkTarget(url, ordered[0].resource_id, ordered[0].main, tuple(ordered[1:])))
    return out


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    location: str | None
    retry_after: str | None


class _Unreachable(Exception):
    """No HTTP answer at all; the message is the result's `error`, `requests` how many were sent."""

    def __init__(self, message: str, requests: int = 1) -> None:
        super().__init__(message)
        self.requests = requests


class _Host:
    def __init__(self, per_host: int) -> None:
        self.gate = asyncio.Semaphore(per_host)
        self.not_before: dt.datetime | None = None  # set by a 429: nobody asks this host again before
        self.no_head = False
        self.queue: deque[list[int]] = deque()  # its URLs not started yet
        self.answered = 0
        self.seconds = 0.0  # spent on its requests so far

    def work_left(self, typical: float) -> float:
        """The requests this host still needs, weighted by how slow it has been against `typical` (the mean
        over all hosts so far): in units of a typical request, so that a waiter's priority, fixed when it
        began to wait, still compares with those of later ones."""
        slowness = self.seconds / self.answered / typical if self.answered and typical > 0 else 1.0
        return (len(self.queue) + 1) * slowness


class _Gate:
    """The global limit. A freed slot goes to the waiting request with the most work left on its host,
    not the longest waiting: the host with the most links is the one the per-host limit makes last, so
    it should never wait for a slot while hosts that will finish early take them."""

    def __init__(self, slots: int) -> None:
        self.free = slots
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = 0

    async def acquire(self, work_left: float) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._order += 1
        heapq.heappush(self._waiting, (-work_left, self._order, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


class LinkChecker:
    """Checks links; `async with LinkChecker() as checker: results = await checker.check(targets(catalog))`.

    Pass an aiohttp session to share one (it is left open); without one the checker makes its own on first
    use and closes it in `close()`. `clock` stamps results and reads Retry-After dates; `sleep` is every
    wait the checker chooses (backoff, Retry-After), so that tests need not wait. One check at a time.
    """

    def __init__(self, session: aiohttp.ClientSession | None = None, *, concurrency: int = CONCURRENCY,
                 per_host: int = PER_HOST, timeout: float = TIMEOUT, max_redirects: int = MAX_REDIRECTS,
                 retries: int = RETRIES, backoff: float = BACKOFF, max_retry_after: float = MAX_RETRY_AFTER,
                 clock: Clock = _now, sleep: Sleep = asyncio.sleep) -> None:
        self._session = session
        self._owns_session = session is None
        self.concurrency = max(1, concurrency)
        self.per_host = max(1, per_host)
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.clock = clock
        self.sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._gate: _Gate | None = None
        self._answered, self._seconds = 0, 0.0  # every request's time so far: the guess for a new host

    async def __aenter__(self) -> LinkChecker:
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
            # The connector's limits repeat ours, so that nothing else sharing it can exceed them either.
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.per_host)
            self._session = aiohttp.ClientSession(connector=connector, headers=HEADERS,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def check(self, urls: Iterable[LinkTarget | str], *, progress: Progress | None = None
                    ) -> list[LinkResult]:
        """One result per target, in their order; `progress(result, done, total)` as each is known.

        Targets with the same `normalize_url` key are asked once. Each host gets up to `per_host` workers
        of its own (a catalog lists a host's links together, and one queue for all would have every
        worker waiting on that host); a redirect to another host waits for that host's slot."""
        items = [u if isinstance(u, LinkTarget) else LinkTarget(u) for u in urls]
        self._gate = _Gate(self.concurrency)
        self._hosts = {}
        self._answered, self._seconds = 0, 0.0
        groups: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(item.key, []).append(index)
        queues: list[deque[list[int]]] = []
        for indices in groups.values():
            host = self._host(items[indices[0]].url)
            if not host.queue:
                queues.append(host.queue)
            host.queue.append(indices)
        results: list[LinkResult | None] = [None] * len(items)
        done = 0

        async def worker(queue: deque[list[int]]) -> None:
            nonlocal done
            while queue:
                indices = queue.popleft()
                first = await self.check_one(items[indices[0]])
                for index in indices:
                    results[index] = first if index == indices[0] else _retarget(first, items[index])
                    done += 1
                    if progress is not None:
                        progress(results[index], done, len(items))  # type: ignore[arg-type]

        async with asyncio.TaskGroup() as group:
            for queue in queues:
                for _ in range(min(self.per_host, len(queue))):
                    group.create_task(worker(queue))
        return [r for r in results if r is not None]

    async def check_one(self, target: LinkTarget | str) -> LinkResult:
        """One URL, its redirects followed; never raises (an unexpected error is an `unreachable` result)."""
        if isinstance(target, str):
            target = LinkTarget(target)
        if self._gate is None:
            self._gate = _Gate(self.concurrency)
        try:
            return await self._follow(target)
        except Exception as exc:  # one odd server must never cost the run its other results
            log.exception("link check of %s failed unexpectedly", target.url)
            return LinkResult(target, UNREACHABLE, None, self.clock(), error=f"unexpected {type(exc).__name__}")

    async def _follow(self, target: LinkTarget) -> LinkResult:
        problem = url_problem(target.url)
        if problem is not None:
            return LinkResult(target, BROKEN, None, self.clock(), error=f"not a link members may be shown: {problem}")
        current, hops, seen, requests = target.url, [], {target.url}, 0

        def result(outcome: str, status: int | None, error: str | None = None) -> LinkResult:
            return LinkResult(target, outcome, status, self.clock(), final_url=current if hops else None,
                              permanent=bool(hops) and all(h.status in PERMANENT for h in hops), error=error,
                              hops=tuple(hops), requests=requests)

        while True:
            try:
                answer, attempts, sent = await self._ask(current)
            except _Unreachable as exc:
                requests += exc.requests
                return result(UNREACHABLE, None, str(exc))
            requests += sent
            status = answer.status
            if status in REDIRECTS:
                if len(hops) >= self.max_redirects:
                    return result(BROKEN, status, f"more than {self.max_redirects} redirects")
                if not answer.location or not answer.location.strip():
                    return result(BROKEN, status, f"HTTP {status} without a Location")
                try:
                    following = urljoin(current, answer.location.strip())
                except ValueError:
                    return result(BROKEN, status, "a redirect to an address that is not a URL")
                problem = url_problem(following)
                if problem is not None:
                    return result(BROKEN, status, f"a redirect to {problem}")
                hops.append(Hop(status, following))
                if following in seen:
                    return result(BROKEN, status, f"a redirect loop back to {following}")
                seen.add(following)
                current = following
                continue
            if 200 <= status < 300:
                return result(REDIRECTED if hops else OK, status)
            if status == 429:
                # Not the page's fault: the server turned us away every time. Unreachable, not broken.
                return result(UNREACHABLE, status, f"rate limited (HTTP 429) in {attempts} attempts")
            if status >= 500:
                return result(BROKEN, status, f"HTTP {status} in {attempts} attempts")
            if status >= 400:
                return result(BROKEN, status, f"HTTP {status}")
            return result(BROKEN, status, f"unexpected HTTP {status}")

    async def _ask(self, url: str) -> tuple[_Answer, int, int]:
        """One hop: HEAD (GET where HEAD is mishandled), retried on 429 and 5xx; (answer, attempts counted
        against the retries, requests sent). Raises _Unreachable when no answer came."""
        host = self._host(url)
        method = "GET" if host.no_head else "HEAD"
        attempts = sent = 0
        while True:
            sent += 1
            try:
                answer = await self._send(method, url, host)
            except _Unreachable as exc:
                exc.requests = sent
                raise
            status = answer.status
            if method == "HEAD" and (status >= 400 and status != 429):
                # Servers that mishandle HEAD answer it with 403, 404, 405, 5xx while GET works; GET decides.
                if status in HEAD_NOT_ALLOWED:
                    host.no_head = True
                method = "GET"
                continue
            attempts += 1
            if (status == 429 or status >= 500) and attempts <= self.retries:
                delay = self._delay(answer.retry_after, attempts)
                if status == 429:
                    # The whole host asked us to slow down: its other URLs wait too (in _send).
                    until = self.clock() + dt.timedelta(seconds=delay)
                    host.not_before = until if host.not_before is None else max(host.not_before, until)
                else:
                    await self.sleep(delay)
                continue
            return answer, attempts, sent

    def _delay(self, retry_after: str | None, attempt: int) -> float:
        asked = parse_retry_after(retry_after, self.clock())
        if asked is None:
            return min(self.backoff * 2 ** (attempt - 1), self.max_retry_after)
        return min(asked, self.max_retry_after)

    async def _send(self, method: str, url: str, host: _Host) -> _Answer:
        assert self._gate is not None
        async with host.gate:
            if host.not_before is not None:
                wait = (host.not_before - self.clock()).total_seconds()
                if wait > 0:
                    await self.sleep(wait)
            await self._gate.acquire(host.work_left(self._typical()))
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout):
                    async with self._client().request(method, url, allow_redirects=False,
                                                      headers=HEADERS) as response:
                        if method == "GET":
                            await response.content.read(PEEK_BYTES)
                        # Leaving the `async with` with the body unread closes that connection.
                        return _Answer(response.status, response.headers.get("Location"),
                                       response.headers.get("Retry-After"))
            except TimeoutError:
                raise _Unreachable(f"no answer within {self.timeout:g} s") from None
            except aiohttp.ClientError as exc:
                raise _Unreachable(_why(exc)) from None
            except (OSError, ValueError) as exc:  # a URL yarl refuses, a socket error aiohttp let through
                raise _Unreachable(f"{type(exc).__name__}: {exc}") from None
            finally:
                self._gate.release()
                spent = time.monotonic() - started
                host.answered += 1
                host.seconds += spent
                self._answered += 1
                self._seconds += spent

    def _typical(self) -> float:
        return self._seconds / self._answered if self._answered else 0.0

    def _host(self, url: str) -> _Host:
        key = _host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(self.per_host)
        return host


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Retry-After in seconds from `now`: delta-seconds or an HTTP-date (RFC 9110 10.2.3); None if neither."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _host_key(url: str) -> str:
    """host:port, the unit the per-host limit counts (two ports on one machine are two servers)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return url
    return f"{(parts.hostname or '').lower()}:{port}"


def _retarget(result: LinkResult, target: LinkTarget) -> LinkResult:
    from dataclasses import replace

    return replace(result, target=target)


def _why(exc: aiohttp.ClientError) -> str:
    """A short, stable reason: the same failure reads the same in every run, so reports compare."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "the host name does not resolve (DNS)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"TLS: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {_os_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"the connection failed: {_os_reason(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _os_reason(error: OSError) -> str:
    # By errno: asyncio's own messages name the address and port, which would differ between runs.
    if error.errno:
        return os.strerror(error.errno).lower()
    return type(error).__name__
