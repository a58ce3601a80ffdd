"""The Prometheus metrics the bot exports on `GET /metrics`, defined once, in a registry of their own.

Every label value comes from a fixed set: the helpers below map anything else to "other". A label is
a time series per value for as long as the process lives, so a query's text, a user or a channel id
must never become one: that would grow memory without bound and publish what members typed. Call
the helpers, never the metrics' `.labels()` directly.

    count_command(name, platform, outcome)     a command answered (name: the registry's, aliases too)
    observe_reply(platform, seconds)           how long the answer took; or `with time_reply(platform):`
    count_empty_search(platform)               a search that found nothing
    set_suggestions({"pending": 3, ...})       suggestions by state, from the database (on_scrape)
    count_decision(outcome)                    approve/reject of a suggestion
    count_digest(result)                       a digest posted, late, skipped or failed
    count_platform_call(platform, method, result)  a call to Slack's or Discord's API
    set_catalog_size(n), count_catalog_reload(result)
    observe_tick(seconds)                      one scheduler tick (counted and timed); or `with time_tick():`
    on_scrape(callback)                        run before each scrape (sync or async), e.g. set_suggestions
    metrics_handler(request)                   the aiohttp handler for GET /metrics

Each replica has its own registry: sum counters across pods, but take max() of the gauges that come
from the shared database (mlops_suggestions), which every replica reports alike.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import prometheus_client
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:  # aiohttp only where the probes' server runs; the helpers are used by one-shot commands too
    from aiohttp import web

__all__ = [
    "CALL_RESULTS", "COMMAND_OUTCOMES", "DECISION_OUTCOMES", "DIGEST_RESULTS", "METRICS_PATH", "OTHER",
    "PLATFORMS", "PLATFORM_METHODS", "REGISTRY", "RELOAD_RESULTS", "SUGGESTION_STATES",
    "command_names", "count_catalog_reload", "count_command", "count_decision", "count_digest",
    "count_empty_search", "count_platform_call", "metrics_handler", "observe_reply", "observe_tick",
    "on_scrape", "set_catalog_size", "set_suggestions", "time_reply", "time_tick",
]

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
OTHER = "other"

PLATFORMS = frozenset({"slack", "discord", "console", "cli"})
# ok: answered; empty: a search that found nothing; invalid: a usage mistake (bad option, unknown command);
# refused: not permitted; limited: a member's quota (suggestions per day); error: the bot failed.
COMMAND_OUTCOMES = frozenset({"ok", "empty", "invalid", "refused", "limited", "error"})
SUGGESTION_STATES = frozenset({"pending", "approved", "rejected"})
# conflict: someone decided it first; refused: not a moderator; invalid: no such suggestion, a bad kind.
DECISION_OUTCOMES = frozenset({"approved", "rejected", "conflict", "refused", "invalid"})
DIGEST_RESULTS = frozenset({"posted", "late", "skipped", "failed"})
# refused: a permanent 4xx (missing scope, not in channel, forbidden); network: no answer at all.
CALL_RESULTS = frozenset({"ok", "ratelimited", "refused", "server_error", "network", "error"})
_CALL_RESULT_ALIASES = {"rate_limited": "ratelimited", "429": "ratelimited"}
# The API methods the adapters call. Slack's by Web API name; Discord's by REST operation.
PLATFORM_METHODS = frozenset({
    "auth.test", "apps.connections.open", "chat.postMessage", "chat.postEphemeral", "chat.update",
    "chat.delete", "conversations.history", "conversations.info", "conversations.open", "views.open",
    "views.update", "views.push", "response_url",
    "create_message", "edit_message", "create_dm", "get_channel", "get_message", "interaction_response",
    "edit_original_response", "followup_message", "sync_commands", "get_gateway", "get_user",
})
RELOAD_RESULTS = frozenset({"ok", "invalid", "error"})

# From a few ms (an indexed search) to the seconds Slack allows a slash command before it gives up (3 s).
REPLY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A tick is a database query when nothing is due, a fan-out of posts (tens of seconds) when many are.
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# The `_created` series (one per label set, the time it first appeared) doubles the exposition and is
# of no use to the queries we document; this process exports nothing else through prometheus_client.
prometheus_client.disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)
# Resident memory, CPU and open files of this process: the figures the Kubernetes limits are set from.
ProcessCollector(registry=REGISTRY)

COMMANDS = Counter("mlops_commands", "Commands answered, by command, platform and outcome",
                   ("command", "platform", "outcome"), registry=REGISTRY)
REPLY_SECONDS = Histogram("mlops_reply_seconds", "Time from a request's arrival to its answer",
                          ("platform",), buckets=REPLY_BUCKETS, registry=REGISTRY)
EMPTY_SEARCHES = Counter("mlops_searches_empty", "Searches that found nothing", ("platform",),
                         registry=REGISTRY)
SUGGESTIONS = Gauge("mlops_suggestions", "Suggestions in the database, by state (the same on every replica)",
                    ("state",), registry=REGISTRY)
DECISIONS = Counter("mlops_suggestion_decisions", "Moderators' decisions on suggestions, by outcome",
                    ("outcome",), registry=REGISTRY)
DIGESTS = Counter("mlops_digests", "Weekly digests due, by what became of them", ("result",), registry=REGISTRY)
PLATFORM_CALLS = Counter("mlops_platform_calls", "Calls to a platform's API, by platform, method and result",
                         ("platform", "method", "result"), registry=REGISTRY)
CATALOG_RESOURCES = Gauge("mlops_catalog_resources", "Resources in the live catalog (file and approved)",
                          registry=REGISTRY)
CATALOG_RELOADS = Counter("mlops_catalog_reloads", "Catalog reloads, by result", ("result",), registry=REGISTRY)
SCHEDULER_TICKS = Counter("mlops_scheduler_ticks", "Scheduler ticks run", registry=REGISTRY)
TICK_SECONDS = Histogram("mlops_scheduler_tick_seconds", "Time one scheduler tick took", buckets=TICK_BUCKETS,
                         registry=REGISTRY)

# The small label sets exist from the start at zero, so that rate() and alerts see a series before the
# first event (a digest failure that never happened before is still an increase from 0).
for _value in DIGEST_RESULTS:
    DIGESTS.labels(_value)
for _value in DECISION_OUTCOMES:
    DECISIONS.labels(_value)
for _value in RELOAD_RESULTS:
    CATALOG_RELOADS.labels(_value)
for _value in SUGGESTION_STATES:
    SUGGESTIONS.labels(_value)


def _pick(value: object, allowed: Iterable[str]) -> str:
    text = value if isinstance(value, str) else str(value)
    text = text.strip().lower()
    return text if text in allowed else OTHER


@functools.cache
def command_names() -> dict[str, str]:
    """Every word that names a command (name and aliases) to the command's name, read from the registry
    on first use: importing this module must not load every handler (the probes import it)."""
    from bot.core.registry import aliases

    return aliases()


def _command(name: object) -> str:
    text = name.strip().lower() if isinstance(name, str) else ""
    return command_names().get(text, OTHER)


def _platform(platform: object) -> str:
    return _pick(platform, PLATFORMS)


# The series a caller's values map to, kept by those values: on the answer's path, finding a series
# through `.labels()` (its label checks, str() of each value, a lock) and mapping each value to its set
# cost more than counting. Bounded: values outside the sets would otherwise each keep an entry.
_SERIES_KEPT = 512
_commands_series: dict[tuple[object, object, object], Counter] = {}
_reply_series: dict[object, Histogram] = {}
_empty_series: dict[object, Counter] = {}


def _kept(series: dict, key: object, child: object) -> None:
    if len(series) < _SERIES_KEPT:
        with contextlib.suppress(TypeError):  # a value that cannot be a key: looked up each time
            series[key] = child


def count_command(name: str, platform: str, outcome: str) -> None:
    key = (name, platform, outcome)
    try:
        child = _commands_series[key]
    except (KeyError, TypeError):
        child = COMMANDS.labels(_command(name), _platform(platform), _pick(outcome, COMMAND_OUTCOMES))
        _kept(_commands_series, key, child)
    child.inc()


def observe_reply(platform: str, seconds: float) -> None:
    try:
        child = _reply_series[platform]
    except (KeyError, TypeError):
        child = REPLY_SECONDS.labels(_platform(platform))
        _kept(_reply_series, platform, child)
    child.observe(max(0.0, seconds))


@contextlib.contextmanager
def time_reply(platform: str) -> Iterator[None]:
    """Times the block as one reply on `platform`, also when it raises (a failed answer took time too)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_reply(platform, time.perf_counter() - start)


