"""The link check at catalog scale: 1,000 links on 20 hosts, 5% of them slower than the timeout.

    .venv/bin/python bench/links.py [--links 1000] [--hosts 20] [--slow 0.05] [--timeout 1.0]
                                    [--concurrency 20] [--per-host 2] [--seed 1]

The server is a child process on 127.0.0.1 (so that this process's peak RSS is the checker's own); the
20 hosts are 20 names that a resolver maps to it (the per-host limit counts host:port). A fast link
answers HEAD 200 after 10-50 ms; a slow one never answers within the timeout. The timeout is shortened
(1 s instead of the production 10 s) so that the bench ends in seconds; the bound at 10 s is printed too.

The bound is what no scheduler can beat under the limits: a host's links' service times (a slow link
costs the whole timeout) shared among its `per_host` slots, the largest over the hosts; and the total
shared among `concurrency` slots. Two simulations of the same limits without any overhead are printed
too: a scheduler that knows every service time in advance, and one that knows only what the checker
knows (how many links each host has left, not which are slow). The checker's wall time is printed
beside them, with what the server saw
at once per host and in all (it must never exceed the limits), and the checker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRODUCTION_TIMEOUT = 10.0


# -- the server: a child process ------------------------------------------------------------------------

def serve(slow_s: float) -> None:
    from aiohttp import web

    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    total = {"now": 0, "peak": 0, "requests": 0}

    async def link(request: web.Request) -> web.Response:
        host = request.host
        in_flight[host] += 1
        total["now"] += 1
        total["requests"] += 1
        peak[host] = max(peak[host], in_flight[host])
        total["peak"] = max(total["peak"], total["now"])
        try:
            ms = request.match_info["ms"]
            await asyncio.sleep(slow_s if ms == "slow" else int(ms) / 1000)
            return web.Response(status=200)
        finally:
            in_flight[host] -= 1
            total["now"] -= 1

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"peak_per_host": max(peak.values(), default=0), "peak_total": total["peak"],
                                  "hosts": len(peak), "requests": total["requests"]})

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/l/{n}/{ms}", link)
        app.router.add_get("/__stats", stats)
        # Cancelled when the checker hangs up, as a real slow server's work would be moot.
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the checker: this process ----------------------------------------------------------------------------

def plan(links: int, hosts: int, slow: float, seed: int, skew: float = 0.0) -> list[tuple[str, int, int | None]]:
    """(host, link number, fast answer in ms or None for a slow one): a `skew` share of the links on the first
    host (a catalog's github.com), the rest round-robin on the others; slow ones at random."""
    rng = random.Random(seed)
    slow_ones = set(rng.sample(range(links), round(links * slow)))
    first = round(links * skew)

    def host(n: int) -> int:
        return 0 if n < first else (n % hosts if first == 0 or hosts == 1 else 1 + n % (hosts - 1))

    return [(f"h{host(n):02d}.bench.test", n, None if n in slow_ones else rng.randint(10, 50))
            for n in range(links)]


def bound(links: list[tuple[str, int, int | None]], timeout: float, per_host: int, concurrency: int
          ) -> tuple[float, float, float]:
    """(the bound, the per-host part, the global part) in seconds."""
    per: dict[str, list[float]] = {}
    for host, _, ms in links:
        per.setdefault(host, []).append(timeout if ms is None else ms / 1000)
    host_part = max(max(sum(t) / per_host, max(t)) for t in per.values())
    total_part = sum(sum(t) for t in per.values()) / concurrency
    return max(host_part, total_part), host_part, total_part


def simulate(links: list[tuple[str, int, int | None]], timeout: float, per_host: int, concurrency: int, *,
             foresight: bool) -> float:
    """The same limits in a simulation with no overhead: each free slot to the host with the most work left.
    With `foresight` the scheduler knows every service time in advance (work left in seconds, a host's
    longest link first); without, it knows what the checker knows (links left, in the catalog's order)."""
    left: dict[str, list[float]] = {}
    for host, _, ms in links:
        left.setdefault(host, []).append(timeout if ms is None else ms / 1000)
    for times in left.values():
        times.reverse()  # pop() from the end takes them in the catalog's order...
        if foresight:
            times.sort()  # ...or the longest first

    def work(host: str) -> float:
        return sum(left[host]) if foresight else len(left[host])

    busy = dict.fromkeys(left, 0)
    now, free, running = 0.0, concurrency, []
    while True:
        while free:
            ready = [h for h, times in left.items() if times and busy[h] < per_host]
            if not ready:
                break
            host = max(ready, key=work)
            heapq.heappush(running, (now + left[host].pop(), host))
            busy[host] += 1
            free -= 1
        if not running:
            return now
        now, host = heapq.heappop(running)
        busy[host] -= 1
        free += 1


async def run_check(port: int, links: list[tuple[str, int, int | None]], args: argparse.Namespace) -> dict:
    import aiohttp

    from bot.app.linkcheck import LinkChecker
    from tests.app.link_server import LocalResolver

    urls = [f"http://{host}:{port}/l/{n}/{'slow' if ms is None else ms}" for host, n, ms in links]
    connector = aiohttp.TCPConnector(resolver=LocalResolver(), limit=args.concurrency, limit_per_host=args.per_host)
    async with aiohttp.ClientSession(connector=connector) as session:
        checker = LinkChecker(session, concurrency=args.concurrency, per_host=args.per_host, timeout=args.timeout)
        rss_before = _rss_mb()
        started = time.perf_counter()
        results = await checker.check(urls)
        wall = time.perf_counter() - started
        async with session.get(f"http://127.0.0.1:{port}/__stats") as response:
            stats = await response.json()
    return {"wall": wall, "rss_before": rss_before, "rss_peak": _rss_mb(), "stats": stats,
            "outcomes": Counter(r.outcome for r in results),
            "slow_unreachable": sum(r.outcome == "unreachable" for r, (_, _, ms) in zip(results, links, strict=True)
                                    if ms is None)}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--slow", type=float, default=0.05, help="share of links slower than the timeout")
    parser.add_argument("--timeout", type=float, default=1.0, help="per request, shortened from the production 10 s")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skew", type=float, default=0.0, help="share of the links on one host (default: even)")
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)  # child: the server
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return 0

    links = plan(args.links, args.hosts, args.slow, args.seed, args.skew)
    slow_count = sum(ms is None for _, _, ms in links)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.timeout + 5)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        out = asyncio.run(run_check(port, links, args))
    finally:
        server.terminate()
        server.wait(10)

    limit, host_part, total_part = bound(links, args.timeout, args.per_host, args.concurrency)
    serial = sum(args.timeout if ms is None else ms / 1000 for _, _, ms in links)
    production, _, _ = bound(links, PRODUCTION_TIMEOUT, args.per_host, args.concurrency)
    outcomes = out["outcomes"]
    stats = out["stats"]
    print(f"{args.links:,} links on {args.hosts} hosts (names for 127.0.0.1:{port}), {slow_count} "
          f"({slow_count / args.links:.0%}) slower than the timeout; fast ones answer HEAD in 10-50 ms")
    print(f"timeout {args.timeout:g} s per request (SHORTENED from the production {PRODUCTION_TIMEOUT:g} s so that "
          f"the bench ends quickly), concurrency {args.concurrency}, {args.per_host} per host")
    print()
    print(f"{'':<26}{'wall s':>8}")
    print(f"{'one at a time':<26}{serial:8.2f}   the sum of the service times")
    print(f"{'bound':<26}{limit:8.2f}   max(per host: service / {args.per_host} slots = {host_part:.2f}, "
          f"all: service / {args.concurrency} = {total_part:.2f})")
    for label, foresight, how in (("simulated, foresight", True, "every service time known ahead"),
                                  ("simulated, no foresight", False, "links left known, slow ones not")):
        ideal = simulate(links, args.timeout, args.per_host, args.concurrency, foresight=foresight)
        print(f"{label:<26}{ideal:8.2f}   {ideal / limit:.2f}x the bound ({how}; no overhead)")
    print(f"{'LinkChecker':<26}{out['wall']:8.2f}   {out['wall'] / limit:.2f}x the bound")
    print()
    print("outcomes: " + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
          + f"; the slow ones unreachable: {out['slow_unreachable']}/{slow_count}")
    print(f"the server saw at most {stats['peak_per_host']} requests at once per host (limit {args.per_host}) and "
          f"{stats['peak_total']} in all (limit {args.concurrency}), {stats['requests']:,} requests "
          f"({stats['hosts']} hosts)")
    print(f"checker peak RSS (ru_maxrss of this process, the server is another): {out['rss_before']:.0f} MB "
          f"before the check → {out['rss_peak']:.0f} MB after")
    print(f"with the production {PRODUCTION_TIMEOUT:g} s timeout the bound for these links is {production:.1f} s")
    ok = (stats["peak_per_host"] <= args.per_host and stats["peak_total"] <= args.concurrency
          and out["slow_unreachable"] == slow_count and outcomes.get("ok", 0) == args.links - slow_count)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
