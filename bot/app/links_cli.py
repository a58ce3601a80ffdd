"""The link check as the operator runs it and as the weekly job runs it, for bot/cli.py and the scheduler:

    mlops-bot links check [--concurrency N] [--format text|json]    run_links_check(...) -> exit code
    the weekly job (LINK_CHECK_DAY)                                  await weekly_link_check(...)

Both check the live catalog (the YAML and the approved resources: give a service they were loaded into),
store every result with the time it was checked, and say what changed since the run before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from bot.app.linkcheck import (
    BAD,
    BROKEN,
    CONCURRENCY,
    OK,
    OUTCOMES,
    REDIRECTED,
    UNREACHABLE,
    LinkChecker,
    LinkResult,
    targets,
)
from bot.app.posting import PostError, Posters
from bot.core.catalog import Catalog
from bot.core.reply import Field, Reply, Visibility
from bot.errors import StorageError
from bot.storage import Store
from bot.storage.links_repo import STREAK_RUNS, LinkChange, LinkChanges, LinksRepo

log = logging.getLogger(__name__)

EXIT_OK, EXIT_PROBLEM = 0, 1
# Long enough for a whole run over a large catalog (slow hosts, Retry-After waits); a replica that dies
# mid-run frees the week's check for another after it.
WEEKLY_LEASE = dt.timedelta(hours=3)
REPORT_LINES = 10  # per section of the review-channel report; the CLI's JSON lists everything
FIELD_CHARS = 1000  # Discord allows 1,024 per embed field, Slack 2,000
_BAR_WIDTH = 24
_ORDER = {BROKEN: 0, UNREACHABLE: 1, REDIRECTED: 2, OK: 3}


@dataclass(frozen=True)
class Run:
    run_id: str
    started_at: dt.datetime
    elapsed_s: float
    results: tuple[LinkResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.outcome for r in self.results)
        return {outcome: found.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def failed(self) -> bool:
        return any(r.outcome in BAD for r in self.results)


def new_run_id(now: dt.datetime) -> str:
    """Sortable by time, unique across replicas: 20261203T040000Z-1a2b3c4d."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


async def check_catalog(catalog: Catalog, store: Store, *, checker: LinkChecker | None = None,
                        concurrency: int = CONCURRENCY,
                        progress: Callable[[LinkResult, int, int], None] | None = None) -> Run:
    """Check every URL and link of `catalog` and record the results as one run. `checker` (default: one with
    the production settings and `concurrency`) is closed at the end; a session given to it stays open."""
    checker = checker or LinkChecker(concurrency=concurrency)
    started_at = checker.clock()
    started = time.perf_counter()
    try:
        results = await checker.check(targets(catalog), progress=progress)
    finally:
        await checker.close()
    run = Run(new_run_id(started_at), started_at, time.perf_counter() - started, tuple(results))
    await asyncio.to_thread(LinksRepo(store.engine, store.clock).record, run.run_id, run.results)
    counts = run.counts
    log.info("link check %s: %d links in %.1f s: %s", run.run_id, len(results), run.elapsed_s,
             ", ".join(f"{counts[o]} {o}" for o in OUTCOMES))
    return run


# -- mlops-bot links check -------------------------------------------------------------------------------

def run_links_check(service: Any, store: Store, out: TextIO, *, concurrency: int = CONCURRENCY,
                    fmt: str = "text", is_tty: bool = False, err: TextIO | None = None,
                    checker: LinkChecker | None = None) -> int:
    """`mlops-bot links check`: 1 when a link is broken or unreachable (or the results could not be
    stored), else 0. Results go to `out` (text or JSON); progress to `err` (stderr): a bar redrawn in place
    when `is_tty`, else a line every tenth of the way. `service` is the BotService with the approved
    resources loaded."""
    return asyncio.run(check_links(service, store, out, concurrency=concurrency, fmt=fmt, is_tty=is_tty,
                                   err=err, checker=checker))