def count_empty_search(platform: str) -> None:
    try:
        child = _empty_series[platform]
    except (KeyError, TypeError):
        child = EMPTY_SEARCHES.labels(_platform(platform))
        _kept(_empty_series, platform, child)
    child.inc()


def set_suggestions(counts: Mapping[str, int]) -> None:
    """Sets the gauge from the database's counts by state. A state left out is 0 (none of them left);
    a state we do not know adds to "other" rather than minting a series."""
    totals = dict.fromkeys(SUGGESTION_STATES, 0)
    other = 0
    for state, count in counts.items():
        key = _pick(state, SUGGESTION_STATES)
        if key == OTHER:
            other += int(count)
        else:
            totals[key] += int(count)
    for state, count in totals.items():
        SUGGESTIONS.labels(state).set(count)
    if other:
        SUGGESTIONS.labels(OTHER).set(other)
    else:
        with contextlib.suppress(KeyError):  # it had not been created: nothing to remove
            SUGGESTIONS.remove(OTHER)


def count_decision(outcome: str) -> None:
    DECISIONS.labels(_pick(outcome, DECISION_OUTCOMES)).inc()


def count_digest(result: str) -> None:
    DIGESTS.labels(_pick(result, DIGEST_RESULTS)).inc()


def count_platform_call(platform: str, method: str, result: str) -> None:
    """`result`: one of CALL_RESULTS; a PostError's code for a rate limit ("rate_limited", "429") counts as
    "ratelimited". The method is kept as spelled (Slack's are camelCase)."""
    text = result.strip().lower() if isinstance(result, str) else ""
    text = _CALL_RESULT_ALIASES.get(text, text)
    method_label = method.strip() if isinstance(method, str) and method.strip() in PLATFORM_METHODS else OTHER
    PLATFORM_CALLS.labels(_platform(platform), method_label, _pick(text, CALL_RESULTS)).inc()


