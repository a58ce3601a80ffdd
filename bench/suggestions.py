"""Suggestions under load, as members and moderators make them.

1. A burst: 1,000 suggestions from 250 members (4 each, under the daily limit), 50 at a time, through
   the service (`BotService.handle`, what every platform calls), on SQLite and on PostgreSQL: submissions
   per second and p99 latency, beside a bare SQLAlchemy insert of the same rows at the same concurrency.
2. The same burst in a child process killed with SIGKILL midway, then run again (members retry):
   every acknowledged suggestion is there with the number it was given, none twice.
3. Approval to searchable: on this replica (the approval's own latency), and in a second process that
   polls the overlay as every replica does, at seed size and at 100,000 resources; and search p99 while
   approvals are made beside its p99 at rest.

    python bench/suggestions.py [--sizes seed,100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synthetic_catalog import make_catalog  # noqa: E402
from bot.catalog_file import PACKAGED_CATALOG  # noqa: E402
from bot.core.catalog_loader import load_catalog  # noqa: E402
from bot.core.context import Community  # noqa: E402
from bot.core.permissions import Moderators  # noqa: E402
from bot.core.search_api import SearchQuery  # noqa: E402
from bot.service import BotService, Request  # noqa: E402

MEMBERS, EACH, CONCURRENCY = 250, 4, 50
MODERATOR = "UMOD"


def requests() -> list[Request]:
    return [Request(f"suggest https://example.com/guides/topic-{m}-{n} Guide {m} {n} | useful",
                    platform="slack", user_id=f"U{m:04d}", user_name=f"member{m}", channel_id="C1")
            for n in range(EACH) for m in range(MEMBERS)]


def make_app(database_url: str, catalog: object = None):  # type: ignore[no-untyped-def]
    from bot.app.wiring import build_app
    from bot.storage import open_store

    community = Community(moderators=Moderators(slack_users=frozenset({MODERATOR})), suggestions_per_day=5)
    service = (BotService(catalog, community=community) if catalog is not None  # type: ignore[arg-type]
               else BotService.from_file(PACKAGED_CATALOG, community=community))
    return build_app(service, open_store(database_url))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def burst(database_url: str) -> tuple[float, float, int]:
    app = make_app(database_url)
    latencies: list[float] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(request: Request) -> None:
        async with gate:
            started = time.perf_counter()
            reply = await app.service.handle(request)
            latencies.append(time.perf_counter() - started)
            assert reply.header.endswith("received"), reply.header  # type: ignore[union-attr]

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests()))
    took = time.perf_counter() - started
    stored = len(app.suggestions.repo.listing())  # type: ignore[union-attr]
    app.store.close()
    return len(latencies) / took, pct(latencies, 0.99) * 1000, stored


async def bare_insert(database_url: str) -> tuple[float, float]:
    """The floor: the same rows, one transaction each, through SQLAlchemy alone, at the same concurrency."""
    import datetime as dt

    from sqlalchemy import insert

    from bot.core.urls import normalize_url
    from bot.storage import open_store
    from bot.storage.schema import suggestions

    store = open_store(database_url)
    now = dt.datetime.now(dt.UTC)
    rows = [{"platform": r.platform, "user_id": r.user_id, "user_name": r.user_name, "channel_id": r.channel_id,
             "url": r.text.split()[1], "url_key": normalize_url(r.text.split()[1]), "title": "Guide", "why": "useful",
             "state": "pending", "created_at": now, "updated_at": now} for r in requests()]
    latencies: list[float] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    def write(row: dict[str, object]) -> None:
        with store.engine.begin() as conn:
            conn.execute(insert(suggestions).values(**row))

    async def one(row: dict[str, object]) -> None:
        async with gate:
            started = time.perf_counter()
            await asyncio.to_thread(write, row)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in rows))
    took = time.perf_counter() - started
    store.close()
    return len(rows) / took, pct(latencies, 0.99) * 1000


# -- the burst killed midway ------------------------------------------------------------------------

async def child_burst(database_url: str) -> None:
    """Runs in the child: submit everything, print each acknowledgement as soon as it is given."""
    app = make_app(database_url)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(request: Request) -> None:
        async with gate:
            reply = await app.service.handle(request)
            number = reply.header.split("#")[1].split()[0]  # type: ignore[union-attr]
            print(json.dumps([request.user_id, request.text.split()[1], int(number)]), flush=True)

    await asyncio.gather(*(one(r) for r in requests()))


def killed_burst(database_url: str) -> dict[str, int]:
    env = {**os.environ, "DATABASE_URL": database_url}
    acked: dict[tuple[str, str], int] = {}
    child = subprocess.Popen([sys.executable, __file__, "--child-burst", database_url], stdout=subprocess.PIPE,
                             env=env, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        user, url, number = json.loads(line)
        acked[(user, url)] = number
        if len(acked) >= 500:
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    acked_before_kill = len(acked)
    again = subprocess.run([sys.executable, __file__, "--child-burst", database_url], capture_output=True, env=env,
                           text=True, check=True)
    changed = 0
    for line in again.stdout.splitlines():
        user, url, number = json.loads(line)
        if (user, url) in acked and acked[(user, url)] != number:
            changed += 1
        acked.setdefault((user, url), number)
    app = make_app(database_url)
    rows = app.suggestions.repo.listing()  # type: ignore[union-attr]
    app.store.close()
    stored = {(r["user_id"], r["url"]): r["id"] for r in rows}
    return {"acknowledged before the kill": acked_before_kill,
            "acknowledged in all": len(acked),
            "stored": len(rows),
            "acknowledged but missing": sum(1 for key in acked if key not in stored),
            "stored twice": len(rows) - len(stored),
            "number changed on retry": changed}


# -- approval to searchable ---------------------------------------------------------------------------

def catalog_of(size: str):  # type: ignore[no-untyped-def]
    return load_catalog(PACKAGED_CATALOG) if size == "seed" else make_catalog(int(size))


async def approvals(database_url: str, size: str, count: int = 20) -> dict[str, float]:
    from bot.app.wiring import App

    catalog = catalog_of(size)
    app: App = make_app(database_url, catalog)
    watcher = subprocess.Popen([sys.executable, __file__, "--child-watch", database_url, size, str(count)],
                               stdout=subprocess.PIPE, text=True)
    assert watcher.stdout is not None
    assert watcher.stdout.readline().strip() == "ready"
    moderator = Request("", platform="slack", user_id=MODERATOR, user_name="mod")
    for n in range(count):
        await app.service.handle(Request(f"suggest https://example.org/approve-{n} Approvable Guide {n}",
                                         platform="slack", user_id=MODERATOR))
    searches = ("feature store", "model monitoring", "experiment tracking", "data versioning", "mlops book")

    async def timed_searches(seconds: float) -> list[float]:
        out: list[float] = []
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            started = time.perf_counter()
            app.service.search.search(SearchQuery(text=searches[i % len(searches)]), limit=5)
            out.append(time.perf_counter() - started)
            i += 1
            await asyncio.sleep(0.001)
        return out

    at_rest = await timed_searches(2.0)
    here: list[float] = []
    approved_at: dict[int, float] = {}

    async def approve_all() -> None:
        for n in range(count):
            started = time.perf_counter()
            approved_at[n] = time.time()
            await app.suggestions.decide(n + 1, moderator, approve=True, kind="tutorial",  # type: ignore[union-attr]
                                         category=catalog.categories[0].id)
            found = [h.resource.id for h in app.service.search.search(
                SearchQuery(text=f"Approvable Guide {n}"), limit=3).hits]
            assert f"approvable-guide-{n}" in found, found
            here.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    during_task = asyncio.ensure_future(timed_searches(count * 0.1 + 1))
    await approve_all()
    during = await during_task
    elsewhere = []
    for line in watcher.stdout:
        n, seen_at = json.loads(line)
        elsewhere.append(seen_at - approved_at[n])
    watcher.wait()
    await app.suggestions.drain(5)  # type: ignore[union-attr]
    app.store.close()
    return {"here p50 ms": statistics.median(here) * 1000, "here max ms": max(here) * 1000,
            "elsewhere p50 s": statistics.median(elsewhere), "elsewhere max s": max(elsewhere),
            "search p99 at rest ms": pct(at_rest, 0.99) * 1000, "search p99 during ms": pct(during, 0.99) * 1000}


async def child_watch(database_url: str, size: str, count: int) -> None:
    """Runs in the second process: a replica that polls the overlay, as `mlops-bot run` does."""
    from bot.app.suggestions import SYNC_EVERY

    app = make_app(database_url, catalog_of(size))
    await app.suggestions.sync()  # type: ignore[union-attr]
    print("ready", flush=True)
    waiting = set(range(count))
    deadline = time.time() + 120
    while waiting and time.time() < deadline:
        await app.suggestions.sync()  # type: ignore[union-attr]
        for n in sorted(waiting):
            hits = app.service.search.search(SearchQuery(text=f"Approvable Guide {n}"), limit=3).hits
            if any(h.resource.id == f"approvable-guide-{n}" for h in hits):
                print(json.dumps([n, time.time()]), flush=True)
                waiting.discard(n)
        await asyncio.sleep(SYNC_EVERY)
    app.store.close()


def databases(with_postgres: bool):  # type: ignore[no-untyped-def]
    import contextlib

    @contextlib.contextmanager
    def sqlite():  # type: ignore[no-untyped-def]
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"

    out = [("SQLite", sqlite)]
    if with_postgres:
        from tests.pg import fresh_postgres_database

        out.append(("PostgreSQL", fresh_postgres_database))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="seed,100000")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child-burst", metavar="URL")
    parser.add_argument("--child-watch", nargs=3, metavar=("URL", "SIZE", "COUNT"))
    args = parser.parse_args()
    if args.child_burst:
        asyncio.run(child_burst(args.child_burst))
        return
    if args.child_watch:
        url, size, count = args.child_watch
        asyncio.run(child_watch(url, size, int(count)))
        return
    print(f"1. burst: {MEMBERS * EACH} suggestions from {MEMBERS} members, {CONCURRENCY} at a time")
    print(f"{'database':<12} {'service/s':>10} {'p99 ms':>8} {'bare insert/s':>14} {'p99 ms':>8} {'stored':>7}")
    for name, database in databases(not args.no_postgres):
        with database() as url:
            rate, p99, stored = asyncio.run(burst(url))
        with database() as url:
            bare_rate, bare_p99 = asyncio.run(bare_insert(url))
        print(f"{name:<12} {rate:>10.0f} {p99:>8.1f} {bare_rate:>14.0f} {bare_p99:>8.1f} {stored:>7}")
    print("\n2. the burst killed with SIGKILL after 500 acknowledgements, then run again")
    for name, database in databases(not args.no_postgres):
        with database() as url:
            counts = killed_burst(url)
        print(f"{name:<12} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    print("\n3. approval to searchable (20 approvals; a second process polls the overlay)")
    for size in args.sizes.split(","):
        for name, database in databases(not args.no_postgres)[-1:]:
            with database() as url:
                figures = asyncio.run(approvals(url, size))
            print(f"{size:>7} on {name:<10} " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    print("\ntargets: here ≤ 1 s, elsewhere ≤ 10 s, search p99 during approvals ≤ 2× at rest; "
          "none acknowledged and missing, none twice")


if __name__ == "__main__":
    main()
