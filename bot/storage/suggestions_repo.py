"""Suggestions, their review posts, the approved-resource overlay and the audit log, in the database.

Every method is one short transaction. The two that must happen once, however many replicas race and
whenever one dies, are decided by the database: `insert` (one row per member and URL, by a unique key)
and `decide` (a conditional update from pending, with the overlay row and the audit line in the same
transaction, so an approval is never half-recorded).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.core.catalog import Resource
from bot.errors import StorageError
from bot.storage.resource_json import resource_from_json, resource_to_json
from bot.storage.schema import approved_resources, audit_log, review_posts, suggestions, utc

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    action: str
    suggestion_id: int | None
    place: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str | None


class SuggestionsRepo:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    # -- intake -----------------------------------------------------------------------------------------

    def find_by_member(self, platform: str, user_id: str, url_key: str) -> RowMapping | None:
        return self._one(select(suggestions).where(suggestions.c.platform == platform,
                                                   suggestions.c.user_id == user_id,
                                                   suggestions.c.url_key == url_key))

    def find_by_url(self, url_key: str, states: Iterable[str]) -> RowMapping | None:
        return self._one(select(suggestions).where(suggestions.c.url_key == url_key,
                                                   suggestions.c.state.in_(list(states)))
                         .order_by(suggestions.c.id).limit(1))

    def count_since(self, platform: str, user_id: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """How many this member suggested since `since`, and when the oldest of those was."""
        row = self._first(select(func.count(), func.min(suggestions.c.created_at)).where(
            suggestions.c.platform == platform, suggestions.c.user_id == user_id,
            suggestions.c.created_at >= since))
        return (int(row[0]) if row else 0), utc(row[1]) if row else None  # type: ignore[index]

    def insert(self, values: dict[str, Any], *, actor: str, action: str, place: str | None) -> tuple[RowMapping, bool]:
        """The new suggestion, committed (with its audit line) before anyone is told; or the member's
        earlier one with this URL when it exists (a retry, a double click): (row, created)."""
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(insert(suggestions).values(**values, created_at=now, updated_at=now)
                                      .returning(suggestions.c.id)).scalar_one()
                conn.execute(insert(audit_log).values(at=now, actor=actor, action=action, suggestion_id=new_id,
                                                      place=place, after=_json(values)))
        except IntegrityError:
            found = self.find_by_member(values["platform"], values["user_id"], values["url_key"])
            if found is None:
                raise StorageError("a suggestion collided but cannot be found") from None
            return found, False
        except SQLAlchemyError as exc:
            raise StorageError(f"saving a suggestion failed: {exc.__class__.__name__}") from exc
        row = self.get(new_id)
        assert row is not None
        return row, True

    # -- reading ----------------------------------------------------------------------------------------

    def get(self, number: int) -> RowMapping | None:
        return self._one(select(suggestions).where(suggestions.c.id == number))

    def pending(self, offset: int, limit: int) -> tuple[list[RowMapping], int]:
        rows = self._all(select(suggestions).where(suggestions.c.state == "pending")
                         .order_by(suggestions.c.created_at, suggestions.c.id).offset(offset).limit(limit))
        total = self._first(select(func.count()).select_from(suggestions).where(suggestions.c.state == "pending"))
        return rows, int(total[0]) if total else 0  # type: ignore[index]

    def counts_by_state(self) -> dict[str, int]:
        try:
            with self.engine.connect() as conn:
                return {state: int(n) for state, n in conn.execute(
                    select(suggestions.c.state, func.count()).group_by(suggestions.c.state))}
        except SQLAlchemyError as exc:
            raise StorageError(f"counting suggestions failed: {exc.__class__.__name__}") from exc

    def listing(self, state: str | None = None) -> list[RowMapping]:
        query = select(suggestions).order_by(suggestions.c.id)
        if state:
            query = query.where(suggestions.c.state == state)
        return self._all(query)

    # -- decisions --------------------------------------------------------------------------------------

    def decide(self, number: int, *, approve: bool, actor: str, place: str | None, kind: str | None = None,
               category: str | None = None, reason: str | None = None, resource: Resource | None = None,
               title: str | None = None, summary: str | None = None) -> bool:
        """Record the decision when the suggestion is still pending: True for the one caller that did."""
        now = self.clock()
        state = "approved" if approve else "rejected"
        changes: dict[str, Any] = {"state": state, "decided_by": actor, "decided_at": now, "updated_at": now,
                                   "reason": reason}
        if approve:
            assert resource is not None
            changes |= {"kind": kind, "category": category, "resource_id": resource.id,
                        "title": title or resource.title, "summary": summary or resource.summary}
        try:
            with self.engine.begin() as conn:
                before = conn.execute(select(suggestions).where(suggestions.c.id == number)).mappings().first()
                done = conn.execute(update(suggestions).where(suggestions.c.id == number,
                                                              suggestions.c.state == "pending").values(**changes))
                if done.rowcount != 1:
                    return False
                if approve and resource is not None:
                    conn.execute(insert(approved_resources).values(
                        resource_id=resource.id, suggestion_id=number, data=resource_to_json(resource),
                        approved_at=now))
                conn.execute(insert(audit_log).values(
                    at=now, actor=actor, action=state, suggestion_id=number, place=place,
                    before=_json(_public(before)), after=_json(changes), detail=reason))
            return True
        except IntegrityError as exc:
            # The resource id was taken between choosing it and saving (another approval): nothing saved.
            raise StorageError(f"approving #{number} collided: {exc.__class__.__name__}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"recording a decision failed: {exc.__class__.__name__}") from exc

    def edit(self, number: int, changes: dict[str, Any], *, actor: str, place: str | None) -> bool:
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                before = conn.execute(select(suggestions).where(suggestions.c.id == number)).mappings().first()
                done = conn.execute(update(suggestions).where(suggestions.c.id == number,
                                                              suggestions.c.state == "pending")
                                    .values(**changes, updated_at=now))
                if done.rowcount != 1:
                    return False
                conn.execute(insert(audit_log).values(at=now, actor=actor, action="edited", suggestion_id=number,
                                                      place=place, before=_json(_public(before)),
                                                      after=_json(changes)))
            return True
        except SQLAlchemyError as exc:
            raise StorageError(f"editing #{number} failed: {exc.__class__.__name__}") from exc

    def mark_notified(self, number: int) -> None:
        self._write(update(suggestions).where(suggestions.c.id == number).values(notified_at=self.clock()))

    def awaiting_notice(self, older_than: dt.datetime) -> list[RowMapping]:
        """Decided, the member not yet told, decided before `older_than` (its first attempt had its chance)."""
        return self._all(select(suggestions).where(suggestions.c.state != "pending",
                                                   suggestions.c.notified_at.is_(None),
                                                   suggestions.c.decided_at < older_than).limit(50))

    # -- review posts -----------------------------------------------------------------------------------

    def review_posts(self, number: int) -> list[RowMapping]:
        return self._all(select(review_posts).where(review_posts.c.suggestion_id == number))

    def add_review_post(self, number: int, platform: str, channel_id: str, ref: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(review_posts).values(suggestion_id=number, platform=platform,
                                                         channel_id=channel_id, message_ref=ref))
        except IntegrityError:
            pass  # posted by another replica meanwhile; the claim makes that rare
        except SQLAlchemyError as exc:
            raise StorageError(f"saving a review post failed: {exc.__class__.__name__}") from exc

    def mark_review_updated(self, number: int, platform: str) -> None:
        self._write(update(review_posts).where(review_posts.c.suggestion_id == number,
                                               review_posts.c.platform == platform).values(updated=True))

    def unposted(self, platform: str, older_than: dt.datetime) -> list[RowMapping]:
        """Pending suggestions with no review post on `platform` yet (a crash between saving and posting)."""
        posted = select(review_posts.c.suggestion_id).where(review_posts.c.platform == platform)
        return self._all(select(suggestions).where(suggestions.c.state == "pending",
                                                   suggestions.c.created_at < older_than,
                                                   suggestions.c.id.not_in(posted)).limit(50))

    def stale_review_posts(self, older_than: dt.datetime) -> list[RowMapping]:
        """Review posts of decided suggestions not yet updated to show the decision."""
        return self._all(select(review_posts, suggestions.c.decided_at).join(
            suggestions, suggestions.c.id == review_posts.c.suggestion_id).where(
            and_(suggestions.c.state != "pending", review_posts.c.updated.is_(False),
                 suggestions.c.decided_at < older_than)).limit(50))

    # -- overlay and audit ------------------------------------------------------------------------------

    def approved_after(self, seq: int) -> list[tuple[int, Resource]]:
        rows = self._all(select(approved_resources.c.seq, approved_resources.c.data)
                         .where(approved_resources.c.seq > seq).order_by(approved_resources.c.seq))
        found = []
        for row in rows:
            resource = resource_from_json(row["data"])
            if resource is not None:  # a hand-edited row that is not a resource is left out, not fatal
                found.append((row["seq"], resource))
        return found

    def audit(self, *, actor: str, action: str, suggestion_id: int | None = None, place: str | None = None,
              detail: str | None = None) -> None:
        self._write(insert(audit_log).values(at=self.clock(), actor=actor, action=action,
                                             suggestion_id=suggestion_id, place=place, detail=detail))

    def audit_log(self, suggestion_id: int | None = None) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.id)
        if suggestion_id is not None:
            query = query.where(audit_log.c.suggestion_id == suggestion_id)
        return [AuditEntry(utc(r["at"]), r["actor"], r["action"], r["suggestion_id"], r["place"],  # type: ignore[arg-type]
                           json.loads(r["before"]) if r["before"] else None,
                           json.loads(r["after"]) if r["after"] else None, r["detail"]) for r in self._all(query)]

    # -- plumbing ---------------------------------------------------------------------------------------

    def _one(self, query: Any) -> Any:
        """The first row as a mapping (a whole suggestion), or None."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).mappings().first()
        except SQLAlchemyError as exc:
            raise StorageError(f"reading suggestions failed: {exc.__class__.__name__}") from exc

    def _first(self, query: Any) -> Any:
        """The first row as a tuple (an aggregate), or None."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"reading suggestions failed: {exc.__class__.__name__}") from exc

    def _all(self, query: Any) -> list[RowMapping]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query).mappings())
        except SQLAlchemyError as exc:
            raise StorageError(f"reading suggestions failed: {exc.__class__.__name__}") from exc

    def _write(self, statement: Any) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)
        except SQLAlchemyError as exc:
            raise StorageError(f"writing suggestions failed: {exc.__class__.__name__}") from exc


def _public(row: RowMapping | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v for k, v in row.items() if k in ("title", "url", "state", "kind", "category", "summary", "why")}


def _json(values: dict[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(values, default=lambda v: v.isoformat() if isinstance(v, dt.datetime) else str(v),
                      ensure_ascii=False, sort_keys=True)
