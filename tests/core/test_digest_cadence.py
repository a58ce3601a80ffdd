"""The digest's schedule: what members type, when it is due across daylight saving, and late runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.digest.cadence import (
    DAY_NAMES,
    Cadence,
    Lateness,
    ScheduleError,
    catch_up,
    classify,
    next_due,
    period_key,
    previous_due,
)
from bot.core.digest.cadence import parse_schedule as parse

MON, SUN = 0, 6
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "UTC", "Asia/Kolkata")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Clock:
    """The test's clock: only the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


# -- parsing ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    ("", Cadence(MON, 9, 0, "Europe/Berlin")),
    ("monday", Cadence(MON, 9, 0, "Europe/Berlin")),
    ("Mon", Cadence(MON, 9, 0, "Europe/Berlin")),
    ("TUE", Cadence(1, 9, 0, "Europe/Berlin")),
    ("Sundays", Cadence(SUN, 9, 0, "Europe/Berlin")),
    ("fri 17:30", Cadence(4, 17, 30, "Europe/Berlin")),
    ("Fri 17:30 America/New_York", Cadence(4, 17, 30, "America/New_York")),
    ("wed 7:05 america/new_york", Cadence(2, 7, 5, "America/New_York")),
    ("08:15", Cadence(MON, 8, 15, "Europe/Berlin")),
    ("utc", Cadence(MON, 9, 0, "UTC")),
    ("Thursday 0:00 Australia/Lord_Howe", Cadence(3, 0, 0, "Australia/Lord_Howe")),
    ("  Sat \t 23:59   Asia/Kolkata ", Cadence(5, 23, 59, "Asia/Kolkata")),
])
def test_a_schedule_takes_day_time_and_zone_in_order_each_optional(args, expected):
    assert parse(args, "Europe/Berlin") == expected


@pytest.mark.parametrize(("args", "complaint"), [
    ("Moonday", "I don't know the day 'Moonday'"),
    ("Mon 9am", "I don't understand the time '9am'"),
    ("Mon 24:00", "I don't understand the time '24:00'"),
    ("Mon 12:60", "I don't understand the time '12:60'"),
    ("Mon 9:5", "I don't understand the time '9:5'"),
    ("Mon ٣:٠٠", "I don't understand the time"),  # Arabic-Indic digits
    ("Mon ²:00", "I don't understand the time"),  # a superscript two
    ("Mon 09:00 Berlin", "Did you mean Europe/Berlin?"),
    ("Mon 09:00 Mars/Olympus", "I don't know the timezone 'Mars/Olympus'"),
    ("Mon 09:00 ../../etc/passwd", "I don't know the timezone '../../etc/passwd'"),
    ("/etc/localtime", "I don't know the timezone '/etc/localtime'"),
    ("09:00 Mon", "Give the day first"),
    ("Europe/Berlin 09:00", "Give the day first"),
    ("Mon 09:00 UTC Europe/Berlin", "I did not expect 'Europe/Berlin' after the timezone"),
])
def test_a_bad_schedule_is_refused_with_a_reason_and_examples(args, complaint):
    with pytest.raises(ScheduleError) as raised:
        parse(args, "Europe/Berlin")
    assert complaint in str(raised.value)
    assert "/mlops digest subscribe Monday 09:00 Europe/Berlin, or Fri 17:30 America/New_York" in str(raised.value)


def test_the_examples_use_the_command_name_of_this_deployment():
    with pytest.raises(ScheduleError, match=r"Try: /learn digest subscribe"):
        parse("Moonday", "UTC", command_prefix="/learn")


def test_a_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


def test_an_unknown_default_timezone_is_a_configuration_error():
    with pytest.raises(ValueError, match="default timezone"):
        parse("", "Nowhere/Special")


@given(st.text(max_size=60))
def test_any_text_gives_a_cadence_or_a_schedule_error(text):
    try:
        cadence = parse(text, "UTC")
    except ScheduleError as exc:
        assert "Try:" in str(exc)
    else:
        assert isinstance(cadence, Cadence)


@given(st.sampled_from(DAY_NAMES), st.booleans(), st.integers(0, 23), st.integers(0, 59), st.sampled_from(ZONES),
       st.booleans())
