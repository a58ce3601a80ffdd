"""The query log and the stats: what members looked for, counted on the answer's path, written in batches,
shown to moderators; never who asked."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

from sqlalchemy import select

from bot.app.wiring import build_app
from bot.core.reply import Reply
from bot.storage.schema import query_log
from bot.storage.stats_repo import collect
from tests.app.conftest import MODERATOR, Clock, make_app, member
from tests.conftest import BIN, clean_env

SEARCHES = ["feature store", "Feature  Store", "mlfow", "qqqzzzxx", "kubeflow pipelines", "qqqzzzxx",
            "experiment tracking", "feature-store"]


async def test_every_search_is_counted_without_who_asked_and_the_stats_show_it(database_url: str, clock: Clock):
    app = make_app(database_url, clock)
    app = build_app(app.service, app.store, query_log_days=90) if app.query_log is None else app
    try:
        for text in SEARCHES:
            await app.service.handle(member(f"resource {text}", user="U0SECRETID", name="ada", channel="C0HIDDEN"))
        await app.service.handle(member("resource feature store", user="U0SECRETID").__class__(
            "resource feature store", platform="slack", user_id="U0SECRETID", offset=5))  # a next page: not again
        assert app.query_log.flush_sync() == len(SEARCHES)
        with app.store.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(query_log)).mappings()]
        assert all("U0SECRETID" not in json.dumps(r, default=str) and "C0HIDDEN" not in json.dumps(r, default=str)
                   and "ada" not in json.dumps(r, default=str) for r in rows)
        stats = collect(app.store.engine, clock(), 30)
        assert stats.searches == len(SEARCHES)
        assert stats.top_queries[0][:2] == ("feature store", 2)  # case and spacing folded
        assert ("qqqzzzxx", 2) in stats.no_results
        reply = await app.service.handle(member("stats", user=MODERATOR))
        assert isinstance(reply, Reply) and reply.header == "The last 30 days"
        assert "feature store (2×)" in reply.fields[0].value
        refused = await app.service.handle(member("stats", user="U0NOBODY"))
        assert refused.header == "Moderators only"
    finally:
        app.store.close()


async def test_the_query_log_forgets_rows_older_than_its_days(database_url: str, clock: Clock):
    base = make_app(database_url, clock)
    app = build_app(base.service, base.store, query_log_days=90)
    try:
        await app.service.handle(member("resource feast"))
        app.query_log.flush_sync()
        clock.now += dt.timedelta(days=91)
        await app.service.handle(member("resource mlflow"))
        app.query_log.flush_sync()
        assert app.query_log.forget_sync() == 1
        assert [q for q, *_ in collect(app.store.engine, clock(), 365).top_queries] == ["mlflow"]
    finally:
        app.store.close()


def test_mlops_bot_stats_reads_what_the_console_counted(tmp_path: Path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db")
    lines = "\n".join(f"/mlops resource {q}" for q in SEARCHES) + "\n/mlops list podcasts\n"
    subprocess.run([BIN / "mlops-bot", "run"], input=lines, capture_output=True, text=True, check=True, cwd=tmp_path,
                   env=env, timeout=60)
    done = subprocess.run([BIN / "mlops-bot", "stats", "--format", "json"], capture_output=True, text=True,
                          check=True, cwd=tmp_path, env=env, timeout=60)
    stats = json.loads(done.stdout)
    assert stats["searches"] == len(SEARCHES) and stats["commands"]["list"] == 1
    assert ["qqqzzzxx", 2] in stats["no_results"]
