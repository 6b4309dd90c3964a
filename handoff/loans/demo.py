"""Fictional demo borrowers and loans for the reference loan system (`python -m handoff seed-demo-loans`).

Dates are relative to the day of seeding so the demo always has a payment coming up. Seeding again
replaces the demo rows and their letter requests, and only those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from handoff.loans.tables import LoanAccount, LoanBorrower, LoanLetterRequest, LoanPayment


@dataclass(frozen=True)
class DemoBorrower:
    borrower_id: str
    name: str
    language: str
    tier: str
    manager: str | None
    label: str  # what the demo sign-in shows


DEMO_MANAGER = "manager"  # create this agent to see key-customer routing: create-agent --username manager
DEMO_BORROWERS: tuple[DemoBorrower, ...] = (
    DemoBorrower("demo-alex", "Alex Morgan", "en", "standard", None, "Alex Morgan (en, current, autopay)"),
    DemoBorrower("demo-wang", "王小明", "zh", "standard", None, "王小明 (zh, 12 days past due)"),
    DemoBorrower("demo-jordan", "Jordan Lee", "en", "vip", DEMO_MANAGER, "Jordan Lee (en, key customer)"),
    DemoBorrower("demo-chen", "陈静", "zh", "vip", DEMO_MANAGER, "陈静 (zh, key customer, one loan paid off)"),
)
DEMO_IDS = tuple(b.borrower_id for b in DEMO_BORROWERS)


def _accounts(today: date) -> list[LoanAccount]:
    def loan(loan_id: str, borrower_id: str, number: str, principal: str, rate: str, **extra: object) -> LoanAccount:
        fields: dict[str, object] = {
            "interest_paid_to": today - timedelta(days=10), "fees": Decimal(0),
            "next_due_date": today + timedelta(days=12), "days_past_due": 0, "amount_past_due": Decimal(0),
            "autopay": False, "status": "active", "currency": "USD",
        }
        fields.update(extra)
        return LoanAccount(
            loan_id=loan_id, borrower_id=borrower_id, number=number, principal=Decimal(principal),
            rate=Decimal(rate), **fields,
        )

    return [
        loan("L-ALEX-1", "demo-alex", "NW-2023-00418827", "14250.00", "6.490",
             next_due_amount=Decimal("412.37"), autopay=True),
        loan("L-WANG-1", "demo-wang", "NW-2024-00733105", "9870.55", "8.900",
             next_due_amount=Decimal("298.10"), next_due_date=today + timedelta(days=18),
             days_past_due=12, amount_past_due=Decimal("298.10"), fees=Decimal("25.00"),
             past_due_since=today - timedelta(days=12),
             interest_paid_to=today - timedelta(days=42)),
        loan("L-JORDAN-1", "demo-jordan", "NW-2022-00100042", "38400.00", "4.250",
             next_due_amount=Decimal("965.00"), next_due_date=today + timedelta(days=3), autopay=True),
        loan("L-CHEN-1", "demo-chen", "NW-2021-00055501", "0.00", "5.100", next_due_date=None,
             next_due_amount=None, status="paid_off"),
        loan("L-CHEN-2", "demo-chen", "NW-2025-00912377", "22110.40", "5.750",
             next_due_amount=Decimal("640.25"), next_due_date=today + timedelta(days=7)),
    ]


def _payments(today: date) -> list[LoanPayment]:
    rows = [
        ("L-ALEX-1", 18, "412.37"), ("L-ALEX-1", 48, "412.37"), ("L-ALEX-1", 79, "412.37"),
        ("L-WANG-1", 42, "298.10"), ("L-WANG-1", 73, "298.10"),
        ("L-JORDAN-1", 27, "965.00"), ("L-JORDAN-1", 58, "965.00"),
        ("L-CHEN-1", 200, "4875.12"),
        ("L-CHEN-2", 23, "640.25"),
    ]
    return [LoanPayment(loan_id=loan_id, posted_on=today - timedelta(days=ago), amount=Decimal(amount))
            for loan_id, ago, amount in rows]


def seed_demo_loans(engine: Engine, *, today: date | None = None) -> int:
    """Replace the demo borrowers and their loans; returns how many loans were written."""
    today = today or date.today()
    accounts = _accounts(today)
    loan_ids = [a.loan_id for a in accounts]
    with Session(engine) as session, session.begin():
        session.execute(delete(LoanPayment).where(LoanPayment.loan_id.in_(loan_ids)))
        session.execute(delete(LoanLetterRequest).where(LoanLetterRequest.loan_id.in_(loan_ids)))
        session.execute(delete(LoanAccount).where(LoanAccount.loan_id.in_(loan_ids)))
        session.execute(delete(LoanBorrower).where(LoanBorrower.borrower_id.in_(DEMO_IDS)))
        session.flush()
        for b in DEMO_BORROWERS:
            session.add(LoanBorrower(
                borrower_id=b.borrower_id, name=b.name, language=b.language, tier=b.tier, manager=b.manager,
                email=f"{b.borrower_id}@example.com", phone="+1 415 555 0100",
                time_zone="Asia/Shanghai" if b.language == "zh" else "America/Los_Angeles",
            ))
        session.flush()
        session.add_all(accounts)
        session.flush()
        session.add_all(_payments(today))
    return len(accounts)