async def check_links(service: Any, store: Store, out: TextIO, *, concurrency: int = CONCURRENCY,
                      fmt: str = "text", is_tty: bool = False, err: TextIO | None = None,
                      checker: LinkChecker | None = None) -> int:
    """`run_links_check` for a caller already inside an event loop."""
    err = err or sys.stderr
    bar = _ProgressBar(err, tty=is_tty)
    try:
        run = await check_catalog(service.catalog, store, checker=checker, concurrency=concurrency, progress=bar)
    except StorageError as exc:
        bar.finish()
        print(f"mlops-bot links check: the results could not be stored: {exc}", file=err)
        return EXIT_PROBLEM
    bar.finish()
    if fmt == "json":
        json.dump({"run_id": run.run_id, "started_at": run.started_at.isoformat(),
                   "elapsed_s": round(run.elapsed_s, 3), "summary": run.counts,
                   "results": [r.to_json() for r in run.results]}, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        write_text(run, out)
    return EXIT_PROBLEM if run.failed else EXIT_OK


def write_text(run: Run, out: TextIO) -> None:
    """One line per link that is not plainly ok (broken first), then the summary."""
    width = max(len(o) for o in OUTCOMES)
    for result in sorted((r for r in run.results if r.outcome != OK), key=lambda r: _ORDER[r.outcome]):
        out.write(f"{result.outcome:<{width}}  {result.url}  {_detail(result)}  [{_users(result)}]\n")
    counts = run.counts
    links = len(run.results)
    out.write(f"{links} link{'s' if links != 1 else ''} checked in {run.elapsed_s:.1f} s: "
              + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES) + f" (run {run.run_id})\n")


def _detail(result: LinkResult) -> str:
    if result.outcome == REDIRECTED:
        moved = "moved permanently: use the new address" if result.permanent else "a temporary redirect"
        return f"→ {result.final_url} ({moved})"
    status = f"HTTP {result.http_status}" if result.http_status else ""
    error = result.error or ""
    if status and status in error:
        return error
    return " · ".join(part for part in (status, error) if part)


def _users(result: LinkResult) -> str:
    return ", ".join(u.resource_id + ("" if u.main else " (link)") for u in result.target.uses) or "no resource"


