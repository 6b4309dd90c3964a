"""turn outcomes and satisfaction surveys (issue 15)

Revision ID: 0006_outcomes
Revises: 0004_issue13_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_outcomes"
down_revision = "0005_leader_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "turn_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_seq", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("faq_id", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("helped", sa.Boolean(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("turn_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_turn_outcomes_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_turn_outcomes_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index("ix_turn_outcomes_kind_at", ["kind", "at"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("queue_entry_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["queue_entry_id"], ["queue_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_responses_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_responses_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("survey_responses")
    op.drop_table("turn_outcomes")
