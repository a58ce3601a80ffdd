"""Peak memory of one `mlops-bot run` with Slack (HTTP), Discord and the scheduler, on the seed catalog.

    .venv/bin/python bench/footprint.py [--semantic both|on|off] [--runs 2]

The bot is a child process started as `mlops-bot run` starts (`python -m bot run`, in an empty directory,
SQLite in it), with Slack over HTTP against the fake Slack and Discord against the fake Discord of the
tests, both served by this script on 127.0.0.1, and its one scheduler ticking every 0.5 s (DIGEST_TICK).
Once both platforms run it answers a mix members would send:
  Slack: 4 rounds of 12 slash commands (searches by name, with a typo, with a filter, questions; help,
         list, path, week, compare), 3 searches whose reply is shared to the channel (a Share click,
         posted through its response_url), a digest subscription;
  Discord: 10 `/mlops resource` slash commands, 10 autocompletes of the query, a digest subscription;
  then a digest tick: both subscriptions made due in the database, and the digest posted once on each
  platform; then one GET /metrics, as Prometheus would.
The figure is the child's VmHWM (peak resident set, /proc/<pid>/status) at the end, printed with its VmRSS
then and after each step. The baselines are bare `python -c "import slack_bolt, discord, sqlalchemy"` (and,
for the semantic layer, the same plus numpy, the one library it imports), their VmHWM once imported,
measured in the same run. SEMANTIC_SEARCH=false and =true are
measured in alternating runs: with it on, the process loads numpy, the static model and the catalog's
vectors, computed at a first start (a new directory: no var/ cache yet) and read back from var/ at a
restart (the first start's var/ copied into a new directory).
Digest feeds are off (DIGEST_FEEDS=false): nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.adapters.discord.conftest import give_bot_a_member  # noqa: E402
from tests.adapters.discord.fake_discord import FakeDiscord, Member  # noqa: E402
from tests.adapters.slack.conftest import SIGNING_SECRET, SlackClient, buttons  # noqa: E402
from tests.adapters.slack.fake_slack import BOT_TOKEN  # noqa: E402
from tests.digest_process_support import Database, discord_answer, slack_command, start_slack  # noqa: E402

TARGET_MB = 120.0
SLACK_MOD = "U0MOD"
DIGEST_CHANNEL = "C0DIGEST"
SLACK_MIX = (
    "resource feature-store", "resource experiment tracking", "resource kind:paper technical debt",
    "resource kubernets", "resource where do mlops people hang out online",
    "resource how can I keep track of dataset versions", "resource free courses", "help", "list", "path",
    "week", "compare experiment-tracking",
)
DISCORD_QUERIES = ("feature-store", "mlflow", "serving pytorch models", "model monitoring drift", "kubeflow",
                   "which podcasts do you recommend", "level:beginner kubernetes", "dvc", "free courses",
                   "books about mlops")
LABELS = {(False, False): "SEMANTIC_SEARCH=false",
          (True, False): "SEMANTIC_SEARCH=true, first start (vectors computed)",
          (True, True): "SEMANTIC_SEARCH=true, restart (vectors cached in var/)"}
BASELINES = {
    "python -c 'import slack_bolt, discord, sqlalchemy'": "import slack_bolt, discord, sqlalchemy",
    "  + numpy (the semantic layer's library)":
        "import slack_bolt, discord, sqlalchemy, numpy",
}


def baseline_peak_mb(code: str) -> float:
    """Peak RSS of `python -c code`: its own VmHWM, read by itself once the code ran. (Not wait4's ru_maxrss,
    which Linux carries across exec: it would include this script's own size from before the fork.)"""
    probe = code + "\nprint(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a live process, in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def child_env(slack_api: str, discord: FakeDiscord, moderators: str, database_url: str,
              semantic: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "MLOPS_BOT_", "DATABASE_URL", "PORT", "DIGEST_", "LOG_",
                                "SEMANTIC_", "QUERY_LOG_", "LINK_CHECK_"))}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api,
               SLACK_MODERATORS=SLACK_MOD, DISCORD_TOKEN=discord.token, DISCORD_API_URL=discord.base_url,
               DISCORD_MODERATOR_ROLES=moderators, HOST="127.0.0.1", PORT="0", DATABASE_URL=database_url,
               LOG_LEVEL="INFO", DIGEST_TICK="0.5", DIGEST_FEEDS="false",
               SEMANTIC_SEARCH="true" if semantic else "false",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


