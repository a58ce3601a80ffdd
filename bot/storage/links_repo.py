"""Link check results in the database (`link_checks`): one row per URL and resource using it, per run.

A run is every row with one `run_id`; runs are ordered by when their first URL was checked. A resource's
main link is marked in answers only when it failed (broken or unreachable) in the last two runs in a row:
one failed run is often the other side's bad night. Every method is one short transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import SQLAlchemyError

from bot.core.urls import normalize_url
from bot.errors import StorageError
from bot.storage.schema import link_checks, utc

if TYPE_CHECKING:
    from bot.app.linkcheck import LinkResult

Clock = Callable[[], dt.datetime]
BAD = ("broken", "unreachable")
GOOD = ("ok", "redirected")
# How far back a streak of failures is followed for "broken since": two years of weekly runs.
STREAK_RUNS = 104


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)  # distinct URLs by outcome

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class LinkChange:
    """One URL whose state changed; `before` is its outcome in the previous run (None: not checked then)."""

    url: str
    resource_ids: tuple[str, ...]
    outcome: str
    before: str | None
    http_status: int | None = None
    final_url: str | None = None
    permanent: bool = False
    error: str | None = None


@dataclass(frozen=True)
class LinkChanges:
    """What a run found that the run before it had not."""

    run_id: str
    previous_run_id: str | None
    newly_broken: tuple[LinkChange, ...] = ()
    fixed: tuple[LinkChange, ...] = ()
    newly_redirected: tuple[LinkChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.newly_broken or self.fixed or self.newly_redirected)


class LinksRepo:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, run_id: str, results: Iterable[LinkResult]) -> int:
        """Store a run's results in one transaction; recording the same run again replaces it (a retry
        after a commit whose answer was lost). Returns the rows written."""
        rows: list[dict[str, Any]] = []
        for result in results:
            key = normalize_url(result.url)[:2100]
            base = {"run_id": run_id, "url": result.url, "url_key": key, "checked_at": result.checked_at,
                    "outcome": result.outcome, "http_status": result.http_status, "final_url": result.final_url,
                    "permanent": result.permanent, "error": result.error}
            uses = result.target.uses
            if not uses:
                rows.append({**base, "resource_id": None, "main": False})
            rows += [{**base, "resource_id": use.resource_id, "main": use.main} for use in uses]
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(link_checks).where(link_checks.c.run_id == run_id))
                if rows:
                    conn.execute(insert(link_checks), rows)
        except SQLAlchemyError as exc:
            raise StorageError(f"saving link check results failed: {exc.__class__.__name__}") from exc
        return len(rows)

    def latest_runs(self, n: int = 2) -> list[RunSummary]:
        """The newest `n` runs, newest first, with how many distinct URLs had each outcome."""
        runs = self._runs(n)
        if not runs:
            return []
        counts: dict[str, dict[str, int]] = {run_id: {} for run_id, _, _ in runs}
        for row in self._all(select(link_checks.c.run_id, link_checks.c.outcome,
                                    func.count(func.distinct(link_checks.c.url_key)).label("n"))
                             .where(link_checks.c.run_id.in_(list(counts)))
                             .group_by(link_checks.c.run_id, link_checks.c.outcome)):
            counts[row["run_id"]][row["outcome"]] = int(row["n"])
        return [RunSummary(run_id, started, finished, counts[run_id]) for run_id, started, finished in runs]

    def broken_twice(self) -> dict[str, tuple[dt.datetime, str]]:
        """Resources whose main link failed in each of the last two runs (the same link both times):
        resource id -> (when it was first seen failing in that unbroken streak, the URL)."""
        runs = [run_id for run_id, _, _ in self._runs(STREAK_RUNS)]
        if len(runs) < 2:
            return {}
        latest = {(r["resource_id"], r["url_key"]): r for r in self._main_rows(runs[:1], bad_only=True)}
        before = {(r["resource_id"], r["url_key"]) for r in self._main_rows(runs[1:2], bad_only=True)}
        twice = {pair: row for pair, row in latest.items() if pair in before}
        if not twice:
            return {}
        ids = sorted({resource_id for resource_id, _ in twice})
        history: dict[tuple[str, str], dict[str, RowMapping]] = {}
        for row in self._main_rows(runs, resource_ids=ids):
            history.setdefault((row["resource_id"], row["url_key"]), {})[row["run_id"]] = row
        out: dict[str, tuple[dt.datetime, str]] = {}
        for pair, row in twice.items():
            first = row
            for run_id in runs:  # newest to oldest, until a run where it worked or was not checked
                older = history.get(pair, {}).get(run_id)
                if older is None or older["outcome"] not in BAD:
                    break
                first = older
            out[pair[0]] = (utc(first["checked_at"]), row["url"])  # type: ignore[assignment]
        return out

    def changes(self, run_id: str) -> LinkChanges:
        """Newly broken, fixed and newly redirected URLs of `run_id` against the run before it. In the first
        run everything failing or redirected is new."""
        runs = [r for r, _, _ in self._runs(None)]
        if run_id not in runs:
            return LinkChanges(run_id, None)
        position = runs.index(run_id)
        previous = runs[position + 1] if position + 1 < len(runs) else None
        now = self._by_url(run_id)
        then = self._by_url(previous) if previous else {}
        broken, fixed, redirected = [], [], []
        for key, row in now.items():
            old = then.get(key)
            before = old["outcome"] if old else None
            change = LinkChange(row["url"], tuple(row["resource_ids"]), row["outcome"], before,
                                row["http_status"], row["final_url"], bool(row["permanent"]), row["error"])
            if row["outcome"] in BAD and before not in BAD:
                broken.append(change)
            elif row["outcome"] in GOOD and before in BAD:
                fixed.append(change)
            if row["outcome"] == "redirected" and not (
                    before == "redirected" and _same(old["final_url"], row["final_url"])):  # type: ignore[index]
                redirected.append(change)
        return LinkChanges(run_id, previous, tuple(broken), tuple(fixed), tuple(redirected))

    def forget_runs(self, keep: int) -> int:
        """Delete all but the newest `keep` runs (keep at least two: marks need them); rows deleted."""
        keep_ids = [run_id for run_id, _, _ in self._runs(max(2, keep))]
        try:
            with self.engine.begin() as conn:
                result = conn.execute(delete(link_checks).where(link_checks.c.run_id.not_in(keep_ids)))
                return result.rowcount or 0
        except SQLAlchemyError as exc:
            raise StorageError(f"forgetting link checks failed: {exc.__class__.__name__}") from exc

    # -- plumbing ---------------------------------------------------------------------------------------

    def _runs(self, n: int | None) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """(run_id, first checked_at, last checked_at), newest first."""
        started = func.min(link_checks.c.checked_at)
        query = (select(link_checks.c.run_id, started.label("started"),
                        func.max(link_checks.c.checked_at).label("finished"))
                 .group_by(link_checks.c.run_id).order_by(started.desc(), func.max(link_checks.c.id).desc()))
        if n is not None:
            query = query.limit(n)
        return [(r["run_id"], utc(r["started"]), utc(r["finished"])) for r in self._all(query)]  # type: ignore[misc]

    def _main_rows(self, runs: list[str], *, bad_only: bool = False,
                   resource_ids: list[str] | None = None) -> list[RowMapping]:
        query = select(link_checks).where(link_checks.c.run_id.in_(runs), link_checks.c.main.is_(True),
                                          link_checks.c.resource_id.is_not(None))
        if bad_only:
            query = query.where(link_checks.c.outcome.in_(BAD))
        if resource_ids is not None:
            query = query.where(link_checks.c.resource_id.in_(resource_ids))
        return self._all(query)

    def _by_url(self, run_id: str) -> dict[str, dict[str, Any]]:
        """A run's results by URL key, each with the resources that use the URL."""
        out: dict[str, dict[str, Any]] = {}
        for row in self._all(select(link_checks).where(link_checks.c.run_id == run_id).order_by(link_checks.c.id)):
            entry = out.setdefault(row["url_key"], {**row, "resource_ids": []})
            if row["resource_id"] is not None and row["resource_id"] not in entry["resource_ids"]:
                entry["resource_ids"].append(row["resource_id"])
        return out

    def _all(self, query: Any) -> list[RowMapping]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query).mappings())
        except SQLAlchemyError as exc:
            raise StorageError(f"reading link checks failed: {exc.__class__.__name__}") from exc


def _same(a: str | None, b: str | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and normalize_url(a) == normalize_url(b))