def set_catalog_size(resources: int) -> None:
    CATALOG_RESOURCES.set(max(0, int(resources)))


def count_catalog_reload(result: str) -> None:
    CATALOG_RELOADS.labels(_pick(result, RELOAD_RESULTS)).inc()


def observe_tick(seconds: float) -> None:
    SCHEDULER_TICKS.inc()
    TICK_SECONDS.observe(max(0.0, seconds))


@contextlib.contextmanager
def time_tick() -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_tick(time.perf_counter() - start)


ScrapeCallback = Callable[[], Awaitable[None] | None]
_on_scrape: list[ScrapeCallback] = []


def on_scrape(callback: ScrapeCallback) -> Callable[[], None]:
    """Run `callback` (sync, or async) before each scrape, to read what lives elsewhere (the database's
    suggestion counts) only when asked. Returns a function that unregisters it."""
    _on_scrape.append(callback)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _on_scrape.remove(callback)

    return remove


async def _refresh() -> None:
    for callback in list(_on_scrape):
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # a gauge left stale is better than a scrape that fails with every metric
            log.warning("refreshing metrics before a scrape failed: %s", exc.__class__.__name__)


def exposition() -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(REGISTRY)


async def metrics_handler(request: web.Request) -> web.Response:
    from aiohttp import web

    await _refresh()
    # CONTENT_TYPE_LATEST carries a charset, which aiohttp refuses in content_type=: set the header as is.
    return web.Response(body=exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                    "Cache-Control": "no-store"})