def test_a_described_cadence_parses_back_to_itself(day, short, hour, minute, zone, shout):
    cadence = Cadence(DAY_NAMES.index(day), hour, minute, zone)
    text = f"{day[:3] if short else day} {hour:02d}:{minute:02d} {zone}"
    assert parse(text.upper() if shout else text, "Europe/Berlin") == cadence


def test_describe_reads_like_a_sentence():
    assert Cadence(MON, 9, 0, "Europe/Berlin").describe() == "Mondays at 09:00 Europe/Berlin"
    assert Cadence(4, 17, 5, "America/New_York").describe() == "Fridays at 17:05 America/New_York"


def test_a_cadence_refuses_impossible_values():
    for bad in ((7, 9, 0, "UTC"), (0, 24, 0, "UTC"), (0, 9, 60, "UTC"), (0, 9, 0, "Mars/Olympus")):
        with pytest.raises(ValueError):
            Cadence(*bad)


# -- next due ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cadence", "after", "due", "why"), [
    (Cadence(MON, 9, 0, "Europe/Berlin"), utc(2026, 1, 1), utc(2026, 1, 5, 8), "winter: CET is UTC+1"),
    (Cadence(MON, 9, 0, "Europe/Berlin"), utc(2026, 7, 1), utc(2026, 7, 6, 7), "summer: CEST is UTC+2"),
    (Cadence(MON, 9, 0, "Europe/Berlin"), utc(2026, 1, 5, 8), utc(2026, 1, 12, 8), "strictly after"),
    (Cadence(MON, 9, 0, "Europe/Berlin"), utc(2026, 1, 5, 7, 59), utc(2026, 1, 5, 8), "a minute before"),
    (Cadence(SUN, 2, 30, "Europe/Berlin"), utc(2026, 3, 28), utc(2026, 3, 29, 1), "skipped: 03:00 CEST"),
    (Cadence(SUN, 2, 30, "Europe/Berlin"), utc(2026, 10, 24), utc(2026, 10, 25, 0, 30), "twice: the first"),
    (Cadence(SUN, 2, 30, "America/New_York"), utc(2026, 3, 7), utc(2026, 3, 8, 7), "skipped: 03:00 EDT"),
    (Cadence(SUN, 1, 30, "America/New_York"), utc(2026, 10, 31), utc(2026, 11, 1, 5, 30), "twice: the EDT one"),
    (Cadence(SUN, 2, 30, "Australia/Sydney"), utc(2026, 10, 3), utc(2026, 10, 3, 16), "skipped: 03:00 AEDT"),
    (Cadence(SUN, 2, 30, "Australia/Sydney"), utc(2026, 4, 4), utc(2026, 4, 4, 15, 30), "twice: the AEDT one"),
    (Cadence(SUN, 2, 15, "Australia/Lord_Howe"), utc(2026, 10, 3), utc(2026, 10, 3, 15, 30), "30-min gap: 02:30"),
    (Cadence(SUN, 1, 45, "Australia/Lord_Howe"), utc(2026, 4, 4), utc(2026, 4, 4, 14, 45), "twice: the +11 one"),
    (Cadence(4, 9, 0, "Pacific/Apia"), utc(2011, 12, 28), utc(2011, 12, 30, 10), "a skipped day: its end"),
])
def test_next_due_is_the_first_local_occurrence_after_across_daylight_saving(cadence, after, due, why):
    assert next_due(cadence, after) == due, why


@pytest.mark.parametrize(("cadence", "first"), [
    (Cadence(SUN, 2, 30, "Europe/Berlin"), utc(2026, 10, 25, 0, 30)),
    (Cadence(SUN, 1, 30, "America/New_York"), utc(2026, 11, 1, 5, 30)),
    (Cadence(SUN, 2, 30, "Australia/Sydney"), utc(2026, 4, 4, 15, 30)),
    (Cadence(SUN, 1, 45, "Australia/Lord_Howe"), utc(2026, 4, 4, 14, 45)),
])
def test_a_local_time_that_happens_twice_is_due_once(cadence, first):
    following = next_due(cadence, first)
    assert following - first > timedelta(days=6)
    assert following.astimezone(cadence.zone).date() == first.astimezone(cadence.zone).date() + timedelta(days=7)


