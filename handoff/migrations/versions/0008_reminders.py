"""borrower notifications, repayment reminders and reminder consent (issue 16); the reference loan
system's past-due date, failed autopay and letters issued

Revision ID: 0008_reminders
Revises: 0007_canned_replies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_reminders"
down_revision = "0007_canned_replies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event", sa.String(length=48), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index("ix_notifications_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("message_seq", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index("ix_reminders_due", ["status", "not_before"], unique=False)

    op.create_table(
        "reminder_consents",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", "channel"),
    )
    with op.batch_alter_table("loan_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("past_due_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("autopay_failed_on", sa.Date(), nullable=True))
    with op.batch_alter_table("loan_letter_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loan_letter_requests", schema=None) as batch_op:
        batch_op.drop_column("ready_on")
    with op.batch_alter_table("loan_accounts", schema=None) as batch_op:
        batch_op.drop_column("autopay_failed_on")
        batch_op.drop_column("past_due_since")
    op.drop_table("reminder_consents")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_due")
        batch_op.drop_index(batch_op.f("ix_reminders_sent_at"))
        batch_op.drop_index(batch_op.f("ix_reminders_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_borrower_id"))
    op.drop_table("reminders")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_due")
        batch_op.drop_index(batch_op.f("ix_notifications_borrower_id"))
    op.drop_table("notifications")