class _ProgressBar:
    """The progress callback: `\\r[#####   ] 120/480 …` on a terminal, plain lines in a log."""

    def __init__(self, err: TextIO, *, tty: bool) -> None:
        self.err = err
        self.tty = tty
        self.counts: Counter[str] = Counter()
        self.drawn = False
        self.last = 0.0
        self.next_line = 0

    def __call__(self, result: LinkResult, done: int, total: int) -> None:
        self.counts[result.outcome] += 1
        if self.tty:
            now = time.monotonic()
            if done < total and now - self.last < 0.1:  # a redraw per link would cost more than the check
                return
            self.last = now
            filled = _BAR_WIDTH * done // max(1, total)
            bad = self.counts[BROKEN] + self.counts[UNREACHABLE]
            self.err.write(f"\r[{'#' * filled}{' ' * (_BAR_WIDTH - filled)}] {done}/{total} links"
                           f"  {self.counts[OK]} ok · {self.counts[REDIRECTED]} redirected · {bad} failing")
            self.err.flush()
            self.drawn = True
        elif done >= self.next_line or done == total:
            self.err.write(f"checked {done}/{total} links\n")
            self.next_line = done + max(1, total // 10)

    def finish(self) -> None:
        if self.drawn:
            self.err.write("\n")
            self.err.flush()
            self.drawn = False


# -- the review-channel report --------------------------------------------------------------------------

def report(changes: LinkChanges, catalog: Catalog | None = None) -> Reply:
    """A short post for the review channel; post it only when `changes` is not empty. With `catalog`,
    resources are named by their titles."""
    sections = [("Newly broken", changes.newly_broken, _broken_line), ("Fixed", changes.fixed, _fixed_line),
                ("Newly redirected", changes.newly_redirected, _redirect_line)]
    fields = tuple(Field(f"{name} ({len(items)})", _lines([line(c, catalog) for c in items]))
                   for name, items, line in sections if items)
    summary = ", ".join(f"{len(items)} {name.lower()}" for name, items, _ in sections if items)
    return Reply(header="Link check: " + (summary or "nothing changed"), fields=fields,
                 footer=f"Run {changes.run_id}. A resource whose main link fails in two weekly checks in a row "
                        "is marked in answers; `mlops-bot links check` runs one now.",
                 visibility=Visibility.PUBLIC)


def _lines(lines: list[str]) -> str:
    kept: list[str] = []
    for index, line in enumerate(lines[:REPORT_LINES]):
        more = len(lines) - index
        if sum(len(k) + 1 for k in kept) + len(line) > FIELD_CHARS - 40:
            kept.append(f"… and {more} more")
            return "\n".join(kept)
        kept.append(line)
    if len(lines) > REPORT_LINES:
        kept.append(f"… and {len(lines) - REPORT_LINES} more")
    return "\n".join(kept)


def _names(change: LinkChange, catalog: Catalog | None) -> str:
    names = []
    for resource_id in change.resource_ids[:3]:
        resource = catalog.get(resource_id) if catalog is not None else None
        names.append(resource.title if resource is not None else resource_id)
    if len(change.resource_ids) > 3:
        names.append(f"{len(change.resource_ids) - 3} more")
    return f" ({', '.join(names)})" if names else ""


def _broken_line(change: LinkChange, catalog: Catalog | None) -> str:
    why = change.error or (f"HTTP {change.http_status}" if change.http_status else change.outcome)
    return f"• {change.url} — {why}{_names(change, catalog)}"


def _fixed_line(change: LinkChange, catalog: Catalog | None) -> str:
    return f"• {change.url} works again{_names(change, catalog)}"


def _redirect_line(change: LinkChange, catalog: Catalog | None) -> str:
    how = "moved permanently, use the new address" if change.permanent else "temporary redirect"
    return f"• {change.url} → {change.final_url} ({how}){_names(change, catalog)}"


# -- the weekly job ---------------------------------------------------------------------------------------

def week_key(now: dt.datetime) -> str:
    year, week, _ = now.astimezone(dt.UTC).isocalendar()
    return f"links:check:{year}-W{week:02d}"


async def weekly_link_check(service: Any, store: Store, posters: Posters, review_channels: Mapping[str, str], *,
                            checker: LinkChecker | None = None,
                            clock: Callable[[], dt.datetime] | None = None) -> LinkChanges | None:
    """The week's link check, once across replicas (claimed per ISO week): check, record, and post the
    report to each review channel when something changed. Returns the changes, or None when another
    replica has this week's check. A failure before the results were stored frees the week again."""
    now = (clock or store.clock)()
    key = week_key(now)
    if not await store.claim(key, WEEKLY_LEASE):
        return None
    try:
        run = await check_catalog(service.catalog, store, checker=checker)
    except BaseException:
        await store.release(key)
        raise
    await store.complete(key)
    repo = LinksRepo(store.engine, store.clock)
    changes = await asyncio.to_thread(repo.changes, run.run_id)
    await asyncio.to_thread(repo.forget_runs, STREAK_RUNS)
    if changes:
        await post_report(changes, service.catalog, posters, review_channels.items())
    return changes


async def post_report(changes: LinkChanges, catalog: Catalog, posters: Posters,
                      channels: Iterable[tuple[str, str]]) -> None:
    reply = report(changes, catalog)
    for platform, channel in channels:
        poster = posters.get(platform)
        if poster is None or not channel:
            continue
        try:
            await poster.post(channel, reply, key=f"links:{changes.run_id}:{platform}")
        except PostError as exc:
            log.error("could not post the link check report to the %s review channel: %s%s", platform, exc,
                      f" ({exc.hint})" if exc.hint else "")
