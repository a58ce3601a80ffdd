"""The database's tables, as the latest migration leaves them (bot/storage/migrations holds the history).

Times are stored in UTC. SQLite keeps them naive, so repositories read them back through `utc()`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

metadata = MetaData()

kv = Table(
    "bot_state", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# "Has anyone done X?" across retries, restarts and replicas. A claim is taken with a lease and
# marked done once the work was accepted; a lease that ran out without "done" (the process died
# between the two) may be taken again, so a kill -9 never loses the work for good.
claims = Table(
    "claims", metadata,
    Column("key", String(300), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("state", String(10), nullable=False, server_default="done"),
    Column("lease_until", DateTime(timezone=True), nullable=True),
)

CLAIMED, DONE = "claimed", "done"

suggestions = Table(
    "suggestions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("user_name", String(200), nullable=False, server_default=""),
    Column("channel_id", String(64), nullable=True),
    Column("url", Text, nullable=False),
    Column("url_key", String(2100), nullable=False, index=True),
    Column("title", String(400), nullable=False),
    Column("why", Text, nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("duplicate_of", String(300), nullable=True),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("kind", String(32), nullable=True),
    Column("category", String(100), nullable=True),
    Column("summary", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("decided_by", String(300), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("resource_id", String(100), nullable=True),
    Column("notified_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "user_id", "url_key", name="uq_suggestions_member_url"),
)
review_posts = Table(
    "review_posts", metadata,
    Column("suggestion_id", Integer, ForeignKey("suggestions.id"), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("channel_id", String(64), nullable=False),
    Column("message_ref", String(100), nullable=False),
    Column("updated", Boolean, nullable=False, server_default=false()),
)
# Approved resources: the live catalog is the YAML plus these, in `seq` order. Every replica polls the
# highest `seq` it has seen, so an approval anywhere reaches it within seconds.
approved_resources = Table(
    "approved_resources", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(100), nullable=False, unique=True),
    Column("suggestion_id", Integer, ForeignKey("suggestions.id"), nullable=True),
    Column("data", Text, nullable=False),  # the resource's fields as JSON
    Column("approved_at", DateTime(timezone=True), nullable=False),
)
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("action", String(32), nullable=False),
    Column("suggestion_id", Integer, nullable=True, index=True),
    Column("place", String(200), nullable=True),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("detail", Text, nullable=True),
)
digest_subscriptions = Table(
    "digest_subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("guild_id", String(32), nullable=True),
    Column("weekday", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("next_due_at", DateTime(timezone=True), nullable=False),
    Column("last_posted_at", DateTime(timezone=True), nullable=True),
    Column("last_period", String(32), nullable=True),
    Column("rotation", Text, nullable=False, server_default="{}"),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_failure", Text, nullable=True),
    Column("last_failure_at", DateTime(timezone=True), nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_by", String(300), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "channel_id", name="uq_digest_channel"),
)
# One row per (subscription, period): the digest of that week is claimed here with a lease before it is
# posted, and marked once the platform accepted it, so each is posted once across replicas and crashes.
digest_posts = Table(
    "digest_posts", metadata,
    Column("subscription_id", Integer, ForeignKey("digest_subscriptions.id"), primary_key=True),
    Column("period", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # claimed, posted, skipped, failed, unknown
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=True),
    Column("late", Boolean, nullable=False, server_default=false()),
    Column("message_ref", String(100), nullable=True),
    Column("error", Text, nullable=True),
)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

# One row per URL per check run; a resource's main link broken in two runs in a row is marked in answers.
link_checks = Table(
    "link_checks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("url_key", String(2100), nullable=False),
    Column("resource_id", String(100), nullable=True),
    Column("main", Boolean, nullable=False, server_default=false()),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False),  # ok, redirected, broken, unreachable
    Column("http_status", Integer, nullable=True),
    Column("final_url", Text, nullable=True),
    Column("permanent", Boolean, nullable=False, server_default=false()),
    Column("error", Text, nullable=True),
)
# What members looked for, kept QUERY_LOG_DAYS: the normalised query, how many results, the platform. Never
# who asked: no user id, no name, no channel.
query_log = Table(
    "query_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("platform", String(16), nullable=False),
    Column("command", String(32), nullable=False),
    Column("query", String(200), nullable=False, server_default=""),
    Column("results", Integer, nullable=True),
    Column("resource_ids", Text, nullable=True),
)
