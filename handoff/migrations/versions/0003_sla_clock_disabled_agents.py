"""queue_entries.sla_clock_started_at (a requeued chat is clocked again); agents.disabled_at

Revision ID: 0003_sla_clock_disabled_agents
Revises: 0002_identity_loans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sla_clock_disabled_agents"
down_revision = "0002_identity_loans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("sla_clock_started_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("disabled_at")
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("sla_clock_started_at")
