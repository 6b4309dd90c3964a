"""leader lease: the fencing token of the periodic work's leader

Revision ID: 0005_leader_lease
Revises: 0003_sla_clock_disabled_agents
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_leader_lease"
down_revision = "0004_issue13_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leader_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leader_leases")
