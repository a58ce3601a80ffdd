"""The weekly digest's fan-out: N subscribed Slack channels due in the same minute, against the fake Slack.

    .venv/bin/python bench/digest_fanout.py [--channels 1000] [--idle-subscriptions 10000]

The fake Slack (tests/adapters/slack/fake_slack.py) runs in this process and enforces what Slack does:
1 message/s per channel, 50/s for the workspace, and 5% of posts answered 429 Retry-After: 1 at random.
The bot runs as a child process, as users run it: the real DigestService on a SQLite file, ticked by the
real scheduler (bot.jobs.start_jobs), posting through the real SlackPoster and slack_sdk's AsyncWebClient
(its 429 retry handler honouring Retry-After) on one shared aiohttp session, as the Slack adapter builds it.
Feeds are off (no network here): every digest has its static picks.

Printed: the time until every channel has its digest beside the bound (channels / 50 s), posts per channel
(exactly 1 each), channels lost (0), 429s answered, the bot's peak RSS and CPU seconds during the fan-out;
then the CPU cost of a tick with nothing due at --idle-subscriptions subscriptions (target ≤ 5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKSPACE_RATE = 50  # posts per second the fake's workspace accepts


# -- the bot: a child process ---------------------------------------------------------------------------

async def bot_main(api_url: str, db: str, channels: int, idle_subscriptions: int, concurrency: int,
                   rate: float) -> None:
    import aiohttp
    from sqlalchemy import func, select

    from bot.adapters.slack.poster import SlackPoster
    from bot.app.digest import DigestService
    from bot.app.posting import Posters
    from bot.catalog_file import PACKAGED_CATALOG
    from bot.jobs import start_jobs
    from bot.service import BotService
    from bot.storage import open_store
    from bot.storage.schema import digest_posts
    from tests.adapters.slack.fake_slack import BOT_TOKEN

    service = BotService.from_file(PACKAGED_CATALOG)
    store = open_store(f"sqlite:///{db}")
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    poster = SlackPoster.create(BOT_TOKEN, api_url=api_url, session=session)
    await poster.refresh()
    posters = Posters()
    posters.add(poster)
    digest = DigestService(service, store, posters, concurrency={"slack": concurrency} if concurrency else None,
                           rates={"slack": rate} if rate else None)
    digest.register()

    def posted() -> int:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(digest_posts)
                                    .where(digest_posts.c.state == "posted")).scalar_one())

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_start = time.process_time()
    started = time.perf_counter()
    jobs = start_jobs(store, digest=digest, first_tick_after=dt.timedelta(0))
    done_at = None
    while time.perf_counter() - started < channels / WORKSPACE_RATE * 5 + 120:
        await digest.drain()  # what the ticks started so far; a post put off to a later tick needs another
        if await asyncio.to_thread(posted) >= channels:
            done_at = time.perf_counter()
            break
        await asyncio.sleep(0.05)
    cpu_fanout = time.process_time() - cpu_start
    await jobs.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # Nothing due: add subscriptions up to `idle_subscriptions`, all due next week, then time bare ticks.
    extra = max(0, idle_subscriptions - channels)
    await asyncio.to_thread(add_subscriptions, store.engine, extra, channels,
                            dt.datetime.now(dt.UTC) + dt.timedelta(days=7))
    costs = []
    for _ in range(60):
        before = time.process_time()
        assert await digest.tick() == 0
        costs.append((time.process_time() - before) * 1000)
    await session.close()
    store.close()
    print(json.dumps({
        "elapsed": None if done_at is None else done_at - started, "cpu_fanout": cpu_fanout,
        "rss_before_kb": rss_before, "rss_peak_kb": rss_peak,
        "idle_tick_ms_median": statistics.median(costs), "idle_tick_ms_p90": sorted(costs)[int(len(costs) * 0.9)],
        "idle_subscriptions": channels + extra,
    }), flush=True)


def add_subscriptions(engine, count: int, first: int, due: dt.datetime) -> None:
    """Subscriptions straight into the table (setting up 10,000 one command at a time would take minutes)."""
    from sqlalchemy import insert

    from bot.core.digest import Cadence, previous_due
    from bot.storage.schema import digest_subscriptions

    if count <= 0:
        return
    # The cadence whose occurrence is `due`'s minute, so that catch_up sees exactly that occurrence.
    cadence = Cadence(due.weekday(), due.hour, due.minute, "UTC")
    occurrence = previous_due(cadence, due)
    now = dt.datetime.now(dt.UTC)
    rows = [{"platform": "slack", "channel_id": f"C{n:07d}", "weekday": cadence.weekday, "hour": cadence.hour,
             "minute": cadence.minute, "timezone": "UTC", "next_due_at": occurrence, "rotation": "{}",
             "created_by": "bench", "created_at": now, "updated_at": now} for n in range(first, first + count)]
    with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(insert(digest_subscriptions), rows[start:start + 1000])


# -- the bench: fake Slack here, the bot in a child ---------------------------------------------------------

async def main(channels: int, idle_subscriptions: int, concurrency: int, rate: float) -> None:
    from bot.storage import open_store
    from tests.adapters.slack.fake_slack import FakeSlack, RateLimits

    fake = await FakeSlack(rate_limits=RateLimits(per_channel=1, workspace=WORKSPACE_RATE, window=1.0,
                                                  random_share=0.05)).start()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/bench.db"
        store = open_store(f"sqlite:///{db}")
        add_subscriptions(store.engine, channels, 0, dt.datetime.now(dt.UTC))  # due this very minute
        store.close()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--bot", fake.api_url, db, str(channels), str(idle_subscriptions),
            str(concurrency), str(rate),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=tmp,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        out, err = await proc.communicate()
        if proc.returncode != 0:
            sys.stderr.write(err.decode())
            raise SystemExit(f"the bot exited with {proc.returncode}")
        figures = json.loads(out.decode().strip().splitlines()[-1])
    per_channel = fake.posts_per_channel()
    await fake.close()
    wanted = {f"C{n:07d}" for n in range(channels)}
    counts = [per_channel.get(c, 0) for c in wanted]
    bound = channels / WORKSPACE_RATE
    elapsed = figures["elapsed"]
    print(f"digest fan-out: {channels:,} Slack channels due in the same minute "
          f"(fake Slack: 1/s per channel, {WORKSPACE_RATE}/s workspace, 5% random 429 Retry-After: 1)")
    if elapsed is None:
        print("  time to every channel: NOT DONE within the time allowed")
    else:
        print(f"  time to every channel: {elapsed:.1f} s   bound {bound:.1f} s   "
              f"({(elapsed / bound - 1) * 100:+.1f}% over the bound; target within 10%)")
    print(f"  posts per channel: min {min(counts)} max {max(counts)}   "
          f"(exactly 1: {sum(c == 1 for c in counts):,} of {channels:,})")
    print(f"  lost: {sum(c == 0 for c in counts)}   extra posts: {sum(max(0, c - 1) for c in counts)}   "
          f"429s answered: {sum(fake.ratelimited.values()):,}")
    print(f"  bot: peak RSS {figures['rss_peak_kb'] / 1024:.0f} MB (before the fan-out "
          f"{figures['rss_before_kb'] / 1024:.0f} MB), CPU {figures['cpu_fanout']:.1f} s during the fan-out")
    print(f"idle tick at {figures['idle_subscriptions']:,} subscriptions, nothing due: CPU median "
          f"{figures['idle_tick_ms_median']:.2f} ms, p90 {figures['idle_tick_ms_p90']:.2f} ms (target ≤ 5 ms)")


def cli() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bot":
        api_url, db, channels, idle, concurrency, rate = sys.argv[2:8]
        asyncio.run(bot_main(api_url, db, int(channels), int(idle), int(concurrency), float(rate)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=1000, help="channels due at once (default 1000)")
    parser.add_argument("--idle-subscriptions", type=int, default=10_000,
                        help="subscriptions when timing a tick with nothing due (default 10000)")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="Slack posts in flight at once (default: the DigestService's own)")
    parser.add_argument("--rate", type=float, default=0,
                        help="Slack posts started per second at most (default: the DigestService's own)")
    args = parser.parse_args()
    asyncio.run(main(args.channels, args.idle_subscriptions, args.concurrency, args.rate))


if __name__ == "__main__":
    cli()
