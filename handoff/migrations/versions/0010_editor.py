"""editor role, agents' teams, first reply and breach kept through requeues (issue 15)

Revision ID: 0010_editor
Revises: 0009_devices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_editor"
down_revision = "0009_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_agents_team"), ["team"], unique=False)
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_breach_at", sa.DateTime(timezone=True), nullable=True))
    # What the SLA clock still holds is the best history there is for the rows written before.
    op.execute("UPDATE queue_entries SET answered_at = first_agent_reply_at, first_breach_at = sla_breached_at")


def downgrade() -> None:
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_column("first_breach_at")
        batch_op.drop_column("answered_at")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_team"))
        batch_op.drop_column("team")
