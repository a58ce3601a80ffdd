"""`/mlops digest`: a channel's weekly digest, shown to anyone, managed by moderators.

    digest                                     this channel's schedule (anyone)
    digest subscribe [day] [HH:MM] [timezone]  post it here weekly; again to change the schedule (moderators)
    digest unsubscribe                         stop (moderators)
    digest preview                             the digest as it would be posted now, privately (anyone)
    digest now                                 post it here now (moderators)

Pure: the handler checks who asks and what they typed, and returns an effect that the app layer
(bot.app.digest) carries out with the database and the platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.commands import Command
from bot.core.context import Call, Context
from bot.core.digest.cadence import DAY_NAMES, Cadence, ScheduleError, parse_schedule
from bot.core.effects import Effect
from bot.core.permissions import Permission, can, refusal_text
from bot.core.registry import Option, command, spec
from bot.core.reply import Field, Reply
from bot.core.text import truncate

CONSOLE_CHANNEL = "console"  # the console and the operator's terminal have no channel id: they are one place

ACTIONS: dict[str, str] = {
    "status": "status", "show": "status", "info": "status",
    "subscribe": "subscribe", "sub": "subscribe", "schedule": "subscribe",
    "unsubscribe": "unsubscribe", "unsub": "unsubscribe", "stop": "unsubscribe", "cancel": "unsubscribe",
    "preview": "preview", "test": "preview",
    "now": "now", "post": "now",
}
MODERATOR_ACTIONS = frozenset({"subscribe", "unsubscribe", "now"})
USAGE = "digest [subscribe [day] [HH:MM] [timezone] | unsubscribe | preview | now]"


@dataclass(frozen=True)
class DigestEffect(Effect):
    """Something about the digest of one channel (the platform is the request's)."""

    channel_id: str


@dataclass(frozen=True)
class DigestStatus(DigestEffect):
    pass


@dataclass(frozen=True)
class DigestSubscribe(DigestEffect):
    cadence: Cadence


@dataclass(frozen=True)
class DigestUnsubscribe(DigestEffect):
    pass


@dataclass(frozen=True)
class DigestPreview(DigestEffect):
    pass


@dataclass(frozen=True)
class DigestNow(DigestEffect):
    pass


def channel_of(call: Call) -> str:
    return call.channel_id or CONSOLE_CHANNEL


@command("digest", aliases=("digests", "weekly"), short="d", usage=USAGE,
         example="digest subscribe Monday 09:00 Europe/Berlin",
         summary="This channel's weekly digest: its schedule, a preview; moderators subscribe",
         options=(Option("action", "what to do; leave out to see this channel's schedule",
                         choices=("status", "subscribe", "unsubscribe", "preview", "now")),
                  Option("day", "subscribe: the day of the week (default Monday)", choices=DAY_NAMES),
                  Option("time", "subscribe: the local time, HH:MM on the 24-hour clock (default 09:00)",
                         max_length=5),
                  Option("timezone", "subscribe: an IANA timezone such as Europe/Berlin", max_length=64)))
def _digest(command_: Command, ctx: Context, call: Call) -> Reply | Effect:
    word, _, rest = command_.args.partition(" ")
    action = ACTIONS.get(word.casefold()) if word else "status"
    if action is None:
        return _usage_error(ctx, f"I don't know '{truncate(word, 30)}' here. Try one of: status, subscribe, "
                                 "unsubscribe, preview, now.")
    if action != "subscribe" and rest.strip():
        return _usage_error(ctx, f"'{action}' takes nothing after it.")
    if action in MODERATOR_ACTIONS and not can(call.actor, Permission.MODERATOR, ctx.community.moderators):
        return Reply(header="Moderators only", text=refusal_text(call.actor, ctx.community.moderators),
                     is_error=True)
    channel = channel_of(call)
    if action == "status":
        return DigestStatus(channel)
    if action == "preview":
        return DigestPreview(channel)
    if action == "now":
        return DigestNow(channel)
    if action == "unsubscribe":
        return DigestUnsubscribe(channel)
    try:
        cadence = parse_schedule(rest, ctx.community.digest_timezone, command_prefix=ctx.command_prefix)
    except ScheduleError as exc:
        return Reply(header="That schedule is not one I can use", text=str(exc), is_error=True)
    return DigestSubscribe(channel, cadence)


def _usage_error(ctx: Context, text: str) -> Reply:
    found = spec("digest")
    assert found is not None
    p = ctx.command_prefix
    return Reply(header="Not a digest command", text=text,
                 fields=(Field("Usage", f"{p} {found.usage}\nExample: {p} {found.example}"),), is_error=True)
