"""Link checks (one row per URL per check) and the query log (what members looked for, never who).

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.String(2100), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=True),
        sa.Column("main", sa.Boolean, nullable=False, server_default=sa.false()),  # the resource's own url
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),  # ok, redirected, broken, unreachable
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("final_url", sa.Text, nullable=True),
        sa.Column("permanent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_link_checks_key_time", "link_checks", ["url_key", "checked_at"])
    op.create_index("ix_link_checks_run", "link_checks", ["run_id"])
    op.create_table(
        "query_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("query", sa.String(200), nullable=False, server_default=""),
        sa.Column("results", sa.Integer, nullable=True),
        sa.Column("resource_ids", sa.Text, nullable=True),  # what a Share showed, comma-separated
    )
    op.create_index("ix_query_log_at", "query_log", ["at"])


def downgrade() -> None:
    op.drop_table("query_log")
    op.drop_table("link_checks")