async def wait_for(check, what: str, timeout: float = 20.0, proc: asyncio.subprocess.Process | None = None,
                   lines: list[str] | None = None):
    deadline = time.monotonic() + timeout
    while not (seen := check()):
        if proc is not None and proc.returncode is not None:
            raise SystemExit(f"the bot exited ({proc.returncode}) while waiting for {what}:\n"
                             + "".join(lines or [])[-3000:])
        if time.monotonic() > deadline:
            raise SystemExit(f"waited {timeout} s for {what}" + ("\n" + "".join(lines)[-3000:] if lines else ""))
        await asyncio.sleep(0.02)
    return seen


async def one_run(semantic: bool, cache: Path | None = None) -> dict:
    """One start, the mix, the figures. `cache`: a var/ directory of vectors to start with (a restart)."""
    slack = await start_slack("channels:read", "channels:history")
    discord = FakeDiscord()
    moderators = discord.add_role("Moderators")
    give_bot_a_member(discord)  # the bot's own member: subscribe checks its permissions in the channel
    await discord.start()
    tmp = Path(tempfile.mkdtemp(prefix="mlops-footprint-"))
    (tmp / "run").mkdir()
    if cache is not None:
        shutil.copytree(cache, tmp / "run" / "var")
    database_url = f"sqlite:///{tmp}/bot.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp / "run",
        env=child_env(slack.api_url, discord, moderators, database_url, semantic),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []

    async def read() -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            lines.append(line.decode(errors="replace"))

    reader = asyncio.create_task(read())
    steps: list[tuple[str, float, float]] = []
    db: Database | None = None
    counts = {"slack": 0, "discord": 0}
    try:
        def logged(pattern: str):
            return lambda: next((m for line in lines if (m := re.search(pattern, line))), None)

        port = int((await wait_for(logged(r"listening on http://127\.0\.0\.1:(\d+)/slack/events"),
                                   "Slack's HTTP server", 60, proc, lines)).group(1))
        for platform in ("slack", "discord"):
            await wait_for(logged(rf"\b{platform} is running\b"), f"{platform} running", 60, proc, lines)
        await wait_for(lambda: discord.commands, "the Discord commands synced", 20, proc, lines)
        steps.append(("started (both platforms running)", *memory_mb(proc.pid)))

        async with aiohttp.ClientSession() as session:
            client = SlackClient(session, f"http://127.0.0.1:{port}", slack)
            for _ in range(4):
                for text in SLACK_MIX:
                    answer = await slack_command(client, text, "C0CHANNEL", user="U0MEMBER")
                    assert "Sorry" not in answer[:200], (text, answer[:300])
                    counts["slack"] += 1
            for number, query in enumerate(("feature-store", "experiment tracking", "mlflow")):
                reply = await client.command(f"resource {query}")
                await client.click(buttons(reply)["share"], response_url=slack.response_url(f"share{number}"),
                                   action_ts=f"1700000001.{number}")
                counts["slack"] += 2
            await wait_for(lambda: all(any(c.body.get("response_type") == "in_channel"
                                           for c in slack.posts(f"/response/share{number}"))
                                       for number in range(3)), "3 replies shared in the Slack channel", 10)
            answer = await slack_command(client, "digest subscribe Monday 09:00 UTC", DIGEST_CHANNEL, user=SLACK_MOD)
            assert "Weekly digest subscribed" in answer, answer
            counts["slack"] += 1
            steps.append((f"after {counts['slack']} Slack requests", *memory_mb(proc.pid)))

            for query in DISCORD_QUERIES:
                payload = await discord.slash("resource", query=query)
                await discord_answer(discord, payload)
                payload = await discord.autocomplete("resource", "query", query=query[:3])
                await discord.response(payload)
                counts["discord"] += 2
            grace = Member(900_000_000_000_000_777, "grace", roles=[moderators])
            payload = await discord.slash("digest", member=grace, action="subscribe", day="Monday", time="09:00",
                                          timezone="UTC")
            assert "Weekly digest subscribed" in await discord_answer(discord, payload)
            counts["discord"] += 1
            steps.append((f"after {counts['discord']} Discord interactions", *memory_mb(proc.pid)))

            db = Database(database_url)
            db.due_in(-1)  # the clock, moved in the database: both digests are due now
            await wait_for(lambda: len(slack.messages(DIGEST_CHANNEL)) == 1
                           and len(discord.channel_messages(discord.channel_id)) == 1,
                           "a digest on Slack and on Discord", 20, proc, lines)
            await wait_for(lambda: set(db.states().values()) == {"posted"}, "both digests marked posted", 10)
            steps.append(("after the digest tick (posted on both)", *memory_mb(proc.pid)))

            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                exposition = await response.text()
                assert response.status == 200, response.status
            steps.append(("after one GET /metrics", *memory_mb(proc.pid)))
        problems = slack.problems + discord.problems
        rss, hwm = memory_mb(proc.pid)
        numpy_loaded = "/numpy/" in Path(f"/proc/{proc.pid}/maps").read_text()  # its extension modules mapped
    finally:
        if proc.returncode is None:
            proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 20)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await reader
        if db is not None:
            db.close()
        await slack.close()
        await discord.close()
    output = "".join(lines)
    if "Traceback" in output or problems:
        raise SystemExit(f"the run was not clean: {problems}\n{output[-3000:]}")
    metric = re.search(r"^process_resident_memory_bytes ([0-9.e+]+)$", exposition, re.MULTILINE)
    return {"semantic": semantic, "warm": cache is not None, "tmp": tmp, "var": tmp / "run" / "var", "hwm": hwm,
            "rss": rss, "steps": steps, "counts": counts,
            "exit": proc.returncode, "metrics_rss": float(metric.group(1)) / 2**20 if metric else None,
            "numpy": numpy_loaded}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--semantic", choices=("both", "on", "off"), default="both",
                        help="SEMANTIC_SEARCH of the bot: both (alternating runs, default), on or off")
    parser.add_argument("--runs", type=int, default=2, help="runs of each setting (default 2)")
    args = parser.parse_args()
    from bot.semantic import installed

    # (SEMANTIC_SEARCH, with the vectors cached by a previous start)
    settings = {"both": [(False, False), (True, False), (True, True)], "on": [(True, False), (True, True)],
                "off": [(False, False)]}[args.semantic]
    if any(on for on, _ in settings) and not installed():
        print("the semantic extra is not installed: SEMANTIC_SEARCH=true would run lexical only; measuring off")
        settings = [(False, False)]
    load_before = os.getloadavg()
    base: dict[str, list[float]] = {label: [] for label in BASELINES}
    runs: list[dict] = []
    for _ in range(args.runs):
        for label, code in BASELINES.items():
            base[label].append(baseline_peak_mb(code))
        cold_var: Path | None = None
        for semantic, warm in settings:
            runs.append(asyncio.run(one_run(semantic, cold_var if warm else None)))
            if semantic and not warm:
                cold_var = runs[-1]["var"]
            print(f"  run: {LABELS[semantic, warm]}: VmHWM {runs[-1]['hwm']:.1f} MB", file=sys.stderr)
    load_after = os.getloadavg()
    for run in runs:
        shutil.rmtree(run["tmp"], ignore_errors=True)

    first = runs[0]
    print(f"One `mlops-bot run`: Slack (HTTP) + Discord + scheduler, seed catalog, SQLite; mix: "
          f"{first['counts']['slack']} Slack requests, {first['counts']['discord']} Discord interactions, "
          f"a digest posted on each, one /metrics scrape")
    print(f"{'process':<72} {'peak RSS MB':>12} {'runs':>5}")
    for label, peaks in base.items():
        print(f"{'baseline: ' + label:<72} {statistics.median(peaks):12.1f} {len(peaks):5d}")
    verdicts = []
    for semantic, warm in settings:
        mine = [r for r in runs if (r["semantic"], r["warm"]) == (semantic, warm)]
        peak = statistics.median(r["hwm"] for r in mine)
        verdicts.append(peak <= TARGET_MB)
        label = f"mlops-bot run, {LABELS[semantic, warm]}"
        each = ", ".join(f"{r['hwm']:.1f}" for r in mine)
        if any(r["numpy"] != semantic for r in mine):
            raise SystemExit(f"{LABELS[semantic, warm]}: numpy {'not ' if semantic else ''}loaded in the bot")
        print(f"{label:<72} {peak:12.1f} {len(mine):5d}   (VmHWM; runs {each};"
              f" target ≤ {TARGET_MB:.0f}: {'met' if peak <= TARGET_MB else 'MISSED'})")
    print("(numpy's extension modules mapped in the bot's process with SEMANTIC_SEARCH=true and not with false: "
          "checked in /proc/<pid>/maps)")
    print("\nVmRSS / VmHWM (MB) after each step, first run of each setting:")
    for semantic, warm in settings:
        run = next(r for r in runs if (r["semantic"], r["warm"]) == (semantic, warm))
        print(f"  {LABELS[semantic, warm]}:")
        for step, rss, hwm in run["steps"]:
            print(f"    {step:<44} {rss:7.1f} / {hwm:7.1f}")
        if run["metrics_rss"] is not None:
            print(f"    {'(its own process_resident_memory_bytes)':<44} {run['metrics_rss']:7.1f}")
    print(f"\nload average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs; "
          f"Python {sys.version.split()[0]}")
    print(json.dumps({LABELS[key]: statistics.median(r["hwm"] for r in runs if (r["semantic"], r["warm"]) == key)
                      for key in settings}, ensure_ascii=False))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
