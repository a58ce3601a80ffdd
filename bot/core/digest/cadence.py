"""When a channel's weekly digest is due: the schedule members type, its next times, and late runs.

Pure: the current time always comes in as an argument. Times in and out are aware datetimes in UTC;
local times exist only inside this module.

Why not APScheduler's CronTrigger (DESIGN.md planned it): 3.11's CronTrigger gets both daylight-saving
transitions wrong for this use. A local time the clocks skip (02:30 in Berlin on the last Sunday of March)
comes out 30 minutes past the gap (03:30) instead of at its end (03:00), and a local time that happens
twice (02:30 on the last Sunday of October) fires at both occurrences, which would post the digest twice.
zoneinfo gives exactly the answers wanted, in a few lines, without a scheduler object per subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.text import truncate

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_HOUR, DEFAULT_MINUTE = 9, 0
ON_TIME_TOLERANCE = timedelta(minutes=2)  # a tick every ~30 s is never more than this behind

_DAYS = {name.casefold(): i for i, name in enumerate(DAY_NAMES)} | {
    name[:3].casefold(): i for i, name in enumerate(DAY_NAMES)} | {
    name.casefold() + "s": i for i, name in enumerate(DAY_NAMES)}  # "Mondays", as describe() says it
# [0-9], not \d: \d also matches "٣" and other Unicode digits, which int() would then accept.
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
# What an IANA name can look like. Checked before any lookup, so "../../etc/passwd" never reaches zoneinfo.
_ZONE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_MAX_TOKEN = 64


class ScheduleError(ValueError):
    """A schedule a member typed that we cannot use; the message is meant for them, with examples."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """Once a week, on `weekday` (0 = Monday) at `hour`:`minute` local time in `timezone` (an IANA name)."""

    weekday: int
    hour: int
    minute: int
    timezone: str

    def __post_init__(self) -> None:
        if not (0 <= self.weekday <= 6 and 0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError(f"not a weekly cadence: weekday {self.weekday}, {self.hour}:{self.minute}")
        if _zone_name(self.timezone) != self.timezone:
            raise ValueError(f"unknown timezone {self.timezone!r}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def day_name(self) -> str:
        return DAY_NAMES[self.weekday]

    def describe(self) -> str:
        return f"{self.day_name}s at {self.hour:02d}:{self.minute:02d} {self.timezone}"


def parse_schedule(args: str, default_timezone: str, *, command_prefix: str = "/mlops") -> Cadence:
    """`[day] [HH:MM] [timezone]`, each optional but in that order; Monday 09:00 `default_timezone` by default.

    Raises ScheduleError (and nothing else) for anything a member can type.
    """
    zone = _zone_name(default_timezone)
    if zone is None:
        raise ValueError(f"the default timezone {default_timezone!r} is not an IANA timezone name")
    examples = (f"Try: {command_prefix} digest subscribe Monday 09:00 Europe/Berlin, "
                "or Fri 17:30 America/New_York")
    weekday, hour, minute = DEFAULT_WEEKDAY, DEFAULT_HOUR, DEFAULT_MINUTE
    order = f"Give the day first, then the time, then the timezone. {examples}"
    step = 0  # what may come next: 0 a day, 1 a time, 2 a timezone, 3 nothing
    for token in args.split():
        shown = f"'{truncate(token, 40)}'"
        day = _DAYS.get(token.casefold())
        if day is not None:
            if step > 0:
                raise ScheduleError(order)
            weekday, step = day, 1
            continue
        clock = _TIME.fullmatch(token)
        if clock is not None or token[:1].isdigit():  # isdigit: "٣:00" is meant as a time, and refused as one
            if step > 1:
                raise ScheduleError(order)
            hour, minute = _clock(clock, shown, examples)
            step = 2
            continue
        found = _zone_name(token)
        if found is not None and step <= 2:
            zone, step = found, 3
        elif step == 3:
            raise ScheduleError(f"I did not expect {shown} after the timezone. {examples}")
        elif step == 0 and token.isalpha() and not _zone_hint(token):
            # A lone word where the day goes is most likely a misspelt day ("Moonday").
            raise ScheduleError(f"I don't know the day {shown}. {examples}")
        else:
            raise ScheduleError(f"I don't know the timezone {shown}.{_zone_hint(token)} "
                                f"Use an IANA name like Europe/Berlin, America/New_York or UTC. {examples}")
    return Cadence(weekday, hour, minute, zone)


def _clock(match: re.Match[str] | None, shown: str, examples: str) -> tuple[int, int]:
    if match is not None:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour <= 23 and minute <= 59:
            return hour, minute
    raise ScheduleError(f"I don't understand the time {shown}: use the 24-hour clock, HH:MM. {examples}")


@cache
def _zones() -> dict[str, str]:
    """Every IANA name zoneinfo knows here, by its case-folded form (read once: it walks the tz directory)."""
    return {name.casefold(): name for name in available_timezones()}


def _zone_name(token: str) -> str | None:
    """The canonical spelling of an IANA timezone name, matched regardless of case, or None."""
    if len(token) > _MAX_TOKEN or not _ZONE_SHAPE.fullmatch(token):
        return None
    name = _zones().get(token.casefold())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def _zone_hint(token: str) -> str:
    """' Did you mean Europe/Berlin?' for 'Berlin', when exactly one zone ends in that city."""
    if len(token) > _MAX_TOKEN:
        return ""
    wanted = "/" + token.casefold()
    matches = sorted(name for key, name in _zones().items() if key.endswith(wanted) and "/" in key)
    return f" Did you mean {matches[0]}?" if len(matches) == 1 else ""


# -- due times --------------------------------------------------------------------------------------

def occurrence(cadence: Cadence, day: date) -> datetime:
    """The instant (UTC) of the digest scheduled on local date `day`, which should fall on its weekday.

    A local time that happens twice (the clocks went back) means its first occurrence. One that does not
    exist (the clocks went forward past it) means the end of the gap: the first minute that does exist.
    """
    zone = cadence.zone
    wall = datetime.combine(day, time(cadence.hour, cadence.minute))
    first = wall.replace(tzinfo=zone, fold=0)  # fold=0 is the earlier of two occurrences
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap, fold=0 reads the wall time with the offset from before the change and fold=1 with the one
    # from after; the change itself lies between the two readings, and is where the gap ends.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    offset_after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    # Round up to a whole minute: transitions are on whole minutes, and the due time is a minute too.
    high = high.replace(microsecond=0)
    if high.second:
        high += timedelta(seconds=60 - high.second)
    return high


def _local_date(instant: datetime, cadence: Cadence) -> date:
    return _require_aware(instant).astimezone(cadence.zone).date()


def _scheduled_days(cadence: Cadence, around: date, back: int, ahead: int) -> list[date]:
    days = (around + timedelta(days=n) for n in range(-back, ahead + 1))
    return [d for d in days if d.weekday() == cadence.weekday]


def next_due(cadence: Cadence, after: datetime) -> datetime:
    """The first occurrence strictly after `after` (aware), in UTC."""
    # A day before as well: an occurrence pushed past a gap can land on the next local date.
    for day in _scheduled_days(cadence, _local_date(after, cadence), back=1, ahead=8):
        due = occurrence(cadence, day)
        if due > after:
            return due
    raise AssertionError("a weekly cadence always has an occurrence within eight days")  # pragma: no cover


def previous_due(cadence: Cadence, at_or_before: datetime) -> datetime:
    """The latest occurrence at or before `at_or_before` (aware), in UTC."""
    for day in reversed(_scheduled_days(cadence, _local_date(at_or_before, cadence), back=8, ahead=1)):
        due = occurrence(cadence, day)
        if due <= at_or_before:
            return due
    raise AssertionError("a weekly cadence always has an occurrence within eight days")  # pragma: no cover


def period_key(cadence: Cadence, due: datetime) -> str:
    """The digest period `due` belongs to: the local ISO date the occurrence was scheduled for.

    Stable for a given occurrence whichever replica computes it, so (subscription, period) can be claimed
    once in the database. An occurrence moved past a gap keeps the date it was scheduled on.
    """
    local = _local_date(due, cadence)
    for day in (local, local - timedelta(days=1)):
        if day.weekday() == cadence.weekday and occurrence(cadence, day) == due:
            return day.isoformat()
    return local.isoformat()


# -- late runs --------------------------------------------------------------------------------------

class Lateness(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"  # post it now, once
    SKIP = "skip"  # too old to be news: post nothing for it


def classify(due: datetime, now: datetime, grace: timedelta, *,
             tolerance: timedelta = ON_TIME_TOLERANCE) -> Lateness:
    """How late posting the occurrence `due` at `now` would be. A `due` still ahead counts as on time."""
    late_by = _require_aware(now) - _require_aware(due)
    if late_by < tolerance:
        return Lateness.ON_TIME
    if late_by < grace:
        return Lateness.LATE
    return Lateness.SKIP


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What to do about a subscription at `now`: post `latest` (unless skipped), then wait for `next_due`."""

    latest: datetime | None  # the most recent occurrence due by now, or None when nothing is due yet
    lateness: Lateness | None  # its verdict; None with `latest`
    next_due: datetime

    @property
    def post(self) -> datetime | None:
        """The one occurrence to post now, if any."""
        return self.latest if self.lateness in (Lateness.ON_TIME, Lateness.LATE) else None


def catch_up(cadence: Cadence, last_due: datetime, now: datetime, grace: timedelta) -> CatchUp:
    """Decide a subscription whose stored due time is `last_due`, however long ago that was.

    Only the most recent occurrence due by `now` can be posted (if it is within `grace`); older ones
    missed while the bot was down are dropped, so a bot back after a month posts at most one digest.
    """
    if _require_aware(last_due) > _require_aware(now):
        return CatchUp(latest=None, lateness=None, next_due=last_due.astimezone(UTC))
    latest = max(previous_due(cadence, now), last_due.astimezone(UTC))
    return CatchUp(latest=latest, lateness=classify(latest, now, grace), next_due=next_due(cadence, now))


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("times must be timezone-aware (UTC)")
    return instant
