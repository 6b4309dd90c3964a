"""Issue 13, service side: encrypted callback contacts with due times and outcomes, complaint records,
outbound supervisor webhooks, when a waiting borrower's page was last seen, and the holder's read position
and idle warning (unread counts and the warning before an idle requeue).

Revision ID: 0004_issue13_service
Revises: 0002_identity_loans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_issue13_service"
down_revision = "0003_sla_clock_disabled_agents"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("callback_tickets") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("contact_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("due_at", TZ, nullable=True))
        batch.add_column(sa.Column("escalated_at", TZ, nullable=True))
        batch.add_column(sa.Column("worked_by_agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("completed_at", TZ, nullable=True))
        batch.add_column(sa.Column("purged_at", TZ, nullable=True))
        batch.create_unique_constraint("uq_callback_tickets_reference", ["reference"])
        batch.create_index("ix_callback_tickets_due_at", ["due_at"])
        batch.create_foreign_key("fk_callback_tickets_worked_by", "agents", ["worked_by_agent_id"], ["id"])
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("borrower_seen_at", TZ, nullable=True))
        batch.add_column(sa.Column("agent_read_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("idle_warned_at", TZ, nullable=True))
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("complex", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("owner_agent_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("overdue_notified_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["owner_agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_complaints_conversation_id", "complaints", ["conversation_id"])
    op.create_index("ix_complaints_status", "complaints", ["status"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("failed_at", TZ, nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_deliveries_next_attempt_at", "webhook_deliveries", ["next_attempt_at"])
    unanswered = sa.text("sender = 'borrower' AND reply_to_seq IS NULL")
    op.create_index("ix_messages_unanswered", "messages", ["created_at"], sqlite_where=unanswered,
                    postgresql_where=unanswered)


def downgrade() -> None:
    op.drop_index("ix_messages_unanswered", table_name="messages")
    op.drop_index("ix_webhook_deliveries_next_attempt_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_complaints_status", table_name="complaints")
    op.drop_index("ix_complaints_conversation_id", table_name="complaints")
    op.drop_table("complaints")
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("idle_warned_at")
        batch.drop_column("agent_read_seq")
        batch.drop_column("borrower_seen_at")
    with op.batch_alter_table("callback_tickets") as batch:
        batch.drop_constraint("fk_callback_tickets_worked_by", type_="foreignkey")
        batch.drop_index("ix_callback_tickets_due_at")
        batch.drop_constraint("uq_callback_tickets_reference", type_="unique")
        for column in ("purged_at", "completed_at", "outcome", "attempts", "worked_by_agent_id", "escalated_at",
                       "due_at", "contact_encrypted", "reference"):
            batch.drop_column(column)
