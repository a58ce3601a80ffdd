"""The operator's digest commands, for bot/cli.py to wire:

    mlops-bot digest list [--format text|json]   every subscription: next run (local and UTC), last post, failure
    mlops-bot digest preview [--channel ID]      the digest as a channel would get it now

Both return an exit code and write to `out`; neither posts anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from bot.storage import Store
from bot.storage.digest_repo import DigestRepo, Subscription

EXIT_OK, EXIT_ERROR = 0, 1


def run_digest_list(store: Store, out: TextIO, fmt: str = "text", *, include_inactive: bool = False) -> int:
    subs = DigestRepo(store.engine).subscriptions(active_only=not include_inactive)
    if fmt == "json":
        json.dump([subscription_json(s) for s in subs], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    from bot.app.digest import when

    if not subs:
        out.write("No channel is subscribed to the digest.\n")
        return EXIT_OK
    for sub in subs:
        zone = sub.cadence.timezone
        state = "" if sub.active else " (unsubscribed)"
        out.write(f"{sub.platform}:{sub.channel_id}{state}  {sub.cadence.describe()}\n")
        out.write(f"  next:         {when(sub.next_due_at, zone)}\n")
        out.write(f"  last post:    {when(sub.last_posted_at, zone)}\n")
        failure = f"{sub.last_failure} ({when(sub.last_failure_at, zone)})" if sub.last_failure else "none"
        out.write(f"  last failure: {failure}\n")
    out.write(f"{len(subs)} subscription{'s' if len(subs) != 1 else ''}\n")
    return EXIT_OK


def subscription_json(sub: Subscription) -> dict[str, Any]:
    """The JSON shape of one subscription: times in ISO 8601, in UTC and in the channel's timezone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(sub.cadence.timezone)

    def both(instant: dt.datetime | None) -> dict[str, str] | None:
        if instant is None:
            return None
        return {"utc": instant.astimezone(dt.UTC).isoformat(), "local": instant.astimezone(zone).isoformat()}

    return {
        "platform": sub.platform, "channel_id": sub.channel_id, "active": sub.active,
        "schedule": {"day": sub.cadence.day_name, "time": f"{sub.cadence.hour:02d}:{sub.cadence.minute:02d}",
                     "timezone": sub.cadence.timezone, "text": sub.cadence.describe()},
        "next_due": both(sub.next_due_at), "last_posted": both(sub.last_posted_at), "last_period": sub.last_period,
        "failures": sub.failures, "last_failure": sub.last_failure, "last_failure_at": both(sub.last_failure_at),
    }


def run_digest_preview(service: Any, store: Store, out: TextIO, *, channel: str | None = None,
                       platform: str | None = None, feeds: Any = None,
                       clock: Callable[[], dt.datetime] | None = None, err: TextIO | None = None) -> int:
    """Print the digest `channel` would get now (its rotation, what is new since its last digest), or a
    channel's first digest without --channel. `service` is the BotService; `feeds` a FeedReader to show
    the feeds' latest entries (None: the static picks only, no network), closed at the end."""
    from bot.adapters.console import render_text
    from bot.app.digest import DigestService
    from bot.app.posting import Posters

    digest = DigestService(service, store, Posters(), feeds=feeds, clock=clock)
    sub: Subscription | None = None
    if channel is not None:
        matches = [s for s in digest.repo.subscriptions(active_only=False)
                   if s.channel_id == channel and (platform is None or s.platform == platform)]
        if len(matches) > 1:
            names = ", ".join(f"{s.platform}:{s.channel_id}" for s in matches)
            print(f"mlops-bot digest preview: {channel} is subscribed on several platforms ({names}); "
                  "give --platform", file=err or sys.stderr)
            return EXIT_ERROR
        if not matches:
            print(f"mlops-bot digest preview: no subscription for channel {channel}; `mlops-bot digest list` "
                  "shows them", file=err or sys.stderr)
            return EXIT_ERROR
        sub = matches[0]
    where = (sub.platform, sub.channel_id) if sub else (platform or "console", "console")

    async def compose() -> str:
        try:
            reply, _ = await digest.compose_now(*where, sub, digest.clock())
        finally:
            if feeds is not None and hasattr(feeds, "close"):
                await feeds.close()
        return render_text(reply)

    out.write(asyncio.run(compose()))
    return EXIT_OK
