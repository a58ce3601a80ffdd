"""Fixtures shared across the suite: the bundled catalog, a service over it, small catalogs on disk."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog
from bot.core.catalog_loader import load_catalog
from bot.service import BotService

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
T = TypeVar("T")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(PACKAGED_CATALOG)


@pytest.fixture(scope="session")
def service(catalog: Catalog) -> BotService:
    return BotService(catalog, path=PACKAGED_CATALOG)


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[[str], Path]:
    """Write a catalog file from an indented YAML string and return its path."""

    def write(text: str, name: str = "catalog.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a bot subprocess: no platform configured, nothing from the developer's shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "MLOPS_BOT_", "DATABASE_URL", "PORT", "DIGEST_"))}
    # A digest pick with a feed would fetch it from the internet: the suite's traffic stays on loopback.
    env["DIGEST_FEEDS"] = "false"
    env.update(extra)
    return env


async def eventually(check: Callable[[], Awaitable[T]], wanted: T, timeout: float) -> None:
    """Wait until `await check()` returns `wanted`; fail with the last value seen after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (seen := await check()) != wanted:
        assert loop.time() < deadline, f"still {seen!r} after {timeout} s, waited for {wanted!r}"
        await asyncio.sleep(0.01)


class RunningBot:
    """`mlops-bot run` as a child process in `cwd` (an empty directory, so no developer's .env is read)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []  # its stderr so far

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path, *args: str) -> RunningBot:
        return cls(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *args, cwd=cwd, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE))

    async def port(self, pattern: str, timeout: float = 30) -> int:
        """Read stderr until a line matches `pattern`, whose first group is a port."""
        assert self.proc.stderr is not None
        while True:
            line = (await asyncio.wait_for(self.proc.stderr.readline(), timeout)).decode()
            assert line, "mlops-bot exited early:\n" + "".join(self.lines)
            self.lines.append(line)
            if match := re.search(pattern, line):
                return int(match.group(1))

    async def terminate(self, timeout: float = 20) -> str:
        """SIGTERM, wait for the exit, return everything it wrote to stderr."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        return "".join(self.lines) + err.decode()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


MINIMAL_CATALOG = """
version: 1
sections:
  - {id: tools-platforms, title: Tools & Platforms}
categories:
  - {id: feature-stores, title: Feature Stores, section: tools-platforms}
  - {id: podcasts, title: Podcasts, section: tools-platforms}
resources:
  - id: feast
    title: Feast
    kind: tool
    category: feature-stores
    url: https://docs.feast.dev/
    links: [{label: GitHub, url: https://github.com/feast-dev/feast}]
    summary: Open-source, cloud-agnostic feature store
    tags: [feature-store, open-source]
  - id: practical-ai
    title: Practical AI
    kind: podcast
    category: podcasts
    summary: Applied ML topics
"""
