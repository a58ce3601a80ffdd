"""The weekly digest, running: the `/mlops digest` effects, and the tick that posts what is due.

The database holds the truth (bot.storage.digest_repo): each subscription's next due time, and one row per
channel and period that is claimed with a lease before posting and marked once the platform accepted it.
The scheduler only calls `tick()` every ~30 s, in every replica; the tick reads what is due and posts it
in the background, within each platform's concurrency, so that a slow or refusing channel never holds
up the others and the next tick is never late.

What a due subscription gets (cadence.catch_up): the most recent occurrence, posted once if it is within
the grace (late, logged as such), or skipped; never a burst of the weeks a stopped bot missed.

A lease that ran out with the outcome unknown (the holder was killed between posting and marking) is
resolved by asking the platform (Poster.find with the period's key); when it cannot tell, the period is
given up rather than risk a second post.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot import metrics
from bot.app.posting import Poster, PostError, Posters
from bot.core.catalog import Resource
from bot.core.digest import DIGEST_KINDS, FeedItem, Lateness, catch_up, compose_digest, next_due, next_picks, period_key
from bot.core.digest.compose import long_date, short_date
from bot.core.digest_commands import (
    CONSOLE_CHANNEL,
    DigestNow,
    DigestPreview,
    DigestStatus,
    DigestSubscribe,
    DigestUnsubscribe,
)
from bot.core.reply import Field, Reply, Visibility
from bot.service import BotService, Request
from bot.storage import Store
from bot.storage.digest_repo import (
    FAILED,
    FINAL_STATES,
    SKIPPED,
    UNKNOWN,
    Claim,
    DigestRepo,
    Subscription,
    approved_rows_since,
)

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]

# Longer than a post can take (POST_TIMEOUT), short enough that a replica taking over a dead one's post
# does so inside Discord's nonce window (DiscordPoster.NONCE_TRUST), where a repeat returns the first post.
LEASE = dt.timedelta(seconds=90)
POST_TIMEOUT = 60.0  # seconds; well inside the lease, so a slow post never outlives its claim
FEED_TIMEOUT = 10.0  # seconds for all feeds of a tick; past it the digest goes with the static picks
FEED_TTL = dt.timedelta(minutes=30)  # ticks within it reuse what the feeds said
NEW_WINDOW = dt.timedelta(days=7)  # "new" for a channel that has had no digest yet
NOW_WINDOW = dt.timedelta(seconds=60)  # `digest now` twice within it posts once
FAILED_WEEKS_LIMIT = 3  # a channel refused this many weeks in a row is unsubscribed
INLINE_RETRIES = 3  # a Retry-After within the post's own time is waited out in place, this often
INLINE_WAIT_LIMIT = 30.0  # seconds; a longer Retry-After waits for a later tick instead
RETRY_BACKOFF_CAP = dt.timedelta(hours=1)
RATE_LIMITED = frozenset({"ratelimited", "rate_limited", "429"})  # refusals that say nothing was posted
# How many posts each platform has in flight at once: bounds the bot's side. The platform's limits are
# kept by its poster: SlackPoster sends each try of chat.postMessage through a window of the workspace's
# budget (bot.app.posting.PostWindow), discord.py keeps its per-route buckets.
CONCURRENCY: dict[str, int] = {"slack": 32, "discord": 8, "console": 1}
DEFAULT_CONCURRENCY = 4
# Posts per second started on a platform, at most, on top of what its poster keeps: none by default. A
# timetable of starts cannot keep Slack's window by itself (a post sent on time may still land in the same
# second as one answered late), and a slot of it spent on a post refused with 429 is lost to the budget.
RATES: dict[str, float] = {}
LOCAL_PLATFORMS = ("console", "cli")  # the console chat and the operator's terminal share one "channel"


class FeedSource(Protocol):
    """What the digest needs of bot.app.feeds.FeedReader."""

    async def latest(self, urls: Iterable[str]) -> Mapping[str, FeedItem | None]: ...


def digest_key(subscription_id: int, period: str) -> str:
    """The key of one period's post, the same on every replica; ≤ 25 characters (Discord's nonce)."""
    return f"dg:{subscription_id}:{period}"


def platform_of(request: Request) -> str:
    return "console" if request.platform in LOCAL_PLATFORMS else request.platform


def channel_of(request: Request, effect_channel: str) -> str:
    return effect_channel or request.channel_id or CONSOLE_CHANNEL


@dataclass(frozen=True)
class _Due:
    """One subscription the tick posts for: the occurrence, its period, and what comes after it."""

    subscription: Subscription
    due: dt.datetime
    period: str
    late: bool
    next_due: dt.datetime
    picks: Mapping[str, Resource | None]
    rotation: dict[str, Any]


@dataclass
class TickResult:
    """What one tick did, for tests, the bench and the log."""

    posted: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0
    unknown: int = 0
    taken: int = 0  # claimed by another replica, or already done


class DigestService:
    """Carries out the digest effects and posts scheduled digests. One per process; `register()` hooks
    its executors into the BotService, the scheduler (bot.jobs) calls `tick()`."""

    def __init__(self, bot: BotService, store: Store, posters: Posters, *,
                 grace: dt.timedelta = dt.timedelta(hours=24), feeds: FeedSource | None = None,
                 clock: Clock | None = None, sleep: Sleep = asyncio.sleep, lease: dt.timedelta = LEASE,
                 post_timeout: float = POST_TIMEOUT, feed_timeout: float = FEED_TIMEOUT,
                 concurrency: Mapping[str, int] | None = None, rates: Mapping[str, float] | None = None) -> None:
        self.bot = bot
        self.store = store
        self.repo = DigestRepo(store.engine)
        self.posters = posters
        self.grace = grace
        self.feeds = feeds
        self._clock = clock
        self._sleep = sleep
        self.lease = lease
        self.post_timeout = post_timeout
        self.feed_timeout = feed_timeout
        self.concurrency = {**CONCURRENCY, **(concurrency or {})}
        self.rates = {**RATES, **(rates or {})}
        self._paces: dict[str, Pace] = {}
        self._in_flight: set[int] = set()  # subscriptions this process is posting for right now
        self._tasks: set[asyncio.Task[TickResult]] = set()
        self._feed_cache: dict[str, tuple[dt.datetime, FeedItem | None]] = {}

    def clock(self) -> dt.datetime:
        return (self._clock or self.bot.clock)()

    def register(self) -> None:
        """Hook the `/mlops digest` effects into the service, so every adapter's requests reach them."""
        self.bot.register(DigestStatus, self._status)
        self.bot.register(DigestSubscribe, self._subscribe)
        self.bot.register(DigestUnsubscribe, self._unsubscribe)
        self.bot.register(DigestPreview, self._preview)
        self.bot.register(DigestNow, self._now)

    # -- the commands ---------------------------------------------------------------------------------

    async def _status(self, effect: DigestStatus, request: Request) -> Reply:
        platform, channel = platform_of(request), channel_of(request, effect.channel_id)
        sub = await asyncio.to_thread(self.repo.get, platform, channel)
        p = self.bot.command_prefix
        if sub is None or not sub.active:
            last = f" The last one here was posted {when(sub.last_posted_at, sub.cadence.timezone)}." if (
                sub is not None and sub.last_posted_at is not None) else ""
            return Reply(header="No weekly digest in this channel",
                         text=f"This channel is not subscribed to the weekly digest.{last} A moderator can "
                              f"subscribe it with {p} digest subscribe [day] [HH:MM] [timezone], e.g. "
                              f"{p} digest subscribe Monday 09:00 {self.bot.community.digest_timezone}. "
                              f"{p} digest preview shows what it would look like.")
        return Reply(header="Weekly digest in this channel", fields=status_fields(sub),
                     footer=f"{p} digest preview shows the next one; moderators change the schedule with "
                            f"{p} digest subscribe, stop it with {p} digest unsubscribe.")

    async def _subscribe(self, effect: DigestSubscribe, request: Request) -> Reply:
        platform, channel = platform_of(request), channel_of(request, effect.channel_id)
        poster = self.posters.get(platform)
        if poster is None:
            return Reply(header="No digest from here",
                         text=f"This bot process does not post on {platform}, so it cannot subscribe a channel "
                              "there.", is_error=True)
        problem = await poster.can_post(channel)
        if problem:
            return Reply(header="I can't post in this channel yet", text=problem, is_error=True)
        now = self.clock()
        before = await asyncio.to_thread(self.repo.get, platform, channel)
        due = next_due(effect.cadence, now)
        sub = await asyncio.to_thread(self.repo.subscribe, platform, channel, effect.cadence, due, now,
                                      created_by=request.actor.label)
        changed = before is not None and before.active
        log.info("digest %s for %s:%s by %s: %s", "rescheduled" if changed else "subscribed", platform, channel,
                 request.actor.label, effect.cadence.describe())
        verb = "now posted" if changed else "posted"
        return Reply(header="Digest schedule changed" if changed else "Weekly digest subscribed",
                     text=f"The weekly digest is {verb} here {effect.cadence.describe()}. The next one: "
                          f"{when(sub.next_due_at, sub.cadence.timezone)}.",
                     footer=f"{self.bot.command_prefix} digest preview shows what it will look like.")

    async def _unsubscribe(self, effect: DigestUnsubscribe, request: Request) -> Reply:
        platform, channel = platform_of(request), channel_of(request, effect.channel_id)
        stopped = await asyncio.to_thread(self.repo.unsubscribe, platform, channel, self.clock())
        if not stopped:
            return Reply(header="No weekly digest in this channel", text="This channel was not subscribed.")
        log.info("digest unsubscribed for %s:%s by %s", platform, channel, request.actor.label)
        return Reply(header="Weekly digest stopped",
                     text=f"No more digests here. {self.bot.command_prefix} digest subscribe starts them again.")

    async def _preview(self, effect: DigestPreview, request: Request) -> Reply:
        platform, channel = platform_of(request), channel_of(request, effect.channel_id)
        sub = await asyncio.to_thread(self.repo.get, platform, channel)
        reply, _ = await self.compose_now(platform, channel, sub, self.clock())
        note = ("A preview: only you see it, and nothing was posted." if sub is not None and sub.active else
                "A preview: only you see it. This channel is not subscribed; a moderator can subscribe it with "
                f"{self.bot.command_prefix} digest subscribe.")
        return replace(reply, visibility=Visibility.PRIVATE, notices=(*reply.notices, note))

    async def _now(self, effect: DigestNow, request: Request) -> Reply:
        platform, channel = platform_of(request), channel_of(request, effect.channel_id)
        poster = self.posters.get(platform)
        if poster is None:
            return Reply(header="No digest from here", text=f"This bot process does not post on {platform}.",
                         is_error=True)
        now = self.clock()
        if not await asyncio.to_thread(self.repo.claim_now, platform, channel, now, NOW_WINDOW):
            return Reply(header="Already posted",
                         text="The digest was posted here a moment ago (or is being posted); I did not post it "
                              "again.")
        sub = await asyncio.to_thread(self.repo.get, platform, channel)
        reply, rotation = await self.compose_now(platform, channel, sub, now)
        key = f"dgnow:{int(now.timestamp())}"
        try:
            ref = await asyncio.wait_for(poster.post(channel, reply, key=key, metadata={"digest": "now"}),
                                         self.post_timeout)
        except PostError as exc:
            await asyncio.to_thread(self.repo.finish_now, platform, channel, posted=False)
            log.warning("digest now in %s:%s refused: %s", platform, channel, describe(exc))
            return Reply(header="The digest was not posted", text=exc.hint or exc.user_message, is_error=True)
        await asyncio.to_thread(self.repo.finish_now, platform, channel, posted=True)
        if sub is not None and sub.active:
            await asyncio.to_thread(self.repo.record_now_post, sub.id, now, rotation)
        log.info("digest posted on demand in %s:%s by %s (%s)", platform, channel, request.actor.label, ref)
        return Reply(header="Digest posted", text="This week's digest is posted in this channel.")

    # -- composing --------------------------------------------------------------------------------------

    async def compose_now(self, platform: str, channel: str, sub: Subscription | None,
                          now: dt.datetime) -> tuple[Reply, dict[str, Any]]:
        """The digest this channel would get at `now`, and the rotation state to store if it is posted."""
        timezone = sub.cadence.timezone if sub is not None else self.bot.community.digest_timezone
        picks, rotation = next_picks(self._candidates(), sub.rotation if sub else None, seed(platform, channel))
        items = await self._feed_items(r.feed for r in picks.values() if r is not None and r.feed)
        since = (sub.last_posted_at if sub is not None else None) or now - NEW_WINDOW
        try:
            rows = await asyncio.to_thread(approved_rows_since, self.store.engine, since)
        except Exception:
            log.exception("reading approved resources failed; the digest goes without what is new")
            rows = []
        reply = self._compose(picks, items, [r for _, r in rows], now, timezone)
        return reply, rotation

    def _candidates(self) -> list[Resource]:
        return [r for r in self.bot.catalog.resources if r.kind in DIGEST_KINDS]

    def _compose(self, picks: Mapping[str, Resource | None], items: Mapping[str, FeedItem | None],
                 fresh: Sequence[Resource], now: dt.datetime, timezone: str) -> Reply:
        from zoneinfo import ZoneInfo

        today = now.astimezone(ZoneInfo(timezone)).date()
        community = self.bot.community
        try:
            return compose_digest(self.bot.catalog, today, newsletter=picks.get("newsletter"),
                                  podcast=picks.get("podcast"), feed_items=items, new_resources=fresh,
                                  cohort_start=community.cohort_start, command_prefix=self.bot.command_prefix)
        except Exception:
            # Whatever broke (a feed entry, an approved resource), the static picks still make a digest.
            log.exception("composing the digest failed; posting the static picks")
            return compose_digest(self.bot.catalog, today, newsletter=picks.get("newsletter"),
                                  podcast=picks.get("podcast"), command_prefix=self.bot.command_prefix)

    async def _feed_items(self, urls: Iterable[str]) -> dict[str, FeedItem | None]:
        """The feeds' newest entries, each fetched at most once per FEED_TTL whatever the number of channels."""
        now = self.clock()
        wanted = list(dict.fromkeys(urls))
        missing = [u for u in wanted if u not in self._feed_cache or now - self._feed_cache[u][0] > FEED_TTL]
        if missing and self.feeds is not None:
            try:
                async with asyncio.timeout(self.feed_timeout):
                    found = await self.feeds.latest(missing)
            except Exception as exc:  # a feed is a stranger's server: the digest goes on with static picks
                log.warning("fetching the digest's feeds failed (%s); static picks this time",
                            type(exc).__name__ or "error")
                found = {}
            for url in missing:
                self._feed_cache[url] = (now, found.get(url))
        return {u: self._feed_cache[u][1] for u in wanted if u in self._feed_cache}

    # -- the tick -----------------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Start posting every due digest this process is not posting already; returns how many it started.

        Returns as soon as they are started, so the scheduler's next tick is on time however long a
        fan-out takes; `drain()` waits for them.
        """
        now = self.clock()
        due = await asyncio.to_thread(self.repo.due, now)
        fresh = [s for s in due if s.id not in self._in_flight]
        if not fresh:
            return 0
        self._in_flight.update(s.id for s in fresh)
        task = asyncio.create_task(self._run(fresh, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return len(fresh)

    async def run_due(self) -> TickResult:
        """One tick, waited for to the end (the tests, the bench, and `mlops-bot digest` one-shots)."""
        await self.tick()
        return await self.drain()

    async def drain(self) -> TickResult:
        """Wait for every post a tick started; their results added up."""
        total = TickResult()
        while self._tasks:
            for result in await asyncio.gather(*list(self._tasks), return_exceptions=True):
                if isinstance(result, TickResult):
                    for name, value in vars(result).items():
                        setattr(total, name, getattr(total, name) + value)
        return total

    async def close(self, timeout: float = 10.0) -> None:
        """Let posts in flight finish for `timeout` seconds, then cancel the rest: a cancelled post keeps
        its claim, which the next replica to tick resolves with Poster.find."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self, subs: list[Subscription], now: dt.datetime) -> TickResult:
        result = TickResult()
        try:
            posting: list[_Due] = []
            skipping: list[tuple[Subscription, dt.datetime, str, dt.datetime]] = []
            candidates = self._candidates()
            for sub in subs:
                decision = catch_up(sub.cadence, sub.next_due_at, now, self.grace)
                if decision.latest is None:
                    continue
                period = period_key(sub.cadence, decision.latest)
                if decision.post is None:
                    skipping.append((sub, decision.latest, period, decision.next_due))
                    continue
                picks, rotation = next_picks(candidates, sub.rotation, seed(sub.platform, sub.channel_id))
                posting.append(_Due(sub, decision.latest, period, decision.lateness is Lateness.LATE,
                                    decision.next_due, picks, rotation))
            for sub, due, period, following in skipping:
                await self._skip(sub, due, period, following, now, result)
            if posting:
                await self._fan_out(posting, now, result)
        except Exception:
            log.exception("the digest tick failed; what is due stays due for the next one")
        finally:
            self._in_flight.difference_update(s.id for s in subs)
        return result

    async def _skip(self, sub: Subscription, due: dt.datetime, period: str, following: dt.datetime,
                    now: dt.datetime, result: TickResult) -> None:
        """Too late to be news: end the period without a post. One that was tried and kept failing is a
        failed week; one whose holder vanished mid-post may have gone out, and is left as unknown."""
        row = await asyncio.to_thread(self.repo.post_row, sub.id, period)
        state, error, failed_week = SKIPPED, None, False
        if row is not None and row.attempts:
            if row.state == "retry":
                state, failed_week = FAILED, True
                error = f"gave up after {row.attempts} tries: {row.error or 'no answer'}"
            else:
                state, error = UNKNOWN, "a post was cut off and the platform could not be asked in time"
        failures = await asyncio.to_thread(self.repo.mark_final, None, sub.id, period, state, now, due_at=due,
                                           expected_due=sub.next_due_at, next_due=following, error=error,
                                           failed_week=failed_week)
        if failures is None:
            result.taken += 1
            return
        result.skipped += 1
        metrics.count_digest("failed" if failed_week else "skipped")
        late = now - due
        log.info("digest for %s:%s due %s skipped: %s late, beyond the grace of %s; next %s",
                 sub.platform, sub.channel_id, _iso(due), _duration(late), _duration(self.grace), _iso(following))
        await self._maybe_unsubscribe(sub, failures, error or "", now)

    async def _fan_out(self, posting: list[_Due], now: dt.datetime, result: TickResult) -> None:
        """Every platform's posts at once; within one, at most its concurrency in flight."""
        by_platform: dict[str, list[_Due]] = defaultdict(list)
        for job in posting:
            by_platform[job.subscription.platform].append(job)
        ready: dict[str, tuple[Poster, list[_Due]]] = {}
        for platform, jobs in by_platform.items():
            poster = self.posters.get(platform)
            if poster is None:
                # Another replica serves that platform; these stay due for it.
                log.debug("%d digests due on %s, which this process does not serve", len(jobs), platform)
                continue
            ready[platform] = (poster, jobs)
        if not ready:
            return
        urls = {r.feed for _, jobs in ready.values() for job in jobs for r in job.picks.values() if r and r.feed}
        items = await self._feed_items(urls)
        since = min((job.subscription.last_posted_at or job.due - NEW_WINDOW)
                    for _, jobs in ready.values() for job in jobs)
        try:
            approved = await asyncio.to_thread(approved_rows_since, self.store.engine, since)
        except Exception:
            log.exception("reading approved resources failed; the digests go without what is new")
            approved = []

        async def worker(poster: Poster, queue: list[_Due]) -> None:
            while queue:
                job = queue.pop()
                fresh = [r for at, r in approved if at > (job.subscription.last_posted_at or job.due - NEW_WINDOW)]
                try:
                    await self._post_one(job, poster, items, fresh, result, self._pace(poster.platform))
                except Exception:
                    log.exception("digest for %s:%s failed unexpectedly; its claim lets a later tick resolve it",
                                  job.subscription.platform, job.subscription.channel_id)

        workers = []
        for platform, (poster, jobs) in ready.items():
            queue = list(reversed(jobs))  # popped from the end: earliest due first
            width = max(1, min(self.concurrency.get(platform, DEFAULT_CONCURRENCY), len(jobs)))
            workers += [worker(poster, queue) for _ in range(width)]
        await asyncio.gather(*workers)

    def _pace(self, platform: str) -> Pace:
        pace = self._paces.get(platform)
        if pace is None:
            pace = self._paces[platform] = Pace(self.rates.get(platform))
        return pace

    async def _post_one(self, job: _Due, poster: Poster, items: Mapping[str, FeedItem | None],
                        fresh: Sequence[Resource], result: TickResult, pace: Pace | None = None) -> None:
        sub = job.subscription
        where = f"{sub.platform}:{sub.channel_id}"
        claim = await asyncio.to_thread(self.repo.claim, sub.id, job.period, job.due, self.clock(), self.lease,
                                        late=job.late)
        if claim is None:
            result.taken += 1
            row = await asyncio.to_thread(self.repo.post_row, sub.id, job.period)
            if row is not None and row.state in FINAL_STATES:
                # Done already (a schedule changed onto a posted day, say): move on to the next one.
                await asyncio.to_thread(self.repo.advance, sub.id, sub.next_due_at, job.next_due, self.clock())
            return
        key = digest_key(sub.id, job.period)
        if claim.maybe_posted:
            try:
                since = claim.previous_attempt_at or job.due
                found = await asyncio.wait_for(poster.find(sub.channel_id, key, since), self.post_timeout)
            except (PostError, TimeoutError) as exc:
                detail = describe(exc) if isinstance(exc, PostError) else "no answer in time"
                log.warning("digest for %s of %s: an earlier try was cut off and the platform cannot tell whether "
                            "it went out (%s); not posting it again", where, job.period, detail)
                await self._end(claim, job, UNKNOWN, f"could not tell whether the digest went out: {detail}")
                result.unknown += 1
                return
            if found is not None:
                log.info("digest for %s of %s had gone out before a restart (%s); marked posted", where,
                         job.period, found)
                await self._posted(claim, job, found)
                result.posted += 1
                return
        reply = self._compose(job.picks, items, fresh, self.clock(), sub.cadence.timezone)
        for attempt in range(INLINE_RETRIES + 1):
            if pace is not None:
                await pace.wait()
            try:
                ref = await asyncio.wait_for(
                    poster.post(sub.channel_id, reply, key=key,
                                metadata={"digest": job.period, "subscription": sub.id}), self.post_timeout)
            except PostError as exc:
                wait = exc.retry_after
                if (not exc.permanent and wait is not None and wait <= INLINE_WAIT_LIMIT
                        and attempt < INLINE_RETRIES):
                    await self._sleep(wait)
                    continue
                await self._refused(claim, job, exc, result)
                return
            except TimeoutError:
                await self._unanswered(claim, job, "no answer within the post timeout", result)
                return
            except Exception as exc:  # a dropped connection or an SDK error: it may or may not have gone out
                await self._unanswered(claim, job, f"{type(exc).__name__}: {exc}"[:200], result)
                return
            await self._posted(claim, job, ref)
            result.posted += 1
            metrics.count_digest("posted")
            if job.late:
                metrics.count_digest("late")
                log.info("digest posted late in %s for %s (due %s)", where, job.period, _iso(job.due))
            return

    async def _posted(self, claim: Claim, job: _Due, ref: str) -> None:
        await asyncio.to_thread(self.repo.mark_posted, claim, self.clock(), ref, rotation=job.rotation,
                                expected_due=job.subscription.next_due_at, next_due=job.next_due)

    async def _end(self, claim: Claim, job: _Due, state: str, error: str, *, failed_week: bool = False
                   ) -> int | None:
        return await asyncio.to_thread(
            self.repo.mark_final, claim, job.subscription.id, job.period, state, self.clock(), due_at=job.due,
            expected_due=job.subscription.next_due_at, next_due=job.next_due, error=error, failed_week=failed_week)

    async def _refused(self, claim: Claim, job: _Due, exc: PostError, result: TickResult) -> None:
        sub = job.subscription
        where = f"{sub.platform}:{sub.channel_id}"
        if exc.permanent:
            failures = await self._end(claim, job, FAILED, describe(exc), failed_week=True)
            result.failed += 1
            metrics.count_digest("failed")
            log.warning("digest for %s of %s refused for good: %s", where, job.period, describe(exc))
            if failures is not None:
                await self._maybe_unsubscribe(sub, failures, describe(exc), self.clock())
            return
        now = self.clock()
        wait = max(backoff(claim.attempts), dt.timedelta(seconds=exc.retry_after or 0))
        nothing_posted = exc.retry_after is not None or exc.code in RATE_LIMITED
        await asyncio.to_thread(self.repo.mark_retry, claim, now, now + wait, describe(exc),
                                nothing_posted=nothing_posted)
        result.retrying += 1
        log.warning("digest for %s of %s failed (%s, try %d); trying again after %s", where, job.period,
                    describe(exc), claim.attempts, _iso(now + wait))

    async def _unanswered(self, claim: Claim, job: _Due, detail: str, result: TickResult) -> None:
        """The outcome is unknown: the claim stays, and whoever takes it after the wait looks first."""
        now = self.clock()
        wait = backoff(claim.attempts)
        await asyncio.to_thread(self.repo.mark_retry, claim, now, now + wait, detail, nothing_posted=False)
        result.retrying += 1
        log.warning("digest for %s:%s of %s: %s; it is looked for, then tried again, after %s",
                    job.subscription.platform, job.subscription.channel_id, job.period, detail, _iso(now + wait))

    async def _maybe_unsubscribe(self, sub: Subscription, failures: int, error: str, now: dt.datetime) -> None:
        if failures < FAILED_WEEKS_LIMIT:
            return
        reason = f"unsubscribed after {failures} failed weeks in a row; the last: {error}"
        if await asyncio.to_thread(self.repo.deactivate, sub.id, now, reason):
            log.warning("digest for %s:%s %s", sub.platform, sub.channel_id, reason)


