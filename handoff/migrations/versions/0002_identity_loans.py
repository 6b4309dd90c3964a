"""verified borrowers (identity) and the reference loan system's tables

Revision ID: 0002_identity_loans
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_identity_loans"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("borrower_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("borrower_profile", sa.JSON(), nullable=True))
        batch.create_index("ix_conversations_borrower_id", ["borrower_id"])
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("preferred_agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("preferred_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_queue_entries_preferred_agent", "agents", ["preferred_agent_id"], ["id"])
    op.create_table(
        "conversation_devices",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_conversation_devices_conversation_id", "conversation_devices", ["conversation_id"])
    op.create_table(
        "identity_nonces",
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index("ix_identity_nonces_expires_at", "identity_nonces", ["expires_at"])
    _loan_tables()


def _loan_tables() -> None:
    op.create_table(
        "loan_borrowers",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=128), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("manager", sa.String(length=64), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id"),
    )
    op.create_table(
        "loan_accounts",
        sa.Column("loan_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("rate", sa.Numeric(6, 3), nullable=False),
        sa.Column("interest_paid_to", sa.Date(), nullable=False),
        sa.Column("fees", MONEY, nullable=False),
        sa.Column("next_due_date", sa.Date(), nullable=True),
        sa.Column("next_due_amount", MONEY, nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("amount_past_due", MONEY, nullable=False),
        sa.Column("autopay", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["loan_borrowers.borrower_id"]),
        sa.PrimaryKeyConstraint("loan_id"),
    )
    op.create_index("ix_loan_accounts_borrower_id", "loan_accounts", ["borrower_id"])
    op.create_table(
        "loan_payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(length=32), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loan_accounts.loan_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loan_payments_loan_id", "loan_payments", ["loan_id"])
    op.create_table(
        "loan_letter_requests",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("loan_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loan_accounts.loan_id"]),
        sa.PrimaryKeyConstraint("request_id"),
        sa.UniqueConstraint("borrower_id", "idempotency_key", name="uq_letter_idempotency"),
    )
    op.create_index("ix_loan_letter_requests_loan_id", "loan_letter_requests", ["loan_id"])


def downgrade() -> None:
    for table in ("loan_letter_requests", "loan_payments", "loan_accounts", "loan_borrowers",
                  "identity_nonces", "conversation_devices"):
        op.drop_table(table)
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_constraint("fk_queue_entries_preferred_agent", type_="foreignkey")
        batch.drop_column("preferred_until")
        batch.drop_column("preferred_agent_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_borrower_id")
        batch.drop_column("borrower_profile")
        batch.drop_column("verified_at")
        batch.drop_column("borrower_id")
