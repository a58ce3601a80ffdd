"""Link check runs in the database: recording, the runs, links broken twice, and what changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.app.linkcheck import BROKEN, OK, REDIRECTED, UNREACHABLE, LinkResult, LinkTarget, Use
from bot.storage import Store, open_store
from bot.storage.links_repo import LinkChanges, LinksRepo
from bot.storage.schema import link_checks
from tests.pg import fresh_postgres_database

MON = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        made = open_store(f"sqlite:///{tmp_path}/x.db")
        yield made
        made.close()
    else:
        with fresh_postgres_database() as url:
            made = open_store(url)
            try:
                yield made
            finally:
                made.close()


@pytest.fixture
def repo(store: Store) -> LinksRepo:
    return LinksRepo(store.engine, store.clock)


def result(url: str, outcome: str, at: dt.datetime, *uses: Use, status: int | None = None,
           final_url: str | None = None, permanent: bool = False, error: str | None = None) -> LinkResult:
    first, *also = uses or (None,)
    target = LinkTarget(url, first.resource_id if first else None, first.main if first else False, tuple(also))
    if status is None:
        status = {OK: 200, REDIRECTED: 200, BROKEN: 404, UNREACHABLE: None}[outcome]
    return LinkResult(target, outcome, status, at, final_url=final_url, permanent=permanent, error=error)


def week(n: int, *results_at: tuple) -> tuple[str, list[LinkResult]]:
    """Run `n` (week n after MON): ("run-n", results), each result given as (url, outcome, uses...)."""
    at = MON + n * WEEK
    return f"run-{n}", [result(url, outcome, at + dt.timedelta(seconds=i), *uses)
                        for i, (url, outcome, *uses) in enumerate(results_at)]


MLFLOW = "https://mlflow.org/"
GITHUB = "https://github.com/mlflow/mlflow"


def test_a_run_is_stored_one_row_per_resource_using_each_url(repo, store):
    run_id, results = week(0, (MLFLOW, OK, Use("mlflow", True), Use("examples", False)),
                           (GITHUB, BROKEN, Use("examples", True)), ("https://bare.example.org/", OK))
    assert repo.record(run_id, results) == 4
    with store.engine.connect() as conn:
        rows = conn.execute(select(link_checks).order_by(link_checks.c.id)).mappings().all()
    assert [(r["url"], r["resource_id"], r["main"], r["outcome"]) for r in rows] == [
        (MLFLOW, "mlflow", True, OK), (MLFLOW, "examples", False, OK), (GITHUB, "examples", True, BROKEN),
        ("https://bare.example.org/", None, False, OK)]
    assert rows[0]["url_key"] == "mlflow.org"
    assert {r["run_id"] for r in rows} == {"run-0"}


def test_stored_results_keep_the_time_status_redirect_and_error(repo, store):
    at = MON + dt.timedelta(minutes=3)
    repo.record("r", [result(MLFLOW, REDIRECTED, at, Use("mlflow", True), status=200,
                             final_url="https://mlflow.org/docs/", permanent=True),
                      result(GITHUB, UNREACHABLE, at, Use("gh", True), error="no answer within 10 s")])
    with store.engine.connect() as conn:
        rows = conn.execute(select(link_checks).order_by(link_checks.c.id)).mappings().all()
    first, second = rows
    assert (first["http_status"], first["final_url"], first["permanent"]) == (200, "https://mlflow.org/docs/", True)
    assert (second["http_status"], second["error"]) == (None, "no answer within 10 s")
    assert {r["checked_at"].replace(tzinfo=dt.UTC) if r["checked_at"].tzinfo is None else r["checked_at"]
            for r in rows} == {at}


def test_recording_a_run_again_replaces_it(repo, store):
    run_id, results = week(0, (MLFLOW, OK, Use("mlflow", True)))
    repo.record(run_id, results)
    repo.record(run_id, results)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(link_checks)).scalar() == 1


def test_latest_runs_are_newest_first_with_counts_of_distinct_urls(repo):
    repo.record(*week(0, (MLFLOW, OK, Use("mlflow", True), Use("x", False)), (GITHUB, BROKEN, Use("gh", True))))
    repo.record(*week(1, (MLFLOW, OK, Use("mlflow", True)), (GITHUB, OK, Use("gh", True))))
    newest, older = repo.latest_runs(2)
    assert (newest.run_id, older.run_id) == ("run-1", "run-0")
    assert older.counts == {OK: 1, BROKEN: 1} and older.total == 2
    assert newest.counts == {OK: 2}
    assert newest.started_at == MON + WEEK and newest.finished_at == MON + WEEK + dt.timedelta(seconds=1)
    assert [r.run_id for r in repo.latest_runs(1)] == ["run-1"]


def test_a_main_link_broken_in_the_last_two_runs_is_broken_twice_since_the_first(repo):
    repo.record(*week(0, (MLFLOW, OK, Use("mlflow", True))))
    repo.record(*week(1, (MLFLOW, BROKEN, Use("mlflow", True))))
    assert repo.broken_twice() == {}  # once is not enough: the other side may have had a bad night
    repo.record(*week(2, (MLFLOW, UNREACHABLE, Use("mlflow", True))))
    assert repo.broken_twice() == {"mlflow": (MON + WEEK, MLFLOW)}
    repo.record(*week(3, (MLFLOW, BROKEN, Use("mlflow", True))))
    assert repo.broken_twice() == {"mlflow": (MON + WEEK, MLFLOW)}  # still since its first failure


def test_a_link_that_works_again_is_no_longer_broken_twice(repo):
    for n in range(3):
        repo.record(*week(n, (MLFLOW, BROKEN, Use("mlflow", True))))
    repo.record(*week(3, (MLFLOW, REDIRECTED, Use("mlflow", True))))
    assert repo.broken_twice() == {}
    repo.record(*week(4, (MLFLOW, BROKEN, Use("mlflow", True))))
    repo.record(*week(5, (MLFLOW, BROKEN, Use("mlflow", True))))
    assert repo.broken_twice() == {"mlflow": (MON + 4 * WEEK, MLFLOW)}  # a new streak


def test_only_main_links_count_and_a_replaced_url_starts_afresh(repo):
    repo.record(*week(0, (GITHUB, BROKEN, Use("mlflow", False)), (MLFLOW, BROKEN, Use("mlflow", True))))
    repo.record(*week(1, (GITHUB, BROKEN, Use("mlflow", False)), ("https://mlflow.org/new", BROKEN,
                                                                      Use("mlflow", True))))
    assert repo.broken_twice() == {}


def test_broken_twice_needs_the_resource_in_both_of_the_last_two_runs(repo):
    repo.record(*week(0, (MLFLOW, BROKEN, Use("mlflow", True))))
    repo.record(*week(1, (MLFLOW, BROKEN, Use("mlflow", True))))
    repo.record(*week(2, (GITHUB, OK, Use("gh", True))))  # mlflow left the catalog
    assert repo.broken_twice() == {}
    assert LinksRepo(repo.engine, repo.clock).broken_twice() == {}


def test_changes_are_newly_broken_fixed_and_newly_redirected_against_the_run_before(repo):
    repo.record(*week(0, (MLFLOW, OK, Use("mlflow", True)), (GITHUB, BROKEN, Use("gh", True)),
                      ("https://stays.example.org/", BROKEN, Use("s", True)),
                      ("https://moved.example.org/", OK, Use("m", True))))
    run_id, results = week(1, (MLFLOW, BROKEN, Use("mlflow", True), Use("ex", False)), (GITHUB, OK, Use("gh", True)),
                           ("https://stays.example.org/", UNREACHABLE, Use("s", True)),
                           ("https://moved.example.org/", OK, Use("m", True)))
    results[3] = result("https://moved.example.org/", REDIRECTED, results[3].checked_at, Use("m", True),
                        final_url="https://new.example.org/", permanent=True)
    repo.record(run_id, results)
    changes = repo.changes("run-1")
    assert changes.previous_run_id == "run-0"
    assert [(c.url, c.resource_ids, c.before, c.http_status) for c in changes.newly_broken] == [
        (MLFLOW, ("mlflow", "ex"), OK, 404)]
    assert [(c.url, c.before) for c in changes.fixed] == [(GITHUB, BROKEN)]
    assert [(c.url, c.final_url, c.permanent) for c in changes.newly_redirected] == [
        ("https://moved.example.org/", "https://new.example.org/", True)]
    assert changes


def test_a_redirect_seen_last_time_to_the_same_place_is_no_change(repo):
    for n in range(2):
        run_id, _ = week(n)
        repo.record(run_id, [result(MLFLOW, REDIRECTED, MON + n * WEEK, Use("mlflow", True),
                                    final_url="https://mlflow.org/docs")])
    assert repo.changes("run-1") == LinkChanges("run-1", "run-0")
    assert not repo.changes("run-1")


def test_in_the_first_run_every_failure_is_newly_broken(repo):
    repo.record(*week(0, (MLFLOW, BROKEN, Use("mlflow", True)), (GITHUB, OK, Use("gh", True))))
    changes = repo.changes("run-0")
    assert changes.previous_run_id is None
    assert [(c.url, c.before) for c in changes.newly_broken] == [(MLFLOW, None)]
    assert repo.changes("no-such-run") == LinkChanges("no-such-run", None)


def test_forgetting_keeps_the_newest_runs_and_never_fewer_than_two(repo):
    for n in range(5):
        repo.record(*week(n, (MLFLOW, BROKEN, Use("mlflow", True))))
    assert repo.forget_runs(3) == 2
    assert [r.run_id for r in repo.latest_runs(10)] == ["run-4", "run-3", "run-2"]
    repo.forget_runs(0)
    assert [r.run_id for r in repo.latest_runs(10)] == ["run-4", "run-3"]
    assert repo.broken_twice() == {"mlflow": (MON + 3 * WEEK, MLFLOW)}
