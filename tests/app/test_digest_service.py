"""The digest service over a real SQLite file: the commands, the tick moved by a clock, exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

from sqlalchemy import insert

from bot.app.digest import digest_key
from bot.app.posting import PostError
from bot.core.reply import Reply, Visibility
from bot.storage.schema import approved_resources
from tests.app.digest_fixtures import (  # noqa: F401 (fixtures)
    MEMBER,
    MONDAY,
    bot_service,
    clock_fixture,
    digest_service,
    poster_fixture,
    slack,
    store_fixture,
)


async def subscribed(catalog, store, poster, clock, text="digest subscribe", channel="C1", **options):
    bot = bot_service(catalog, clock)
    digest = digest_service(bot, store, poster, clock, **options)
    reply = await bot.handle(slack(text, channel=channel))
    assert isinstance(reply, Reply) and not reply.is_error, reply
    return bot, digest


# -- the commands --------------------------------------------------------------------------------------

async def test_subscribe_stores_the_schedule_with_monday_nine_in_the_digest_timezone_by_default(
        catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    sub = digest.repo.get("slack", "C1")
    assert sub is not None and sub.active
    assert (sub.cadence.weekday, sub.cadence.hour, sub.cadence.minute, sub.cadence.timezone) == (
        0, 9, 0, "Europe/Berlin")
    assert sub.next_due_at == MONDAY
    assert sub.created_by.startswith("slack:U0MOD")


async def test_subscribing_again_changes_the_schedule(catalog, store, poster, clock):
    bot, digest = await subscribed(catalog, store, poster, clock)
    reply = await bot.handle(slack("digest subscribe Fri 17:30 America/New_York"))
    assert reply.header == "Digest schedule changed"
    sub = digest.repo.get("slack", "C1")
    assert sub.cadence.describe() == "Fridays at 17:30 America/New_York"
    assert sub.next_due_at == dt.datetime(2026, 2, 27, 22, 30, tzinfo=dt.UTC)  # this very Friday
    assert len(digest.repo.subscriptions()) == 1


async def test_subscribe_where_the_bot_cannot_post_says_what_to_do_and_stores_nothing(
        catalog, store, poster, clock):
    poster.cannot["C1"] = "Invite the bot to #c1 first: /invite @mlops-bot"
    bot = bot_service(catalog, clock)
    digest = digest_service(bot, store, poster, clock)
    reply = await bot.handle(slack("digest subscribe"))
    assert reply.is_error and reply.text == "Invite the bot to #c1 first: /invite @mlops-bot"
    assert digest.repo.get("slack", "C1") is None


async def test_a_member_cannot_subscribe_unsubscribe_or_post_now(catalog, store, poster, clock):
    bot, digest = await subscribed(catalog, store, poster, clock)
    for text in ("digest subscribe Tue", "digest unsubscribe", "digest now"):
        reply = await bot.handle(slack(text, user=MEMBER))
        assert reply.header == "Moderators only", text
    assert digest.repo.get("slack", "C1").cadence.weekday == 0
    assert not poster.sent


async def test_status_shows_anyone_the_next_post_in_local_time_and_utc_the_last_post_and_failure(
        catalog, store, poster, clock):
    bot, digest = await subscribed(catalog, store, poster, clock)
    poster.refuse["C1"] = [PostError("x", code="not_in_channel", permanent=True, hint="Invite the bot.")]
    clock.set(MONDAY + dt.timedelta(seconds=20))
    await digest.run_due()
    reply = await bot.handle(slack("digest", user=MEMBER))
    fields = {f.name: f.value for f in reply.fields}
    assert fields["Schedule"] == "Mondays at 09:00 Europe/Berlin"
    assert fields["Next post"] == "Monday 9 March 2026, 09:00 Europe/Berlin (08:00 UTC)"
    assert fields["Last post"] == "never"
    assert fields["Last failure"].startswith("not_in_channel: Invite the bot. (Monday 2 March 2026, 09:00")

    poster.refuse.clear()
    clock.set(MONDAY + dt.timedelta(days=7, seconds=5))
    await digest.run_due()
    fields = {f.name: f.value for f in (await bot.handle(slack("digest", user=MEMBER))).fields}
    assert fields["Last post"] == "Monday 9 March 2026, 09:00 Europe/Berlin (08:00 UTC)"


async def test_status_of_a_channel_without_a_digest_says_how_to_subscribe(catalog, store, poster, clock):
    bot = bot_service(catalog, clock)
    digest_service(bot, store, poster, clock)
    reply = await bot.handle(slack("digest", user=MEMBER, channel="C9"))
    assert reply.header == "No weekly digest in this channel"
    assert "/mlops digest subscribe" in reply.text


async def test_unsubscribe_stops_the_digest(catalog, store, poster, clock):
    bot, digest = await subscribed(catalog, store, poster, clock)
    reply = await bot.handle(slack("digest unsubscribe"))
    assert reply.header == "Weekly digest stopped"
    clock.set(MONDAY + dt.timedelta(minutes=1))
    await digest.run_due()
    assert not poster.sent
    assert (await bot.handle(slack("digest unsubscribe"))).header == "No weekly digest in this channel"


async def test_preview_is_private_posts_nothing_and_leaves_the_rotation_alone(catalog, store, poster, clock):
    bot, digest = await subscribed(catalog, store, poster, clock)
    first = await bot.handle(slack("digest preview", user=MEMBER))
    again = await bot.handle(slack("digest preview", user=MEMBER))
    assert first.visibility is Visibility.PRIVATE and first.header.startswith("This week in MLOps")
    assert first.items == again.items
    assert "only you see it" in first.notices[-1]
    assert not poster.sent
    assert digest.repo.get("slack", "C1").rotation == {}


async def test_digest_now_posts_once_on_a_double_click(catalog, store, poster, clock):
    bot, _ = await subscribed(catalog, store, poster, clock)
    replies = await asyncio.gather(bot.handle(slack("digest now")), bot.handle(slack("digest now")))
    assert sorted(r.header for r in replies) == ["Already posted", "Digest posted"]
    assert len(poster.to("C1")) == 1
    assert poster.to("C1")[0].reply.visibility is Visibility.PUBLIC
    clock.move(seconds=61)
    assert (await bot.handle(slack("digest now"))).header == "Digest posted"
    assert len(poster.to("C1")) == 2


async def test_digest_now_that_the_platform_refuses_says_why_and_can_be_tried_again(catalog, store, poster, clock):
    bot, _ = await subscribed(catalog, store, poster, clock)
    poster.refuse["C1"] = [PostError("x", code="not_in_channel", permanent=True, hint="Invite the bot to #c1.")]
    reply = await bot.handle(slack("digest now"))
    assert reply.is_error and reply.text == "Invite the bot to #c1."
    poster.refuse.clear()
    assert (await bot.handle(slack("digest now"))).header == "Digest posted"


# -- the tick ------------------------------------------------------------------------------------------

async def test_a_due_digest_is_posted_once_however_often_it_ticks(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    clock.set(MONDAY - dt.timedelta(seconds=1))
    assert (await digest.run_due()).posted == 0
    clock.set(MONDAY + dt.timedelta(seconds=10))
    assert (await digest.run_due()).posted == 1
    for _ in range(3):
        clock.move(seconds=30)
        assert (await digest.run_due()).posted == 0
    [sent] = poster.sent
    assert sent.key == digest_key(digest.repo.get("slack", "C1").id, "2026-03-02")
    assert sent.reply.header == "This week in MLOps · Monday 2 March 2026"
    assert digest.repo.get("slack", "C1").next_due_at == MONDAY + dt.timedelta(days=7)


async def test_next_week_features_the_next_pick_of_the_rotation(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    titles = []
    for week in range(3):
        clock.set(MONDAY + dt.timedelta(days=7 * week, seconds=5))
        await digest.run_due()
        titles.append(poster.sent[-1].reply.items[0].title)
    assert len(poster.sent) == 3
    assert len(set(titles)) == 3  # three newsletters in the catalog, each once per cycle
    assert len(digest.repo.get("slack", "C1").rotation["newsletter"]) == 3


async def test_a_missed_run_within_the_grace_is_posted_once_late_and_logged(catalog, store, poster, clock, caplog):
    _, digest = await subscribed(catalog, store, poster, clock)
    clock.set(MONDAY + dt.timedelta(hours=5))
    with caplog.at_level(logging.INFO, logger="bot.app.digest"):
        assert (await digest.run_due()).posted == 1
    assert "posted late" in caplog.text
    sub = digest.repo.get("slack", "C1")
    [row] = digest.repo.posts(sub.id)
    assert row.late and row.state == "posted"
    clock.move(minutes=1)
    assert (await digest.run_due()).posted == 0


async def test_a_missed_run_beyond_the_grace_is_skipped_and_the_next_is_on_schedule(catalog, store, poster, clock,
                                                                                     caplog):
    _, digest = await subscribed(catalog, store, poster, clock)
    clock.set(MONDAY + dt.timedelta(hours=30))
    with caplog.at_level(logging.INFO, logger="bot.app.digest"):
        result = await digest.run_due()
    assert (result.posted, result.skipped) == (0, 1)
    assert "skipped" in caplog.text
    assert digest.repo.get("slack", "C1").next_due_at == MONDAY + dt.timedelta(days=7)
    clock.set(MONDAY + dt.timedelta(days=7, seconds=3))
    assert (await digest.run_due()).posted == 1


async def test_a_bot_back_after_a_month_posts_no_burst(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    clock.set(MONDAY + dt.timedelta(days=28, hours=3))  # the fifth Monday's run, 3 h late
    assert (await digest.run_due()).posted == 1
    assert len(poster.sent) == 1
    assert poster.sent[0].reply.header.endswith("Monday 30 March 2026")
    clock.move(minutes=1)
    assert (await digest.run_due()).posted == 0


async def test_the_digest_follows_local_time_across_daylight_saving(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    posted_at = []
    for _ in range(5):  # Berlin goes to summer time on 29 March
        sub = digest.repo.get("slack", "C1")
        clock.set(sub.next_due_at + dt.timedelta(seconds=5))
        await digest.run_due()
        posted_at.append(sub.next_due_at.strftime("%m-%d %H:%M"))
    assert posted_at == ["03-02 08:00", "03-09 08:00", "03-16 08:00", "03-23 08:00", "03-30 07:00"]
    assert len(poster.sent) == 5


async def test_two_replicas_ticking_together_post_each_digest_once(catalog, store, poster, clock):
    bot, first = await subscribed(catalog, store, poster, clock)
    for n in range(2, 21):
        assert not (await bot.handle(slack("digest subscribe", channel=f"C{n}"))).is_error
    second = digest_service(bot_service(catalog, clock), store, poster, clock)
    third = digest_service(bot_service(catalog, clock), store, poster, clock)
    clock.set(MONDAY + dt.timedelta(seconds=3))
    results = await asyncio.gather(first.run_due(), second.run_due(), third.run_due())
    assert sum(r.posted for r in results) == 20
    assert sorted(s.channel for s in poster.sent) == sorted(f"C{n}" for n in range(1, 21))


# -- exactly once across a crash ---------------------------------------------------------------------------

async def crashed_mid_post(digest, clock, poster, *, posted: bool):
    """What a kill -9 between posting and marking leaves: a claim whose lease ran out, and maybe the post."""
    sub = digest.repo.get("slack", "C1")
    clock.set(MONDAY + dt.timedelta(seconds=3))
    claim = digest.repo.claim(sub.id, "2026-03-02", MONDAY, clock(), digest.lease)
    assert claim is not None
    if posted:
        await poster.post("C1", Reply(header="This week in MLOps"), key=digest_key(sub.id, "2026-03-02"))
    clock.move(minutes=5)
    return sub


async def test_a_post_cut_off_after_the_platform_took_it_is_found_and_not_posted_again(catalog, store, poster,
                                                                                        clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    sub = await crashed_mid_post(digest, clock, poster, posted=True)
    assert (await digest.run_due()).posted == 1
    assert len(poster.sent) == 1
    assert poster.finds == [("C1", digest_key(sub.id, "2026-03-02"))]
    assert digest.repo.post_row(sub.id, "2026-03-02").state == "posted"
    assert digest.repo.get("slack", "C1").next_due_at == MONDAY + dt.timedelta(days=7)


async def test_a_post_cut_off_before_the_platform_took_it_is_posted_after_looking(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    await crashed_mid_post(digest, clock, poster, posted=False)
    assert (await digest.run_due()).posted == 1
    assert len(poster.sent) == 1 and poster.finds


async def test_a_cut_off_post_the_platform_cannot_tell_about_is_given_up_and_logged(catalog, store, poster, clock,
                                                                                     caplog):
    _, digest = await subscribed(catalog, store, poster, clock)
    poster.find_error = PostError("x", code="missing_scope", permanent=True, hint="needs channels:history")
    sub = await crashed_mid_post(digest, clock, poster, posted=False)
    with caplog.at_level(logging.WARNING, logger="bot.app.digest"):
        assert (await digest.run_due()).unknown == 1
    assert not poster.sent
    assert "not posting it again" in caplog.text
    assert digest.repo.post_row(sub.id, "2026-03-02").state == "unknown"
    assert digest.repo.get("slack", "C1").next_due_at == MONDAY + dt.timedelta(days=7)


async def test_a_live_lease_of_another_replica_is_left_alone(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    sub = digest.repo.get("slack", "C1")
    clock.set(MONDAY + dt.timedelta(seconds=3))
    assert digest.repo.claim(sub.id, "2026-03-02", MONDAY, clock(), digest.lease) is not None
    assert (await digest.run_due()).taken == 1
    assert not poster.sent and not poster.finds


# -- failures --------------------------------------------------------------------------------------------

async def test_a_refusing_channel_does_not_delay_the_others(catalog, store, poster, clock):
    bot, digest = await subscribed(catalog, store, poster, clock, post_timeout=0.5)
    for channel in ("C2", "C3"):
        await bot.handle(slack("digest subscribe", channel=channel))
    hang = asyncio.Event()
    original = poster.post

    async def slow_in_c1(channel_id, reply, **kwargs):
        if channel_id == "C1":
            await hang.wait()
        return await original(channel_id, reply, **kwargs)

    poster.post = slow_in_c1  # type: ignore[method-assign]
    clock.set(MONDAY + dt.timedelta(seconds=3))
    await digest.tick()
    for _ in range(100):
        if {s.channel for s in poster.sent} == {"C2", "C3"}:
            break
        await asyncio.sleep(0.01)
    assert {s.channel for s in poster.sent} == {"C2", "C3"}  # while C1 still hangs
    result = await digest.drain()
    assert (result.posted, result.retrying) == (2, 1)


async def test_a_transient_failure_is_retried_on_a_later_tick_with_backoff(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    poster.refuse["C1"] = [PostError("503", code="http_503", permanent=False)]
    clock.set(MONDAY + dt.timedelta(seconds=3))
    assert (await digest.run_due()).retrying == 1
    sub = digest.repo.get("slack", "C1")
    assert digest.repo.post_row(sub.id, "2026-03-02").attempts == 1
    clock.move(seconds=30)
    assert (await digest.run_due()).taken == 1  # the backoff is a minute
    clock.move(seconds=40)
    assert (await digest.run_due()).posted == 1
    row = digest.repo.post_row(sub.id, "2026-03-02")
    assert (row.state, row.attempts) == ("posted", 2)
    assert poster.finds  # a 503 may have gone out: looked for before posting again
    assert len(poster.sent) == 1


async def test_a_rate_limit_with_retry_after_is_waited_out_in_place(catalog, store, poster, clock):
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    _, digest = await subscribed(catalog, store, poster, clock, sleep=sleep)
    poster.refuse["C1"] = [PostError("429", code="ratelimited", permanent=False, retry_after=1.0)] * 2
    clock.set(MONDAY + dt.timedelta(seconds=3))
    assert (await digest.run_due()).posted == 1
    assert waits == [1.0, 1.0] and len(poster.sent) == 1 and not poster.finds


async def test_a_permanent_refusal_is_reported_and_three_failed_weeks_unsubscribe(catalog, store, poster, clock,
                                                                                   caplog):
    _, digest = await subscribed(catalog, store, poster, clock)
    poster.refuse["C1"] = [PostError("x", code="channel_not_found", permanent=True)]
    with caplog.at_level(logging.WARNING, logger="bot.app.digest"):
        for week in range(3):
            clock.set(MONDAY + dt.timedelta(days=7 * week, seconds=3))
            assert (await digest.run_due()).failed == 1
    sub = digest.repo.get("slack", "C1")
    assert not sub.active and sub.failures == 3
    assert "refused for good: channel_not_found" in caplog.text
    assert "unsubscribed after 3 failed weeks" in caplog.text
    clock.set(MONDAY + dt.timedelta(days=21, seconds=3))
    assert (await digest.run_due()).failed == 0


async def test_a_success_between_failures_starts_the_count_again(catalog, store, poster, clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    refusal = PostError("x", code="is_archived", permanent=True)
    for week, refused in enumerate((True, True, False, True, True)):
        poster.refuse["C1"] = [refusal] if refused else []
        clock.set(MONDAY + dt.timedelta(days=7 * week, seconds=3))
        await digest.run_due()
    sub = digest.repo.get("slack", "C1")
    assert sub.active and sub.failures == 2


# -- content -------------------------------------------------------------------------------------------

def approve(store, resource_id, title, at):
    data = {"id": resource_id, "title": title, "kind": "tool", "category": "feature-stores",
            "summary": "A new tool", "url": f"https://{resource_id}.example.org/", "links": [], "tags": ["new"]}
    with store.engine.begin() as conn:
        conn.execute(insert(approved_resources).values(resource_id=resource_id, data=json.dumps(data),
                                                        approved_at=at))


async def test_new_this_week_is_what_was_approved_since_this_channels_previous_digest(catalog, store, poster,
                                                                                       clock):
    _, digest = await subscribed(catalog, store, poster, clock)
    approve(store, "old-tool", "Old Tool", MONDAY - dt.timedelta(days=10))
    approve(store, "fresh-tool", "Fresh Tool", MONDAY - dt.timedelta(days=1))
    clock.set(MONDAY + dt.timedelta(seconds=3))
    await digest.run_due()
    first = [i.title for i in poster.sent[-1].reply.items if i.meta[:1] == ("New this week",)]
    assert first == ["Fresh Tool"]
    approve(store, "newer-tool", "Newer Tool", MONDAY + dt.timedelta(days=3))
    clock.set(MONDAY + dt.timedelta(days=7, seconds=3))
    await digest.run_due()
    second = [i.title for i in poster.sent[-1].reply.items if i.meta[:1] == ("New this week",)]
    assert second == ["Newer Tool"]


async def test_the_study_week_is_in_the_digest_when_a_cohort_start_is_set(catalog, store, poster, clock):
    bot = bot_service(catalog, clock, cohort_start=dt.date(2026, 2, 23))
    digest = digest_service(bot, store, poster, clock)
    await bot.handle(slack("digest subscribe"))
    clock.set(MONDAY + dt.timedelta(seconds=3))
    await digest.run_due()
    assert "Study schedule, week 2" in poster.sent[0].reply.text


async def test_a_console_digest_now_is_written_to_the_console(catalog, store, clock):
    import io

    from bot.adapters.console_poster import ConsolePoster
    from bot.app.digest import DigestService
    from bot.app.posting import Posters
    from bot.service import Request

    out = io.StringIO()
    posters = Posters()
    posters.add(ConsolePoster(out))
    bot = bot_service(catalog, clock)
    DigestService(bot, store, posters, clock=clock).register()
    assert (await bot.handle(Request("digest subscribe Friday"))).header == "Weekly digest subscribed"
    assert (await bot.handle(Request("digest now"))).header == "Digest posted"
    assert "[posted in #console]" in out.getvalue() and "This week in MLOps" in out.getvalue()
    status = await bot.handle(Request("digest"))
    assert {f.name: f.value for f in status.fields}["Schedule"] == "Fridays at 09:00 Europe/Berlin"


def test_a_replica_takes_over_a_dead_ones_post_inside_discords_nonce_window():
    from bot.adapters.discord.poster import DiscordPoster
    from bot.app.digest import LEASE
    from bot.jobs.scheduler import DIGEST_TICK

    # The lease runs out, then the next tick (at most DIGEST_TICK later) retries with the same nonce.
    assert LEASE + DIGEST_TICK < DiscordPoster.NONCE_TRUST
