"""Claims record their state: claimed with a lease, or done.

A claim of 0.1.0 was taken before its work and never marked: it cannot tell whether the work
happened. Those rows become "done", the choice that never does a thing twice.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("state", sa.String(10), nullable=False, server_default="done"))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("state")
