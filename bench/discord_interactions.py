"""Discord: how long the bot takes to answer, in process, on the seed catalog and on 100,000 resources.

Two figures, each as p50 and p99:
- interaction: from an INTERACTION_CREATE gateway frame for `/mlops resource feature-store` handed
  to discord.py (`DiscordWebSocket.received_message`, JSON decoding included) to the moment discord.py
  starts sending the callback request, its payload built (aiohttp's `on_request_start`). The bot is
  the real adapter connected to the fake Discord of the tests on 127.0.0.1; the network is not timed.
- complete(): the search's autocomplete for 3-character prefixes (drawn from the catalog's titles),
  called as the `query` autocomplete calls it.

    python bench/discord_interactions.py [--runs 300] [--size 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

if __package__ in (None, ""):  # run as a script: make `bot`, `bench` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog
from bot.core.catalog_loader import load_catalog
from bot.service import BotService
from bot.settings import Settings
from bot.storage import open_store

TARGETS = {"interaction": 10.0, "complete": 20.0}  # p99, ms, at 100,000 resources


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def time_interactions(service: BotService, runs: int) -> list[float]:
    from bot.adapters.discord import DiscordAdapter
    from tests.adapters.discord.fake_discord import FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    sent: asyncio.Queue[float] = asyncio.Queue()

    async def on_request_start(_session: object, _ctx: SimpleNamespace,
                               params: aiohttp.TraceRequestStartParams) -> None:
        if params.url.path.endswith("/callback"):
            sent.put_nowait(time.perf_counter())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        settings = Settings(_env_file=None, discord_token=fake.token, discord_api_url=fake.base_url,
                            discord_guild_id=None, discord_application_id=None)  # type: ignore[call-arg]
        adapter = DiscordAdapter(service, settings, store, http_trace=trace)
        await adapter.start()
        try:
            assert adapter.client is not None and adapter.client.ws is not None
            ws = adapter.client.ws
            times = []
            for i in range(runs + 20):
                payload = fake.new_interaction(2, fake.command_data(None, "resource", {"query": "feature-store"}))
                frame = json.dumps({"op": 0, "t": "INTERACTION_CREATE", "s": None, "d": payload})
                started = time.perf_counter()
                await ws.received_message(frame)
                finished = await asyncio.wait_for(sent.get(), timeout=10)
                await fake.response(payload)  # let the round trip finish before the next one
                if i >= 20:  # warm-up
                    times.append((finished - started) * 1000)
            assert not fake.problems, fake.problems
            return times
        finally:
            await adapter.stop()
            store.close()
            await fake.close()


def time_complete(service: BotService, runs: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    titles = [r.title for r in service.catalog.resources if len(r.title) >= 3]
    prefixes = [t[:3].lower() for t in rng.choices(titles, k=runs)]
    for prefix in prefixes[:20]:
        service.search.complete(prefix, limit=25)
    times = []
    for prefix in prefixes:
        started = time.perf_counter()
        service.search.complete(prefix, limit=25)
        times.append((time.perf_counter() - started) * 1000)
    return times


def build(catalog: Catalog) -> tuple[BotService, float]:
    started = time.perf_counter()
    service = BotService(catalog)
    return service, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()

    from bench.synthetic_catalog import make_catalog

    rows = []
    for label, catalog in (("seed", load_catalog(PACKAGED_CATALOG)), (f"{args.size:,}", make_catalog(args.size))):
        service, built = build(catalog)
        interaction = asyncio.run(time_interactions(service, args.runs))
        complete = time_complete(service, args.runs * 3)
        rows.append((f"{label} ({len(catalog):,} resources; index built in {built:.1f} s)", interaction, complete))

    print(f"{'catalog':<52} {'interaction p50':>16} {'p99':>8} {'complete() p50':>15} {'p99':>8}")
    for label, interaction, complete in rows:
        print(f"{label:<52} {statistics.median(interaction):>13.2f} ms {percentile(interaction, 0.99):>5.2f} ms "
              f"{statistics.median(complete):>12.2f} ms {percentile(complete, 0.99):>5.2f} ms")
    big_interaction, big_complete = rows[-1][1], rows[-1][2]
    print(f"{'target (p99 at 100,000 resources)':<52} {'':>16} {TARGETS['interaction']:>5.2f} ms "
          f"{'':>15} {TARGETS['complete']:>5.2f} ms")
    misses = []
    if percentile(big_interaction, 0.99) > TARGETS["interaction"]:
        misses.append("interaction")
    if percentile(big_complete, 0.99) > TARGETS["complete"]:
        misses.append("complete()")
    print("targets met" if not misses else f"MISSED: {', '.join(misses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
