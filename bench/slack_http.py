"""Slack HTTP mode under load: the bot beside a bare slack-bolt AsyncApp, same machine, same run.

    .venv/bin/python bench/slack_http.py [-n 2000] [--concurrency 50] [--rounds 2]
    .venv/bin/python bench/slack_http.py --metrics-and-json [-n 2000] [--rounds 6] [--scrape-every 0.5]

The bot is started exactly as `mlops-bot run` starts it (a child process, Slack HTTP mode, its
auth.test answered by a fake Web API on loopback that this script serves). The baseline is a bare
AsyncApp on aiohttp, also a child process, that acks a fixed one-block reply. Both get N signed
`/mlops resource feature-store` slash commands at the same concurrency from an aiohttp client here,
in alternating rounds; every response is checked (status 200, JSON, the right blocks).
Printed: requests/s, p50 and p99 latency of each, over all rounds, and the ratio bot / bare. After the
rounds, the bot's /metrics is read once: mlops_commands_total summed over its labels must equal the number
of commands sent to it (warm-up included).

--metrics-and-json measures something else: two `mlops-bot run` children, identical but for what an
operator turns on. A: LOG_FORMAT=text and nothing reads /metrics. B: LOG_FORMAT=json (LOG_LEVEL=INFO in
both) and /metrics scraped every --scrape-every seconds by a client here for as long as B is under load
(as Prometheus would; not during A's rounds, which it would slow on a shared machine). Rounds alternate
A B A B; printed per round and as the median of the rounds: requests/s, p50, p99, the server's CPU per
request; the target is B's throughput ≥ 90% of A's. Every scrape of B is checked (200, Prometheus text,
mlops_commands_total never above what was sent so far), and at the end each child's mlops_commands_total
summed over labels must equal the requests sent to it, warm-up included; B's JSON log lines must parse.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
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

async def spawn(args: list[str], env: dict[str, str], cwd: str,
                log: list[str] | None = None) -> tuple[asyncio.subprocess.Process, int]:
    """Start a child and wait for its listening line; `log`, when given, receives every stderr line."""
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env=env, cwd=cwd,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[str] = [] if log is None else log
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        if not line:
            raise SystemExit(f"{args} exited before listening:\n" + "".join(seen))
        seen.append(line)
        if match := re.search(r"listening on http://127\.0\.0\.1:(\d+)/slack/events", line):
            break

    async def drain() -> None:  # the bot logs each command; an unread pipe would stall it
        while line := await proc.stderr.readline():  # type: ignore[union-attr]
            if log is not None:
                log.append(line.decode(errors="replace"))

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


async def load(url: str, n: int, concurrency: int, check: object,
               sent: list[int] | None = None) -> tuple[float, list[float], int]:
    """Returns (elapsed seconds, latencies in ms, number of bad responses). `sent[0]`, when given, is raised
    by one as each request is sent."""
    latencies: list[float] = []
    bad = 0
    counter = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal bad
            for number in counter:
                body, headers = signed(number)
                if sent is not None:
                    sent[0] += 1
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


# -- /metrics ------------------------------------------------------------------------------------------

COMMANDS_SERIES = re.compile(r"^mlops_commands_total(?:\{[^}]*\})? ([0-9.e+-]+)$", re.MULTILINE)


def commands_total(exposition: str) -> int:
    """mlops_commands_total summed over every label set, from Prometheus' text format."""
    return round(sum(float(value) for value in COMMANDS_SERIES.findall(exposition)))


