"""Tables of the reference loan system (`ReferenceLoanSystem`): borrowers, loans, payments, letter requests.

They stand in for the lender's own system, so they have their own metadata (`LoanBase`), apart from the
service's `handoff.models.Base`; the same Alembic history creates both (handoff/migrations/env.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MONEY = Numeric(12, 2)


class LoanBase(DeclarativeBase):
    pass


class LoanBorrower(LoanBase):
    __tablename__ = "loan_borrowers"

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8), default="en")
    email: Mapped[str | None] = mapped_column(String(128), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    manager: Mapped[str | None] = mapped_column(String(64), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")


class LoanAccount(LoanBase):
    __tablename__ = "loan_accounts"

    loan_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("loan_borrowers.borrower_id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    principal: Mapped[Decimal] = mapped_column(MONEY)
    rate: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    interest_paid_to: Mapped[date] = mapped_column(Date)
    fees: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    next_due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_due_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    amount_past_due: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    autopay: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    past_due_since: Mapped[date | None] = mapped_column(Date, nullable=True)  # the oldest unpaid due date
    autopay_failed_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the latest failed debit


class LoanPayment(LoanBase):
    __tablename__ = "loan_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.loan_id"), index=True)
    posted_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)


class LoanLetterRequest(LoanBase):
    __tablename__ = "loan_letter_requests"
    __table_args__ = (UniqueConstraint("borrower_id", "idempotency_key", name="uq_letter_idempotency"),)

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.loan_id"), index=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    idempotency_key: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ready_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the letter was issued
