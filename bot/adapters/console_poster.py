"""A Poster for the console chat: what would go to a channel is written to the chat's own stream, so
that `/mlops digest now` and the scheduled digest work at a terminal as they do on Slack and Discord."""

from __future__ import annotations

import datetime as dt
from typing import Any, TextIO

from bot.adapters.console import render_text
from bot.core.reply import Reply


class ConsolePoster:
    platform = "console"

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._sent = 0
        self._by_key: dict[str, str] = {}  # what `find` can tell: this process's own posts

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None,
                   metadata: dict[str, Any] | None = None) -> str:
        self._sent += 1
        ref = f"console-{self._sent}"
        self._write(f"[posted in #{channel_id}]", reply)
        if key is not None:
            self._by_key[key] = ref
        return ref

    async def update(self, channel_id: str, ref: str, reply: Reply) -> None:
        self._write(f"[{ref} in #{channel_id}, updated]", reply)

    async def dm(self, user_id: str, reply: Reply) -> None:
        self._write(f"[direct message to {user_id}]", reply)

    async def can_post(self, channel_id: str) -> str | None:
        return None

    async def find(self, channel_id: str, key: str, since: dt.datetime) -> str | None:
        # The console lives as long as this process: a post from before a restart is gone from the screen
        # too, so there is nothing a second post would repeat.
        return self._by_key.get(key)

    def _write(self, label: str, reply: Reply) -> None:
        self.out.write(f"{label}\n{render_text(reply)}\n")
        self.out.flush()