@pytest.mark.parametrize(("cadence", "day", "local"), [
    (Cadence(SUN, 2, 30, "Europe/Berlin"), date(2026, 3, 29), "03:00"),
    (Cadence(SUN, 2, 30, "America/New_York"), date(2026, 3, 8), "03:00"),
    (Cadence(SUN, 2, 0, "Australia/Sydney"), date(2026, 10, 4), "03:00"),
    (Cadence(SUN, 2, 15, "Australia/Lord_Howe"), date(2026, 10, 4), "02:30"),
])
def test_a_local_time_the_clocks_skip_is_due_once_at_the_next_valid_minute(cadence, day, local):
    before = datetime.combine(day, datetime.min.time(), ZoneInfo(cadence.timezone)).astimezone(UTC)
    due = next_due(cadence, before)
    assert due.astimezone(cadence.zone).strftime("%Y-%m-%d %H:%M") == f"{day.isoformat()} {local}"
    assert next_due(cadence, due) - due > timedelta(days=6)


@given(st.integers(0, 6), st.integers(0, 23), st.integers(0, 59), st.sampled_from(ZONES),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)))
def test_next_due_is_within_a_week_on_the_right_local_day_and_misses_nothing(weekday, hour, minute, zone, after):
    cadence = Cadence(weekday, hour, minute, zone)
    due = next_due(cadence, after)
    assert after < due <= after + timedelta(days=7, hours=1)
    assert due.tzinfo is UTC
    local = due.astimezone(cadence.zone)
    assert local.weekday() == weekday
    # Exactly the wall time, or later on that day when the clocks skipped it.
    assert (local.hour, local.minute) >= (hour, minute)
    assert previous_due(cadence, due) == due
    assert previous_due(cadence, due - timedelta(microseconds=1)) <= after


@given(st.integers(0, 6), st.integers(0, 23), st.integers(0, 59), st.sampled_from(ZONES),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)))
def test_a_year_of_occurrences_has_one_per_local_week_each_with_its_own_period(weekday, hour, minute, zone, start):
    cadence = Cadence(weekday, hour, minute, zone)
    dues = [next_due(cadence, start)]
    for _ in range(52):
        dues.append(next_due(cadence, dues[-1]))
    days = [date.fromisoformat(period_key(cadence, d)) for d in dues]
    assert all((b - a).days == 7 for a, b in pairwise(days))


def test_the_period_of_an_occurrence_is_its_local_date():
    cadence = Cadence(SUN, 23, 30, "America/New_York")
    due = next_due(cadence, utc(2026, 1, 1))
    assert due == utc(2026, 1, 5, 4, 30)  # Monday in UTC, Sunday evening in New York
    assert period_key(cadence, due) == "2026-01-04"


def test_an_occurrence_moved_past_a_skipped_day_keeps_the_date_it_was_scheduled_for():
    cadence = Cadence(4, 9, 0, "Pacific/Apia")  # 30 December 2011 did not happen in Samoa
    due = next_due(cadence, utc(2011, 12, 28))
    assert due.astimezone(cadence.zone).date() == date(2011, 12, 31)
    assert period_key(cadence, due) == "2011-12-30"


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        next_due(Cadence(MON, 9, 0, "UTC"), datetime(2026, 1, 1))


# -- late runs --------------------------------------------------------------------------------------

DUE = utc(2026, 1, 5, 8)
GRACE = timedelta(hours=24)


@pytest.mark.parametrize(("late_by", "verdict"), [
    (-timedelta(seconds=5), Lateness.ON_TIME),
    (timedelta(0), Lateness.ON_TIME),
    (timedelta(seconds=31), Lateness.ON_TIME),
    (timedelta(minutes=2) - timedelta(microseconds=1), Lateness.ON_TIME),
    (timedelta(minutes=2), Lateness.LATE),
    (timedelta(hours=5), Lateness.LATE),
    (GRACE - timedelta(microseconds=1), Lateness.LATE),
    (GRACE, Lateness.SKIP),
    (timedelta(days=30), Lateness.SKIP),
])
def test_lateness_is_on_time_within_two_minutes_late_within_the_grace_then_skip(late_by, verdict):
    assert classify(DUE, DUE + late_by, GRACE) is verdict


