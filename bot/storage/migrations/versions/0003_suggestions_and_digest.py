"""Suggestions with their review posts, the approved-resource overlay, the audit log, and the weekly
digest's subscriptions and posts.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.String(2100), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("why", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("duplicate_of", sa.String(300), nullable=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decided_by", sa.String(300), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resource_id", sa.String(100), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # The same member sending the same URL again (a retry, a double click) gets the same number.
        sa.UniqueConstraint("platform", "user_id", "url_key", name="uq_suggestions_member_url"),
    )
    op.create_index("ix_suggestions_url_key", "suggestions", ["url_key"])
    op.create_index("ix_suggestions_state_created", "suggestions", ["state", "created_at"])
    op.create_index("ix_suggestions_member_created", "suggestions", ["platform", "user_id", "created_at"])
    op.create_table(
        "review_posts",
        sa.Column("suggestion_id", sa.Integer, sa.ForeignKey("suggestions.id"), primary_key=True),
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("message_ref", sa.String(100), nullable=False),
        sa.Column("updated", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "approved_resources",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_id", sa.String(100), nullable=False, unique=True),
        sa.Column("suggestion_id", sa.Integer, sa.ForeignKey("suggestions.id"), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("suggestion_id", sa.Integer, nullable=True),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_log_suggestion", "audit_log", ["suggestion_id"])
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("guild_id", sa.String(32), nullable=True),
        sa.Column("weekday", sa.Integer, nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("minute", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_period", sa.String(32), nullable=True),
        sa.Column("rotation", sa.Text, nullable=False, server_default="{}"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure", sa.Text, nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "channel_id", name="uq_digest_channel"),
    )
    op.create_index("ix_digest_due", "digest_subscriptions", ["active", "next_due_at"])
    op.create_table(
        "digest_posts",
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("digest_subscriptions.id"), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),  # claimed, posted, skipped, failed, unknown
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("message_ref", sa.String(100), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for table in ("digest_posts", "digest_subscriptions", "audit_log", "approved_resources", "review_posts",
                  "suggestions"):
        op.drop_table(table)
