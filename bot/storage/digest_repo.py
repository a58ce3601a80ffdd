"""The weekly digest's rows: subscriptions (digest_subscriptions), one row per channel and period
(digest_posts), and the resources approved since a channel's previous digest (approved_resources).

Every "only once" here is decided by one conditional statement, never by a lock in one process: several
replicas tick against the same database, and any of them may die at any line.

A period's row in digest_posts goes through these states:

    claimed   a replica holds the lease and is posting; if the lease ran out, its holder died or timed out
              and the post may or may not have gone out (the next claimer must look before posting)
    retry     a try failed in a way that means nothing was posted (rate limited); free after lease_until
    posted    the platform accepted it                                   (final)
    skipped   too late to be news, or nothing to post it with            (final)
    failed    the platform refused it for good (or the week ran out)     (final)
    unknown   a lease ran out and the platform could not tell whether it had gone out: not posted again
              rather than twice                                          (final)

Synchronous, like the rest of the storage layer: the service runs these in a worker thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.core.catalog import Resource
from bot.core.digest import Cadence
from bot.errors import StorageError
from bot.storage.resource_json import resource_from_json
from bot.storage.schema import CLAIMED, DONE, approved_resources, claims, digest_posts, digest_subscriptions, utc

log = logging.getLogger(__name__)

POST_CLAIMED, POST_RETRY = "claimed", "retry"
POSTED, SKIPPED, FAILED, UNKNOWN = "posted", "skipped", "failed", "unknown"
FINAL_STATES = frozenset({POSTED, SKIPPED, FAILED, UNKNOWN})
FAILURE_LIMIT = 300  # characters of a failure kept for `/mlops digest`


@dataclass(frozen=True)
class Subscription:
    id: int
    platform: str
    channel_id: str
    cadence: Cadence
    next_due_at: dt.datetime
    last_posted_at: dt.datetime | None = None
    last_period: str | None = None
    rotation: dict[str, Any] = field(default_factory=dict)
    failures: int = 0
    last_failure: str | None = None
    last_failure_at: dt.datetime | None = None
    active: bool = True
    guild_id: str | None = None
    created_by: str = ""


@dataclass(frozen=True)
class Claim:
    """The caller holds (subscription, period) until `lease_until`. `maybe_posted`: an earlier holder's
    lease ran out with the outcome unknown, so the caller must look for that post before posting."""

    subscription_id: int
    period: str
    attempts: int
    lease_until: dt.datetime
    maybe_posted: bool
    # When the earlier holder claimed it (its lease's start): a post it made is no older than this.
    previous_attempt_at: dt.datetime | None = None


@dataclass(frozen=True)
class PostRow:
    subscription_id: int
    period: str
    state: str
    attempts: int
    due_at: dt.datetime
    lease_until: dt.datetime | None
    posted_at: dt.datetime | None
    late: bool
    message_ref: str | None
    error: str | None


def _subscription(row: Row[Any]) -> Subscription:
    try:
        rotation = json.loads(row.rotation or "{}")
    except ValueError:
        rotation = {}  # junk in the column costs the channel its rotation, not its digest
    return Subscription(
        id=row.id, platform=row.platform, channel_id=row.channel_id,
        cadence=Cadence(row.weekday, row.hour, row.minute, row.timezone),
        next_due_at=utc(row.next_due_at),  # type: ignore[arg-type]
        last_posted_at=utc(row.last_posted_at), last_period=row.last_period,
        rotation=rotation if isinstance(rotation, dict) else {}, failures=row.failures,
        last_failure=row.last_failure, last_failure_at=utc(row.last_failure_at), active=bool(row.active),
        guild_id=row.guild_id, created_by=row.created_by,
    )


def _post_row(row: Row[Any]) -> PostRow:
    return PostRow(row.subscription_id, row.period, row.state, row.attempts, utc(row.due_at),  # type: ignore[arg-type]
                   utc(row.lease_until), utc(row.posted_at), bool(row.late), row.message_ref, row.error)


class DigestRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- subscriptions ----------------------------------------------------------------------------------

    def subscribe(self, platform: str, channel_id: str, cadence: Cadence, next_due_at: dt.datetime,
                  now: dt.datetime, *, created_by: str = "", guild_id: str | None = None) -> Subscription:
        """Subscribe the channel, or change its schedule. Its rotation and its last post are kept (the
        next digest goes on where the last one left off); the failures counter starts again."""
        schedule = {"weekday": cadence.weekday, "hour": cadence.hour, "minute": cadence.minute,
                    "timezone": cadence.timezone, "next_due_at": next_due_at, "active": True, "failures": 0,
                    "updated_at": now}
        where = and_(digest_subscriptions.c.platform == platform, digest_subscriptions.c.channel_id == channel_id)
        with self._begin("subscribe") as conn:
            changed = conn.execute(update(digest_subscriptions).where(where).values(**schedule)).rowcount
            if not changed:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(digest_subscriptions).values(
                            platform=platform, channel_id=channel_id, guild_id=guild_id, created_by=created_by[:300],
                            created_at=now, rotation="{}", **schedule))
                except IntegrityError:  # another replica subscribed it in between: ours is the newer schedule
                    conn.execute(update(digest_subscriptions).where(where).values(**schedule))
            row = conn.execute(select(digest_subscriptions).where(where)).one()
        return _subscription(row)

    def unsubscribe(self, platform: str, channel_id: str, now: dt.datetime) -> bool:
        """True when the channel was subscribed. The row stays (inactive), so its rotation and its
        periods' records survive a later subscribe."""
        with self._begin("unsubscribe") as conn:
            return conn.execute(
                update(digest_subscriptions)
                .where(digest_subscriptions.c.platform == platform, digest_subscriptions.c.channel_id == channel_id,
                       digest_subscriptions.c.active.is_(True))
                .values(active=False, updated_at=now)).rowcount == 1

    def get(self, platform: str, channel_id: str) -> Subscription | None:
        with self._connect("read") as conn:
            row = conn.execute(select(digest_subscriptions).where(
                digest_subscriptions.c.platform == platform,
                digest_subscriptions.c.channel_id == channel_id)).one_or_none()
        return _subscription(row) if row is not None else None

    def by_id(self, subscription_id: int) -> Subscription | None:
        with self._connect("read") as conn:
            row = conn.execute(select(digest_subscriptions).where(
                digest_subscriptions.c.id == subscription_id)).one_or_none()
        return _subscription(row) if row is not None else None

    def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        query = select(digest_subscriptions).order_by(digest_subscriptions.c.platform,
                                                      digest_subscriptions.c.channel_id)
        if active_only:
            query = query.where(digest_subscriptions.c.active.is_(True))
        with self._connect("read") as conn:
            return [_subscription(row) for row in conn.execute(query)]

    def due(self, now: dt.datetime) -> list[Subscription]:
        """Active subscriptions whose next digest is due by `now`, earliest first."""
        query = (select(digest_subscriptions)
                 .where(digest_subscriptions.c.active.is_(True), digest_subscriptions.c.next_due_at <= now)
                 .order_by(digest_subscriptions.c.next_due_at, digest_subscriptions.c.id))
        with self._connect("read") as conn:
            return [_subscription(row) for row in conn.execute(query)]

    def advance(self, subscription_id: int, expected_due: dt.datetime, next_due: dt.datetime,
                now: dt.datetime) -> bool:
        """Move the subscription on to `next_due`, unless its schedule changed meanwhile (a new subscribe)."""
        with self._begin("advance") as conn:
            return self._advance(conn, subscription_id, expected_due, next_due, now)

    @staticmethod
    def _advance(conn: Connection, subscription_id: int, expected_due: dt.datetime, next_due: dt.datetime,
                 now: dt.datetime) -> bool:
        return conn.execute(
            update(digest_subscriptions)
            .where(digest_subscriptions.c.id == subscription_id, digest_subscriptions.c.next_due_at == expected_due)
            .values(next_due_at=next_due, updated_at=now)).rowcount == 1

    # -- one period's post --------------------------------------------------------------------------------

    def post_row(self, subscription_id: int, period: str) -> PostRow | None:
        with self._connect("read") as conn:
            row = conn.execute(select(digest_posts).where(digest_posts.c.subscription_id == subscription_id,
                                                          digest_posts.c.period == period)).one_or_none()
        return _post_row(row) if row is not None else None

    def posts(self, subscription_id: int) -> list[PostRow]:
        with self._connect("read") as conn:
            rows = conn.execute(select(digest_posts).where(digest_posts.c.subscription_id == subscription_id)
                                .order_by(digest_posts.c.due_at))
            return [_post_row(row) for row in rows]

    def claim(self, subscription_id: int, period: str, due_at: dt.datetime, now: dt.datetime,
              lease: dt.timedelta, *, late: bool = False) -> Claim | None:
        """Take (subscription, period) to post it, or None when it is done or another replica holds it.

        A first claim is a conditional insert. A later one (a retry, or a lease that ran out) is a
        compare-and-swap on the row's attempts counter, so of two replicas racing, one wins.
        """
        until = now + lease
        with self._begin("claim") as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(digest_posts).values(
                        subscription_id=subscription_id, period=period, state=POST_CLAIMED, lease_until=until,
                        attempts=1, due_at=due_at, late=late))
                return Claim(subscription_id, period, 1, until, maybe_posted=False)
            except IntegrityError:
                pass
            row = conn.execute(select(digest_posts).where(digest_posts.c.subscription_id == subscription_id,
                                                          digest_posts.c.period == period)).one()
            current = _post_row(row)
            if current.state not in (POST_CLAIMED, POST_RETRY):
                return None
            if current.lease_until is not None and current.lease_until > now:
                return None
            taken = conn.execute(
                update(digest_posts)
                .where(digest_posts.c.subscription_id == subscription_id, digest_posts.c.period == period,
                       digest_posts.c.state == current.state, digest_posts.c.attempts == current.attempts)
                .values(state=POST_CLAIMED, lease_until=until, attempts=current.attempts + 1,
                        late=current.late or late)).rowcount
            if taken != 1:
                return None
            previous = current.lease_until - lease if current.lease_until is not None else None
            return Claim(subscription_id, period, current.attempts + 1, until,
                         maybe_posted=current.state == POST_CLAIMED, previous_attempt_at=previous)

    def mark_posted(self, claim: Claim, now: dt.datetime, message_ref: str, *, rotation: dict[str, Any],
                    expected_due: dt.datetime, next_due: dt.datetime) -> None:
        """The platform accepted it: record the post, the rotation it used, and the next due time, at once.

        Not conditional on still holding the lease: if ours ran out mid-post and another replica took
        over, the post is still ours and did go out; "posted" is the truth whoever learns it first.
        """
        with self._begin("mark posted") as conn:
            conn.execute(update(digest_posts)
                         .where(digest_posts.c.subscription_id == claim.subscription_id,
                                digest_posts.c.period == claim.period)
                         .values(state=POSTED, posted_at=now, message_ref=message_ref[:100], lease_until=None,
                                 error=None))
            conn.execute(update(digest_subscriptions).where(digest_subscriptions.c.id == claim.subscription_id)
                         .values(last_posted_at=now, last_period=claim.period, rotation=json.dumps(rotation),
                                 failures=0, updated_at=now))
            self._advance(conn, claim.subscription_id, expected_due, next_due, now)

    def mark_retry(self, claim: Claim, now: dt.datetime, retry_at: dt.datetime, error: str, *,
                   nothing_posted: bool) -> None:
        """A try failed and may succeed later; the period stays due. `nothing_posted`: the platform said
        it refused the post (a rate limit); otherwise the next claimer looks for it first."""
        with self._begin("mark retry") as conn:
            conn.execute(update(digest_posts)
                         .where(digest_posts.c.subscription_id == claim.subscription_id,
                                digest_posts.c.period == claim.period, digest_posts.c.state == POST_CLAIMED,
                                digest_posts.c.attempts == claim.attempts)
                         .values(state=POST_RETRY if nothing_posted else POST_CLAIMED, lease_until=retry_at,
                                 error=error[:FAILURE_LIMIT]))
            self._note_failure(conn, claim.subscription_id, now, error, count=False)

    def mark_final(self, claim: Claim | None, subscription_id: int, period: str, state: str, now: dt.datetime,
                   *, due_at: dt.datetime, expected_due: dt.datetime, next_due: dt.datetime, error: str | None = None,
                   failed_week: bool = False) -> int | None:
        """End the period without a post (skipped, failed, unknown) and move the subscription on; returns
        the subscription's failed weeks in a row, or None when another replica holds the period (and will
        end it). Without a claim, only a period nobody holds is ended."""
        assert state in (SKIPPED, FAILED, UNKNOWN), state
        with self._begin(f"mark {state}") as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(digest_posts).values(subscription_id=subscription_id, period=period,
                                                             state=state, attempts=0, due_at=due_at,
                                                             error=(error or "")[:FAILURE_LIMIT] or None))
            except IntegrityError:
                ours = digest_posts.c.state.notin_(tuple(FINAL_STATES))
                if claim is None:
                    ours = and_(ours, or_(digest_posts.c.lease_until.is_(None), digest_posts.c.lease_until < now))
                else:
                    ours = and_(ours, digest_posts.c.attempts == claim.attempts)
                changed = conn.execute(
                    update(digest_posts)
                    .where(digest_posts.c.subscription_id == subscription_id, digest_posts.c.period == period, ours)
                    .values(state=state, lease_until=None,
                            error=func.coalesce(error[:FAILURE_LIMIT] if error else None, digest_posts.c.error))
                ).rowcount
                if not changed:
                    final = conn.execute(select(digest_posts.c.state).where(
                        digest_posts.c.subscription_id == subscription_id,
                        digest_posts.c.period == period)).scalar_one()
                    if final not in FINAL_STATES:
                        return None  # someone holds it: theirs to end
                    failed_week = False  # already ended (and counted) by whoever ended it
            if error is not None or failed_week:
                self._note_failure(conn, subscription_id, now, error or "", count=failed_week)
            self._advance(conn, subscription_id, expected_due, next_due, now)
            return int(conn.execute(select(digest_subscriptions.c.failures).where(
                digest_subscriptions.c.id == subscription_id)).scalar_one())

    @staticmethod
    def _note_failure(conn: Connection, subscription_id: int, now: dt.datetime, error: str, *, count: bool) -> None:
        values: dict[str, Any] = {"updated_at": now}
        if error:
            values |= {"last_failure": error[:FAILURE_LIMIT], "last_failure_at": now}
        if count:
            values["failures"] = digest_subscriptions.c.failures + 1
        conn.execute(update(digest_subscriptions).where(digest_subscriptions.c.id == subscription_id).values(**values))

    def deactivate(self, subscription_id: int, now: dt.datetime, reason: str) -> bool:
        with self._begin("deactivate") as conn:
            return conn.execute(update(digest_subscriptions)
                                .where(digest_subscriptions.c.id == subscription_id,
                                       digest_subscriptions.c.active.is_(True))
                                .values(active=False, last_failure=reason[:FAILURE_LIMIT], last_failure_at=now,
                                        updated_at=now)).rowcount == 1

    # -- posts on demand (`/mlops digest now`) ---------------------------------------------------------

    def claim_now(self, platform: str, channel_id: str, now: dt.datetime, window: dt.timedelta) -> bool:
        """True when the caller may post an on-demand digest in the channel: none was posted or started
        there within `window`. A double click or a retried request within it posts nothing more."""
        key = f"digest-now:{platform}:{channel_id}"[:300]
        with self._begin("claim") as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(claims).values(key=key, created_at=now, state=CLAIMED,
                                                       lease_until=now + window))
                return True
            except IntegrityError:
                pass
            return conn.execute(update(claims)
                                .where(claims.c.key == key, or_(claims.c.lease_until.is_(None),
                                                                claims.c.lease_until <= now))
                                .values(created_at=now, state=CLAIMED, lease_until=now + window)).rowcount == 1

    def finish_now(self, platform: str, channel_id: str, *, posted: bool) -> None:
        """Posted: the window stays closed until it ends. Not posted: open it again at once."""
        key = f"digest-now:{platform}:{channel_id}"[:300]
        with self._begin("finish") as conn:
            if posted:
                conn.execute(update(claims).where(claims.c.key == key).values(state=DONE))
            else:
                conn.execute(update(claims).where(claims.c.key == key).values(lease_until=None))

    def record_now_post(self, subscription_id: int, now: dt.datetime, rotation: dict[str, Any]) -> None:
        """An on-demand digest in a subscribed channel counts as its latest: the next one goes on from it."""
        with self._begin("record") as conn:
            conn.execute(update(digest_subscriptions).where(digest_subscriptions.c.id == subscription_id)
                         .values(last_posted_at=now, rotation=json.dumps(rotation), updated_at=now))

    # -- plumbing ---------------------------------------------------------------------------------------

    def _begin(self, what: str) -> contextlib.AbstractContextManager[Connection]:
        return _transaction(self.engine, what, write=True)

    def _connect(self, what: str) -> contextlib.AbstractContextManager[Connection]:
        return _transaction(self.engine, what, write=False)