async def scrape(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as response:
        text = await response.text()
        if response.status != 200 or not response.headers.get("Content-Type", "").startswith("text/plain"):
            raise SystemExit(f"GET {url}: {response.status} {response.headers.get('Content-Type')}")
    if "# TYPE mlops_commands_total counter" not in text and "# TYPE mlops_commands counter" not in text:
        raise SystemExit(f"GET {url}: no mlops_commands counter in the exposition")
    return commands_total(text)


async def scraper(url: str, every: float, stop: asyncio.Event, sent: list[int], problems: list[str],
                  taken: list[float]) -> None:
    """GET /metrics every `every` s until `stop`; each scrape's counter must not exceed what was sent by then
    (`sent[0]`, read after the answer: a command counted is one whose request was sent)."""
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            counted = await scrape(session, url)
            taken.append((time.perf_counter() - started) * 1000)
            if counted > sent[0]:
                problems.append(f"a scrape counted {counted} commands, {sent[0]} sent so far")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


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
    sent = {name: [0] for name in targets}
    try:
        for name, (url, check) in targets.items():  # warm-up: imports, caches, first auth.test
            await load(url, min(200, n), concurrency, check, sent[name])
        for _ in range(rounds):
            for name in ("bare AsyncApp", "bot (mlops-bot run)"):
                url, check = targets[name]
                cpu_before, client_before = cpu_seconds(pids[name]), time.process_time()
                elapsed, latencies, bad = await load(url, n, concurrency, check, sent[name])
                server_cpu[name] += cpu_seconds(pids[name]) - cpu_before
                client_cpu += time.process_time() - client_before
                total, lats, bads = results[name]
                results[name] = (total + elapsed, lats + latencies, bads + bad)
        async with aiohttp.ClientSession() as session:  # after the timed rounds: it changes none of them
            counted = await scrape(session, f"http://127.0.0.1:{bot_port}/metrics")
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
    bot_sent = sent["bot (mlops-bot run)"][0]
    print(f"bot's /metrics after the rounds: mlops_commands_total summed over labels = {counted}; commands "
          f"sent to it = {bot_sent} (warm-up included): {'equal' if counted == bot_sent else 'NOT EQUAL'}")
    return 1 if any(bad for _, _, bad in results.values()) or counted != bot_sent else 0


# -- --metrics-and-json: the same bot with what an operator turns on, beside itself without -------------

OFF, ON = "A: text logs, no scrape", "B: JSON logs + /metrics"


def json_lines_problem(lines: list[str]) -> str | None:
    """None when every line is one JSON object with the fields bot.logging_setup promises."""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            return f"not JSON: {line[:120]!r}"
        if not isinstance(entry, dict) or not {"time", "level", "logger", "message"} <= entry.keys():
            return f"not a log object: {line[:120]!r}"
    return None if lines else "no log line at all"


async def compare_metrics_json(n: int, concurrency: int, rounds: int, every: float) -> int:
    fake, api_url = await fake_web_api()
    load_before = os.getloadavg()
    children: dict[str, tuple[asyncio.subprocess.Process, int]] = {}
    logs: dict[str, list[str]] = {OFF: [], ON: []}
    tmps: list[str] = []
    for name, log_format in ((OFF, "text"), (ON, "json")):
        tmp = tempfile.mkdtemp(prefix="mlops-bench-")  # a database each: both keep a query log
        tmps.append(tmp)
        env = child_env(api_url, tmp)
        env.update(LOG_FORMAT=log_format, LOG_LEVEL="INFO")
        children[name] = await spawn(["-m", "bot", "run"], env, tmp, logs[name])
    url = {name: f"http://127.0.0.1:{port}/slack/events" for name, (_, port) in children.items()}
    metrics_url = {name: f"http://127.0.0.1:{port}/metrics" for name, (_, port) in children.items()}
    sent = {name: [0] for name in children}
    rows: list[tuple[int, str, float, float, float, int, float]] = []  # round, name, req/s, p50, p99, bad, CPU
    problems: list[str] = []
    scrape_ms: list[float] = []
    counted: dict[str, int] = {}
    try:
        for name in (OFF, ON):  # warm-up: imports, caches, the model's first use; B scraped as it will be
            stop = asyncio.Event()
            task = asyncio.create_task(scraper(metrics_url[name], every, stop, sent[name], problems, []))\
                if name == ON else None
            await load(url[name], min(200, n), concurrency, check_bot, sent[name])
            if task is not None:
                stop.set()
                await task
        for number in range(1, rounds + 1):
            for name in (OFF, ON):
                pid = children[name][0].pid
                stop = asyncio.Event()
                task = asyncio.create_task(scraper(metrics_url[name], every, stop, sent[name], problems,
                                                   scrape_ms)) if name == ON else None
                cpu_before = cpu_seconds(pid)
                elapsed, latencies, bad = await load(url[name], n, concurrency, check_bot, sent[name])
                cpu = cpu_seconds(pid) - cpu_before
                if task is not None:
                    stop.set()
                    await task
                rows.append((number, name, len(latencies) / elapsed, statistics.median(latencies),
                             percentile(latencies, 99), bad, cpu * 1000 / len(latencies)))
        async with aiohttp.ClientSession() as session:
            for name in children:
                counted[name] = await scrape(session, metrics_url[name])
    finally:
        for proc, _ in children.values():
            proc.terminate()
            await proc.wait()
        await fake.cleanup()
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"Slack HTTP, /metrics and JSON logs: {n} signed '/mlops {QUERY}' per round, {rounds} rounds each, "
          f"alternating A B A B, concurrency {concurrency}, loopback; two `mlops-bot run` children, LOG_LEVEL=INFO")
    print(f"{'round':>5}  {'':26} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'bad':>4} {'server CPU ms/req':>18}")
    for number, name, rate, p50, p99, bad, cpu in rows:
        print(f"{number:>5}  {name:26} {rate:7.0f} {p50:7.1f} {p99:7.1f} {bad:4d} {cpu:18.2f}")
    med = {}
    for name in (OFF, ON):
        mine = [r for r in rows if r[1] == name]
        med[name] = [statistics.median(r[i] for r in mine) for i in (2, 3, 4, 6)]
        print(f"{'median':>5}  {name:26} {med[name][0]:7.0f} {med[name][1]:7.1f} {med[name][2]:7.1f} "
              f"{sum(r[5] for r in mine):4d} {med[name][3]:18.2f}")
    ratios = [on[2] / off[2] for off, on in zip(rows[0::2], rows[1::2], strict=True)]
    ratio = med[ON][0] / med[OFF][0]
    met = ratio >= 0.9
    print(f"B / A throughput: {ratio:.1%} (median of rounds; per round {', '.join(f'{r:.0%}' for r in ratios)}); "
          f"target ≥ 90%: {'met' if met else 'MISSED'}. p99 {med[ON][2]:.1f} ms beside {med[OFF][2]:.1f} ms")
    print(f"B scraped {len(scrape_ms)} times during its timed rounds (every {every} s), "
          f"median {statistics.median(scrape_ms) if scrape_ms else 0:.1f} ms a scrape")
    equal = True
    for name in (OFF, ON):
        same = counted[name] == sent[name][0]
        equal &= same
        print(f"{name}: mlops_commands_total summed over labels = {counted[name]}; commands sent to it = "
              f"{sent[name][0]} (warm-up included): {'equal' if same else 'NOT EQUAL'}")
    json_problem = json_lines_problem(logs[ON])
    print(f"log lines written: A {len(logs[OFF])} (text), B {len(logs[ON])} "
          f"({'all JSON objects' if json_problem is None else json_problem})")
    for problem in problems[:5]:
        print(f"scrape problem: {problem}")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs "
          "shared by this client and both children")
    return 1 if problems or not equal or json_problem or any(r[5] for r in rows) else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bare":
        asyncio.run(serve_bare(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per app per round (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds per app (default 2; 6 with --metrics-and-json)")
    parser.add_argument("--metrics-and-json", action="store_true",
                        help="the bot with LOG_FORMAT=json and /metrics scraped, beside the bot with text logs "
                             "and no scraping (instead of the bare AsyncApp), rounds alternating")
    parser.add_argument("--scrape-every", type=float, default=0.5, metavar="SECONDS",
                        help="with --metrics-and-json: how often /metrics is read (default 0.5)")
    args = parser.parse_args()
    if args.metrics_and_json:
        sys.exit(asyncio.run(compare_metrics_json(args.n, args.concurrency, args.rounds or 6, args.scrape_every)))
    sys.exit(asyncio.run(main(args.n, args.concurrency, args.rounds or 2)))
