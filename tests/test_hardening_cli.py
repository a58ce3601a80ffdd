"""The operator's side of hardening: odd terminals, a broken .env, secrets in fatal lines, signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bot.service import BotService
from tests.conftest import BIN, MINIMAL_CATALOG, clean_env


def cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / "mlops-bot", *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env=clean_env(**env))


def test_a_terminal_that_is_not_utf8_gets_plain_characters():
    done = cli("ask", "/mlops resource kind:paper debt", PYTHONIOENCODING="ascii")
    assert done.returncode == 0, done.stderr
    assert 'Resources for "kind:paper debt"' in done.stdout
    assert "paper * 2015" in done.stdout and "Traceback" not in done.stderr


def test_a_dotenv_that_is_not_utf8_is_one_line_naming_file_and_line(tmp_path: Path):
    (tmp_path / ".env").write_bytes(b"LOG_LEVEL=INFO\nSLACK_BOT_TOKEN=xoxb-\xff\xfe-secret\n")
    for command in (["run"], ["ask", "help"]):
        done = cli(*command, cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr.strip() == "mlops-bot: .env:2: byte 0xff at column 22 is not UTF-8; save the file as UTF-8"
        assert "secret" not in done.stderr


def test_the_fatal_line_masks_user_info_in_urls(tmp_path: Path):
    done = cli("run", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-1234567890-abcdef", SLACK_SIGNING_SECRET="s" * 32,
               SLACK_API_URL="http://admin:hunter2@127.0.0.1:9/api/", PORT="0", HOST="127.0.0.1",
               DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    assert done.returncode == 1
    fatal = [line for line in done.stderr.splitlines() if line.startswith("mlops-bot:")]
    assert len(fatal) == 1 and "***@127.0.0.1:9" in fatal[0], done.stderr
    assert "hunter2" not in done.stderr and "xoxb-1234567890-abcdef" not in done.stderr


def test_search_offset_past_the_end_says_so():
    done = cli("search", "feast", "--offset", "40")
    assert done.returncode == 0
    assert done.stdout.startswith("No results past --offset 40: 'feast' has ")


async def test_a_reload_runs_off_the_event_loop(tmp_path: Path):
    from bench.synthetic_catalog import write_yaml  # the bench's generator

    path = tmp_path / "big.yaml"
    write_yaml(path, 10_000)
    service = BotService.from_file(path)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    assert await service.reload_async()
    took = time.monotonic() - started
    ticker.cancel()
    # A reload on the loop lets no tick run at all; off it, the loop ticks through most of it.
    assert ticks >= took / 0.005 / 4, (ticks, took)


async def test_sighups_during_a_reload_fold_into_one_more(write_catalog):
    service = BotService.from_file(write_catalog(MINIMAL_CATALOG))
    results = await asyncio.gather(*(service.reload_async() for _ in range(5)))
    assert results.count(True) == 1


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
async def test_a_sighup_while_the_catalog_loads_does_not_kill_the_bot(tmp_path: Path):
    from bench.synthetic_catalog import write_yaml
    from tests.adapters.slack.fake_slack import FakeSlack
    from tests.adapters.slack.test_run import run_env
    from tests.conftest import RunningBot

    path = tmp_path / "big.yaml"
    write_yaml(path, 20_000)  # a second or so of loading
    fake = await FakeSlack().start()
    bot = await RunningBot.start({**run_env(fake, tmp_path), "MLOPS_BOT_CATALOG": str(path)}, tmp_path)
    try:
        await asyncio.sleep(0.2)
        os.kill(bot.proc.pid, signal.SIGHUP)
        await bot.port(r"listening on http://127\.0\.0\.1:(\d+)/slack/events")
        assert bot.proc.returncode is None
        assert await bot.port(r"catalog reloaded: (\d+) resources") == 20_000
        output = await bot.terminate(20)
        assert bot.proc.returncode == 0, output
    finally:
        await bot.kill()
        await fake.close()