@contextlib.contextmanager
def _transaction(engine: Engine, what: str, *, write: bool) -> Iterator[Connection]:
    """engine.begin() (or connect() to read), with a driver's error as StorageError naming what failed."""
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StorageError(f"digest {what} failed: {exc.__class__.__name__}") from exc


# -- approved resources: what is new since a channel's previous digest ----------------------------------

def approved_rows_since(engine: Engine, since: dt.datetime | None) -> list[tuple[dt.datetime, Resource]]:
    """(approved_at, resource) of every resource approved after `since` (all of them for None), oldest first.
    A row whose JSON does not make a resource is left out, with a log line: one bad row must not cost the
    digest everything else."""
    query = select(approved_resources.c.resource_id, approved_resources.c.data,
                   approved_resources.c.approved_at).order_by(approved_resources.c.seq)
    if since is not None:
        query = query.where(approved_resources.c.approved_at > since)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as exc:
        raise StorageError(f"reading approved resources failed: {exc.__class__.__name__}") from exc
    found: list[tuple[dt.datetime, Resource]] = []
    for row in rows:
        resource = resource_from_json(row.data)
        if resource is None:
            log.warning("approved resource %r has data that is not a resource; the digest leaves it out",
                        row.resource_id)
            continue
        found.append((utc(row.approved_at), resource))  # type: ignore[arg-type]
    return found


def approved_since(engine: Engine, since: dt.datetime | None) -> list[Resource]:
    """Resources approved after `since`, oldest first (approved_resources rows, from their JSON)."""
    return [resource for _, resource in approved_rows_since(engine, since)]

