"""`/mlops stats`: what members looked for, for the moderators (never who asked)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.commands import Command
from bot.core.context import Call, Context
from bot.core.effects import Effect
from bot.core.handlers import error_reply
from bot.core.permissions import Permission
from bot.core.registry import Option, command
from bot.core.reply import Field, Reply
from bot.core.text import ascii_int, plural, truncate

DEFAULT_DAYS = 30
MAX_DAYS = 3650


@dataclass(frozen=True)
class ShowStats(Effect):
    days: int = DEFAULT_DAYS


@dataclass(frozen=True)
class Stats:
    days: int
    searches: int
    commands: dict[str, int]
    top_queries: list[tuple[str, int, float]]  # query, times asked, average results
    no_results: list[tuple[str, int]]
    weak_results: list[tuple[str, int]]
    most_shared: list[tuple[str, int]]  # resource id, times shared
    suggestions: dict[str, int] = field(default_factory=dict)
    digests_sent: int = 0


@command("stats", aliases=("statistics",), short="n", usage="stats [days]", example="stats 30",
         summary="What members searched for and did not find, what they shared (moderators)",
         permission=Permission.MODERATOR,
         options=(Option("days", "how many days back (default 30)", kind="int", min_value=1, max_value=MAX_DAYS),))
def _stats(cmd: Command, ctx: Context, call: Call) -> object:
    if not cmd.args:
        return ShowStats()
    days = ascii_int(cmd.args.split()[0])
    if days is None or not 1 <= days <= MAX_DAYS:
        return error_reply(ctx, "How many days?", f"Give a number of days from 1 to {MAX_DAYS}.", usage="stats")
    return ShowStats(days)


def stats_reply(s: Stats, prefix: str) -> Reply:
    def lines(rows: list[tuple[str, int]] | list[tuple[str, int, float]], empty: str) -> str:
        if not rows:
            return empty
        return "\n".join(f"{truncate(row[0], 60)} ({row[1]}×)" for row in rows)

    fields = (
        Field("Top searches", lines(s.top_queries, "No searches yet.")),
        Field("Found nothing", lines(s.no_results, "Every search found something.")),
        Field("Found little (1–2)", lines(s.weak_results, "None.")),
        Field("Most shared", lines(s.most_shared, "Nothing shared yet.")),
        Field("Suggestions", ", ".join(f"{state} {n}" for state, n in sorted(s.suggestions.items())) or "None yet.",
              inline=True),
        Field("Digests sent", str(s.digests_sent), inline=True),
    )
    return Reply(header=f"The last {plural(s.days, 'day')}",
                 text=f"{plural(s.searches, 'search', 'searches')} in all. "
                      "Only the query, its number of results and the platform are kept: never who asked.",
                 fields=fields, footer=f"{prefix} stats 7 for the last week")