class Pace:
    """At most `rate` starts per second on a timetable, 1/rate apart (wall-clock time: this paces a
    platform's API, it decides nothing about schedules). A timetable rather than spacing from the last
    actual start: the event loop wakes a little late now and then, and spacing from wake-ups would lose
    that lateness on every post (about a tenth of the rate at 50/s, measured)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


# -- helpers ----------------------------------------------------------------------------------------------

def seed(platform: str, channel: str) -> str:
    """Each channel's own rotation order (bot.core.digest.rotation)."""
    return f"{platform}:{channel}"


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed try, at most an hour."""
    return min(dt.timedelta(minutes=2 ** max(0, attempts - 1)), RETRY_BACKOFF_CAP)


def describe(exc: PostError) -> str:
    detail = exc.hint or str(exc)
    return f"{exc.code}: {detail}" if detail and detail != exc.code else exc.code


def when(instant: dt.datetime | None, timezone: str) -> str:
    """'Monday 9 March 2026, 09:00 Europe/Berlin (08:00 UTC)'; the UTC date too when it differs."""
    if instant is None:
        return "never"
    from zoneinfo import ZoneInfo

    local = instant.astimezone(ZoneInfo(timezone))
    utc = instant.astimezone(dt.UTC)
    utc_text = f"{utc:%H:%M} UTC" if utc.date() == local.date() else f"{short_date(utc.date())} {utc:%H:%M} UTC"
    if timezone == "UTC":
        return f"{long_date(local.date())}, {local:%H:%M} UTC"
    return f"{long_date(local.date())}, {local:%H:%M} {timezone} ({utc_text})"


def status_fields(sub: Subscription) -> tuple[Field, ...]:
    zone = sub.cadence.timezone
    failure = "none"
    if sub.last_failure:
        failure = f"{sub.last_failure} ({when(sub.last_failure_at, zone)})"
    return (Field("Schedule", sub.cadence.describe()),
            Field("Next post", when(sub.next_due_at, zone)),
            Field("Last post", when(sub.last_posted_at, zone)),
            Field("Last failure", failure))


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
