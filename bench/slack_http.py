"""Slack HTTP mode under load: the bot beside a bare slack-bolt AsyncApp, same machine, same run.

    .venv/bin/python bench/slack_http.py [-n 2000] [--concurrency 50] [--rounds 2]

The bot is started exactly as `mlops-bot run` starts it (a child process, Slack HTTP mode, its
auth.test answered by a fake Web API on loopback that this script serves). The baseline is a bare
AsyncApp on aiohttp, also a child process, that acks a fixed one-block reply. Both get N signed
`/mlops resource feature-store` slash commands at the same concurrency from an aiohttp client here,
in alternating rounds; every response is checked (status 200, JSON, the right blocks).
Printed: requests/s, p50 and p99 latency of each, over all rounds, and the ratio bot / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "xoxb-bench-000"
SECRET = "bench-signing-secret-0123456789"
QUERY = "resource feature-store"
BARE_BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "Feast, Tecton, Hopsworks"}}]


# -- the fake Web API: only auth.test, for both apps ------------------------------------------------

async def fake_web_api() -> tuple[web.AppRunner, str]:
    async def auth_test(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "team_id": "T0BENCH", "user_id": "U0BOT", "bot_id": "B0BOT",
                                  "team": "bench", "user": "mlops", "url": "https://bench.slack.com/"})

    app = web.Application()
    app.router.add_post("/api/auth.test", auth_test)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/api/"


# -- the baseline, run as a child process: `bench/slack_http.py --bare API_URL` ---------------------------

async def serve_bare(api_url: str) -> None:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    app = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url), signing_secret=SECRET)

    @app.command("/mlops")
    async def mlops(ack) -> None:
        await ack(text="Feast", blocks=BARE_BLOCKS, response_type="ephemeral")

    # The same server set-up as the bot's: aiohttp, no access log.
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}/slack/events", file=sys.stderr, flush=True)
    await asyncio.Event().wait()


# -- child processes --------------------------------------------------------------------------------

async def spawn(args: list[str], env: dict[str, str], cwd: str) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env=env, cwd=cwd,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        if not line:
            raise SystemExit(f"{args} exited before listening:\n" + "".join(seen))
        seen.append(line)
        if match := re.search(r"listening on http://127\.0\.0\.1:(\d+)/slack/events", line):
            break

    async def drain() -> None:  # the bot logs each command; an unread pipe would stall it
        while await proc.stderr.readline():  # type: ignore[union-attr]
            pass

    asyncio.get_running_loop().create_task(drain())
    return proc, int(match.group(1))


def child_env(api_url: str, tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "MLOPS_BOT_"))}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url, HOST="127.0.0.1",
               PORT="0", DATABASE_URL=f"sqlite:///{tmp}/bench.db", LOG_LEVEL="INFO",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


# -- load ----------------------------------------------------------------------------------------------

def signed(number: int) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"team_id": "T0BENCH", "channel_id": "C0BENCH", "user_id": "U0MEMBER", "user_name": "ada",
                      "command": "/mlops", "text": QUERY, "api_app_id": "A0BENCH",
                      "response_url": "http://127.0.0.1:9/unused", "trigger_id": f"bench.{number}"}).encode()
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def check_bot(message: dict) -> bool:
    blocks = message.get("blocks") or []
    return (message.get("response_type") == "ephemeral" and bool(blocks) and blocks[0]["type"] == "header"
            and "feature-store" in blocks[0]["text"]["text"] and "Feast>" in json.dumps(blocks)
            and any(b["type"] == "actions" for b in blocks))


def check_bare(message: dict) -> bool:
    return message.get("blocks") == BARE_BLOCKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, n: int, concurrency: int, check: object) -> tuple[float, list[float], int]:
    """Returns (elapsed seconds, latencies in ms, number of bad responses)."""
    latencies: list[float] = []
    bad = 0
    counter = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal bad
            for number in counter:
                body, headers = signed(number)
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                try:
                    ok = response.status == 200 and check(json.loads(payload))  # type: ignore[operator]
                except ValueError:
                    ok = False
                bad += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, bad


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def main(n: int, concurrency: int, rounds: int) -> int:
    fake, api_url = await fake_web_api()
    tmp = tempfile.mkdtemp(prefix="mlops-bench-")
    env = child_env(api_url, tmp)
    bot, bot_port = await spawn(["-m", "bot", "run"], env, tmp)
    bare, bare_port = await spawn([str(Path(__file__).resolve()), "--bare", api_url], env, tmp)
    targets = {"bot (mlops-bot run)": (f"http://127.0.0.1:{bot_port}/slack/events", check_bot),
               "bare AsyncApp": (f"http://127.0.0.1:{bare_port}/slack/events", check_bare)}
    pids = {"bot (mlops-bot run)": bot.pid, "bare AsyncApp": bare.pid}
    results: dict[str, tuple[float, list[float], int]] = {name: (0.0, [], 0) for name in targets}
    server_cpu = dict.fromkeys(targets, 0.0)
    client_cpu = 0.0
    try:
        for url, check in targets.values():  # warm-up: imports, caches, first auth.test
            await load(url, min(200, n), concurrency, check)
        for _ in range(rounds):
            for name in ("bare AsyncApp", "bot (mlops-bot run)"):
                url, check = targets[name]
                cpu_before, client_before = cpu_seconds(pids[name]), time.process_time()
                elapsed, latencies, bad = await load(url, n, concurrency, check)
                server_cpu[name] += cpu_seconds(pids[name]) - cpu_before
                client_cpu += time.process_time() - client_before
                total, lats, bads = results[name]
                results[name] = (total + elapsed, lats + latencies, bads + bad)
    finally:
        for proc in (bot, bare):
            proc.terminate()
            await proc.wait()
        await fake.cleanup()

    print(f"Slack HTTP: {n} signed '/mlops {QUERY}' x {rounds} rounds, concurrency {concurrency}, loopback")
    print(f"{'':22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bad':>5} {'server CPU ms/req':>18}")
    rates = {}
    for name, (elapsed, latencies, bad) in results.items():
        rates[name] = len(latencies) / elapsed
        print(f"{name:22} {rates[name]:8.0f} {statistics.median(latencies):8.1f} "
              f"{percentile(latencies, 99):8.1f} {bad:5d} {server_cpu[name] * 1000 / len(latencies):18.2f}")
    ratio = rates["bot (mlops-bot run)"] / rates["bare AsyncApp"]
    print(f"{'bot / bare':22} {ratio:8.0%}   (target ≥ 70%, bot p99 ≤ 250 ms, 0 bad)")
    print(f"load client: {client_cpu * 1000 / (2 * rounds * n):.2f} ms CPU per request; "
          f"{os.cpu_count()} CPUs shared by the client and the server under test")
    return 1 if any(bad for _, _, bad in results.values()) else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bare":
        asyncio.run(serve_bare(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per app per round (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.n, args.concurrency, args.rounds)))
