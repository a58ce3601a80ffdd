"""`/mlops stats` and `mlops-bot stats`: the stats read off the database, shown to a moderator."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TextIO

from bot.core.reply import Reply
from bot.core.stats_commands import ShowStats, Stats, stats_reply
from bot.service import BotService, Request
from bot.storage import Store
from bot.storage.stats_repo import collect


def install_stats(service: BotService, store: Store) -> None:
    async def show(effect: ShowStats, request: Request) -> Reply:
        stats = await asyncio.to_thread(collect, store.engine, service.clock(), effect.days)
        return stats_reply(stats, service.command_prefix)

    service.register(ShowStats, show)


def print_stats(stats: Stats, out: TextIO, fmt: str, prefix: str = "/mlops") -> None:
    if fmt == "json":
        print(json.dumps(dataclasses.asdict(stats), ensure_ascii=False, indent=2), file=out)
        return
    from bot.adapters.console import render_text

    out.write(render_text(stats_reply(stats, prefix)))