def test_lateness_reads_as_its_plain_name():
    assert classify(DUE, DUE, GRACE) == "on_time"
    assert classify(DUE, DUE + GRACE, GRACE) == "skip"


WEEKLY = Cadence(MON, 9, 0, "Europe/Berlin")


@pytest.mark.parametrize(("now", "post", "lateness"), [
    (DUE - timedelta(hours=1), None, None),
    (DUE + timedelta(seconds=30), DUE, Lateness.ON_TIME),
    (DUE + timedelta(hours=3), DUE, Lateness.LATE),
    (DUE + GRACE - timedelta(seconds=1), DUE, Lateness.LATE),
    (DUE + GRACE, None, Lateness.SKIP),
    (DUE + timedelta(days=3), None, Lateness.SKIP),
    (DUE + timedelta(days=7, hours=2), DUE + timedelta(days=7), Lateness.LATE),  # the latest, not the first
    (DUE + timedelta(days=28, minutes=1), DUE + timedelta(days=28), Lateness.ON_TIME),
])
def test_catch_up_posts_only_the_latest_missed_occurrence_and_only_within_the_grace(now, post, lateness):
    decision = catch_up(WEEKLY, DUE, now, GRACE)
    assert decision.post == post
    assert decision.lateness is lateness
    assert decision.next_due == (DUE if now < DUE else next_due(WEEKLY, now))
    assert decision.next_due > now


def _run_ticks(clock: Clock, stored_due: datetime, until: datetime, up: bool = True) -> tuple[list, datetime]:
    """What the lead's tick does every 30 s: claim the due subscription, post what catch_up says, store next_due."""
    posted = []
    while clock.now < until:
        if up and stored_due <= clock.now:
            decision = catch_up(WEEKLY, stored_due, clock.now, GRACE)
            if decision.post is not None:
                posted.append((decision.post, clock.now))
            stored_due = decision.next_due
        clock.advance(timedelta(seconds=30))
    return posted, stored_due


def test_a_bot_ticking_every_30_seconds_posts_each_week_once_on_time():
    clock = Clock(utc(2026, 1, 1))
    posted, _ = _run_ticks(clock, next_due(WEEKLY, clock.now), until=utc(2026, 2, 1))
    assert [when for when, _ in posted] == [utc(2026, 1, 5, 8), utc(2026, 1, 12, 8), utc(2026, 1, 19, 8),
                                            utc(2026, 1, 26, 8)]
    assert all(at - when < timedelta(minutes=1) for when, at in posted)


def test_a_bot_back_after_four_weeks_down_posts_at_most_one_digest():
    clock = Clock(utc(2026, 1, 1))
    stored = next_due(WEEKLY, clock.now)
    _, stored = _run_ticks(clock, stored, until=utc(2026, 1, 26, 9), up=False)  # down over four Mondays
    posted, _ = _run_ticks(clock, stored, until=utc(2026, 1, 26, 12))
    assert [when for when, _ in posted] == [utc(2026, 1, 26, 8)]  # this morning's, an hour late; none of the others


def test_a_bot_back_beyond_the_grace_posts_nothing_until_the_next_occurrence():
    clock = Clock(utc(2026, 1, 1))
    stored = next_due(WEEKLY, clock.now)
    _, stored = _run_ticks(clock, stored, until=utc(2026, 1, 27, 9), up=False)  # back the day after, too late
    posted, _ = _run_ticks(clock, stored, until=utc(2026, 2, 3))
    assert [when for when, _ in posted] == [utc(2026, 2, 2, 8)]


def test_a_bot_back_exactly_at_the_grace_boundary_skips():
    clock = Clock(utc(2026, 1, 5, 8) + GRACE)
    decision = catch_up(WEEKLY, utc(2026, 1, 5, 8), clock.now, GRACE)
    assert decision.post is None and decision.lateness is Lateness.SKIP
    clock.advance(-timedelta(seconds=1))
    assert catch_up(WEEKLY, utc(2026, 1, 5, 8), clock.now, GRACE).post == utc(2026, 1, 5, 8)
