"""`mlops-bot links check` and the weekly link check, against a local server and a real SQLite file."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest

from bot.app.linkcheck import LinkChecker
from bot.app.links_cli import report, run_links_check, weekly_link_check
from bot.app.posting import Posters
from bot.core.catalog import Catalog, Category, Link, Resource
from bot.service import BotService
from bot.storage import Store, open_store
from bot.storage.links_repo import LinkChange, LinkChanges, LinksRepo
from bot.storage.schema import link_checks
from tests.app.conftest import RecordingPoster
from tests.app.link_server import LinkServer, serving, serving_in_thread
from tests.pg import fresh_postgres_database

NOW = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.UTC)


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def service_for(server: LinkServer, paths: dict[str, str], links: dict[str, str] | None = None) -> BotService:
    """A live catalog whose resources (id -> path) point at the local server."""
    links = links or {}
    resources = tuple(Resource(rid, rid.replace("-", " ").title(), "tool", "tools", "x", url=server.url(path),
                               links=(Link("Docs", server.url(links[rid])),) if rid in links else ())
                      for rid, path in paths.items())
    return BotService(Catalog(resources, (Category("tools", "Tools", "s"),)))


def checker(clock: dt.datetime = NOW) -> LinkChecker:
    return LinkChecker(timeout=0.3, clock=lambda: clock, sleep=no_wait)


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    made = open_store(f"sqlite:///{tmp_path}/x.db", clock=lambda: NOW)
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        made = open_store(f"sqlite:///{tmp_path}/y.db", clock=lambda: NOW)
        yield made
        made.close()
    else:
        with fresh_postgres_database() as url:
            made = open_store(url, clock=lambda: NOW)
            try:
                yield made
            finally:
                made.close()


@pytest.fixture
def threaded_server() -> Iterator[LinkServer]:
    with serving_in_thread() as state:
        yield state


MIXED = {"mlflow": "/ok", "dvc": "/moved", "feast": "/missing", "kubeflow": "/slow", "tecton": "/found"}


def test_text_lists_each_link_that_is_not_ok_then_a_summary_and_exits_1_when_one_fails(threaded_server, store):
    out, err = io.StringIO(), io.StringIO()
    code = run_links_check(service_for(threaded_server, MIXED, {"mlflow": "/gone"}), store, out, err=err,
                           checker=checker())
    assert code == 1
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["broken", "broken", "unreachable", "redirected",
                                                       "redirected"]
    assert any(threaded_server.url("/missing") in line and "HTTP 404" in line and "[feast]" in line
               for line in lines)
    assert any(threaded_server.url("/gone") in line and "[mlflow (link)]" in line for line in lines)
    assert any(f"→ {threaded_server.url('/ok')} (moved permanently: use the new address)  [dvc]" in line
               for line in lines)
    assert any("no answer within 0.3 s" in line for line in lines)
    assert lines[-1].startswith("6 links checked in ")
    assert "1 ok, 2 redirected, 2 broken, 1 unreachable" in lines[-1]


def test_every_link_working_exits_0(threaded_server, store):
    out = io.StringIO()
    code = run_links_check(service_for(threaded_server, {"mlflow": "/ok", "dvc": "/no-head"}), store, out,
                           err=io.StringIO(), checker=checker())
    assert code == 0
    assert out.getvalue().splitlines()[-1].startswith("2 links checked in ")


def test_json_has_every_result_with_its_resources_and_a_summary(threaded_server, store):
    out = io.StringIO()
    code = run_links_check(service_for(threaded_server, MIXED), store, out, fmt="json", err=io.StringIO(),
                           checker=checker())
    assert code == 1
    data = json.loads(out.getvalue())
    assert data["summary"] == {"ok": 1, "redirected": 2, "broken": 1, "unreachable": 1}
    by_url = {r["url"]: r for r in data["results"]}
    assert len(by_url) == 5
    moved = by_url[threaded_server.url("/moved")]
    assert moved["outcome"] == "redirected" and moved["permanent"] is True
    assert moved["final_url"] == threaded_server.url("/ok")
    assert moved["redirects"] == [{"status": 301, "to": threaded_server.url("/ok")}]
    assert moved["resources"] == [{"id": "dvc", "main": True}]
    assert by_url[threaded_server.url("/missing")]["http_status"] == 404
    assert moved["checked_at"] == NOW.isoformat()


def test_the_results_are_stored_as_one_run_with_the_time_of_the_check(threaded_server, store):
    out = io.StringIO()
    run_links_check(service_for(threaded_server, MIXED), store, out, fmt="json", err=io.StringIO(), checker=checker())
    [run] = LinksRepo(store.engine, store.clock).latest_runs(5)
    assert run.run_id == json.loads(out.getvalue())["run_id"]
    assert run.started_at == NOW and run.total == 5


def test_a_terminal_sees_one_progress_line_redrawn_and_a_log_sees_plain_lines(threaded_server, store):
    paths = {f"r{i}": f"/ok?n={i}" for i in range(20)}
    tty, log = io.StringIO(), io.StringIO()
    run_links_check(service_for(threaded_server, paths), store, io.StringIO(), is_tty=True, err=tty,
                    checker=checker())
    run_links_check(service_for(threaded_server, paths), store, io.StringIO(), is_tty=False, err=log,
                    checker=checker())
    assert tty.getvalue().startswith("\r[") and tty.getvalue().endswith("\n")
    assert tty.getvalue().count("\n") == 1
    assert "20/20 links  20 ok · 0 redirected · 0 failing" in tty.getvalue()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[-1] == "checked 20/20 links" and 2 <= len(lines) <= 11


def test_results_that_cannot_be_stored_exit_1_and_say_so(threaded_server, store):
    link_checks.drop(store.engine)
    err = io.StringIO()
    code = run_links_check(service_for(threaded_server, {"mlflow": "/ok"}), store, io.StringIO(), err=err,
                           checker=checker())
    assert code == 1
    assert "could not be stored" in err.getvalue()


def test_the_report_says_what_changed_with_the_resources_titles():
    catalog = Catalog((Resource("feast", "Feast", "tool", "tools", "x", url="https://feast.dev/"),),
                      (Category("tools", "Tools", "s"),))
    changes = LinkChanges("run-2", "run-1",
                          newly_broken=(LinkChange("https://feast.dev/", ("feast",), "broken", "ok", 404),),
                          newly_redirected=(LinkChange("https://old.example.org/", ("x",), "redirected", "ok", 200,
                                                       "https://new.example.org/", True),))
    reply = report(changes, catalog)
    assert reply.header == "Link check: 1 newly broken, 1 newly redirected"
    assert [f.name for f in reply.fields] == ["Newly broken (1)", "Newly redirected (1)"]
    assert reply.fields[0].value == "• https://feast.dev/ — HTTP 404 (Feast)"
    assert "→ https://new.example.org/ (moved permanently, use the new address) (x)" in reply.fields[1].value
    assert "run-2" in reply.footer


def test_a_report_of_many_changes_stays_short():
    many = tuple(LinkChange(f"https://h{i}.example.org/{'x' * 150}", (f"r{i}",), "broken", "ok", 404)
                 for i in range(40))
    reply = report(LinkChanges("r", None, newly_broken=many))
    value = reply.fields[0].value
    assert len(value) <= 1000
    assert value.splitlines()[-1].startswith("… and ")
    assert reply.fields[0].name == "Newly broken (40)"


async def test_the_weekly_check_posts_a_report_to_each_review_channel_when_something_changed(any_store):
    store = any_store
    slack, discord = RecordingPoster("slack"), RecordingPoster("discord")
    posters = Posters()
    posters.add(slack)
    posters.add(discord)
    async with serving() as server:
        service = service_for(server, {"feast": "/missing", "mlflow": "/ok"})
        changes = await weekly_link_check(service, store, posters, {"slack": "C0REVIEW", "discord": "123"},
                                          checker=checker(), clock=lambda: NOW)
    assert changes is not None and [c.url for c in changes.newly_broken] == [server.url("/missing")]
    [(channel, reply, key)] = slack.posts
    assert channel == "C0REVIEW" and key == f"links:{changes.run_id}:slack"
    assert reply.header == "Link check: 1 newly broken"
    assert "(Feast)" in reply.fields[0].value
    assert [p[0] for p in discord.posts] == ["123"]


async def test_the_weekly_check_runs_once_a_week_however_many_replicas_ask(any_store):
    store = any_store
    poster = RecordingPoster()
    posters = Posters()
    posters.add(poster)
    async with serving() as server:
        service = service_for(server, {"feast": "/missing"})
        first = await asyncio.gather(*(weekly_link_check(service, store, posters, {"slack": "C"}, checker=checker(),
                                                         clock=lambda: NOW) for _ in range(3)))
        assert sum(r is not None for r in first) == 1
        assert server.hits["/missing"] == 2  # HEAD then GET, once
        later = NOW + dt.timedelta(days=7)
        again = await weekly_link_check(service, store, posters, {"slack": "C"}, checker=checker(later),
                                        clock=lambda: later)
    assert again is not None and not again  # a week later it is still broken: nothing new to say
    assert len(poster.posts) == 1
    assert LinksRepo(store.engine, store.clock).broken_twice() == {"feast": (NOW, server.url("/missing"))}
