"""Whole-process start-up: what a member or a script waits for on a one-shot command.

Prints the median and p90 wall time of `mlops-bot ask "/mlops resource feature-store"` and of
`mlops-bot validate`, beside a bare `python -c "import yaml, rapidfuzz"` measured in the same run.
With the semantic extra installed it also times `ask` with the semantic layer wired in (as
`build_search(catalog, semantic=load_semantic(catalog))`, until the service does so itself), for the
same keyword query and for a question: the model loads lazily, so only the question pays for it.

    python bench/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"ask": 0.5, "validate": 0.3}
# `mlops-bot ask` with the semantic layer wired into the service's engine; the model's vectors are cached
# in a temporary directory (argv[1]), as they would be under var/ between runs.
SEMANTIC_ASK = """
import sys
from pathlib import Path
import bot.service
from bot.core import search_api
from bot.semantic import load_semantic
cache = Path(sys.argv.pop(1))
bot.service.build_search = lambda catalog: search_api.build_search(catalog, semantic=load_semantic(catalog, cache))
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def time_command(argv: list[str], runs: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "MLOPS_BOT_"))}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    exe = shutil.which("mlops-bot", path=str(Path(sys.executable).parent)) or shutil.which("mlops-bot")
    if exe is None:
        raise SystemExit("mlops-bot is not installed in this environment (run `make test` once)")
    commands = {
        "baseline: python -c 'import yaml, rapidfuzz'": [sys.executable, "-c", "import yaml, rapidfuzz"],
        'ask "/mlops resource feature-store"': [exe, "ask", "/mlops resource feature-store"],
        "validate (seed catalog)": [exe, "validate"],
    }
    from bot.semantic import installed

    if installed():
        cache = tempfile.mkdtemp(prefix="mlops-bot-startup-")
        semantic = [sys.executable, "-c", SEMANTIC_ASK, cache, "ask"]
        commands['ask, semantic on: "/mlops resource feature-store"'] = [*semantic, "/mlops resource feature-store"]
        commands['ask, semantic on: a question'] = [*semantic, "/mlops resource where do mlops people hang out online"]
    for argv in commands.values():  # warm the OS file cache so that every row is measured alike
        time_command(argv, 1)
    print(f"{'command':<48} {'median s':>9} {'p90 s':>7} {'target':>7}")
    for label, argv in commands.items():
        times = sorted(time_command(argv, args.runs))
        target = next((f"≤{t}" for key, t in TARGETS.items() if label.startswith(key)), "")
        p90 = times[int(0.9 * (len(times) - 1))]
        print(f"{label:<48} {statistics.median(times):>9.3f} {p90:>7.3f} {target:>7}")
    print(f"({args.runs} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
