"""`ReferenceLoanSystem`: the loan-system adapter on our own tables (handoff/loans/tables.py).

For development, demos and as the reference the HTTP contract is tested against. Figures come from
the rows; the payoff is computed with `handoff.loans.payoff` for the day asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.loans import payoff
from handoff.loans.system import BorrowerNotFound, InvalidLoanRequest, LoanNotFound
from handoff.loans.tables import LoanAccount, LoanBorrower, LoanLetterRequest, LoanPayment
from handoff.loans.types import (
    LETTER_KINDS,
    BorrowerProfile,
    LetterKind,
    LetterRequest,
    Loan,
    Payment,
    PayoffQuote,
    PostedPayment,
    ReminderAccount,
    mask_loan_number,
)

LAST_PAYMENTS = 3


class ReferenceLoanSystem:
    def __init__(self, engine: Engine, *, today: Callable[[], date] = date.today) -> None:
        self._engine = engine
        self._today = today

    def _borrower(self, session: Session, borrower_id: str) -> LoanBorrower:
        row = session.get(LoanBorrower, borrower_id)
        if row is None:
            raise BorrowerNotFound("no such borrower", target_id=borrower_id)
        return row

    def _account(self, session: Session, borrower_id: str, loan_id: str) -> LoanAccount:
        row = session.get(LoanAccount, loan_id)
        if row is None or row.borrower_id != borrower_id:  # another borrower's loan looks like no loan
            raise LoanNotFound("no such loan for this borrower", target_id=loan_id)
        return row

    def profile(self, borrower_id: str) -> BorrowerProfile:
        with Session(self._engine) as session:
            row = self._borrower(session, borrower_id)
            return BorrowerProfile(
                borrower_id=row.borrower_id, name=row.name, language=row.language, email=row.email,
                phone=row.phone, tier="vip" if row.tier == "vip" else "standard", manager=row.manager,
                time_zone=row.time_zone,
            )

    def loans(self, borrower_id: str) -> list[Loan]:
        with Session(self._engine) as session:
            self._borrower(session, borrower_id)
            accounts = session.scalars(
                select(LoanAccount).where(LoanAccount.borrower_id == borrower_id).order_by(LoanAccount.loan_id)
            ).all()
            return [self._loan(session, account) for account in accounts]

    def _loan(self, session: Session, account: LoanAccount) -> Loan:
        payments = session.scalars(
            select(LoanPayment)
            .where(LoanPayment.loan_id == account.loan_id)
            .order_by(LoanPayment.posted_on.desc(), LoanPayment.id.desc())
            .limit(LAST_PAYMENTS)
        ).all()
        return Loan(
            loan_id=account.loan_id, masked_number=mask_loan_number(account.number), currency=account.currency,
            balance=account.principal, rate=account.rate, next_due_date=account.next_due_date,
            next_due_amount=account.next_due_amount, days_past_due=account.days_past_due,
            amount_past_due=account.amount_past_due, autopay=account.autopay,
            status="paid_off" if account.status == "paid_off" else "active",
            last_payments=tuple(Payment(posted_on=p.posted_on, amount=p.amount) for p in payments),
        )

    def payoff_quote(self, borrower_id: str, loan_id: str, *, on: date | None = None) -> PayoffQuote:
        today = self._today()
        on = on or today
        if on < today:
            raise InvalidLoanRequest("a payoff quote is for today or a later day", target_id=loan_id)
        with Session(self._engine) as session:
            account = self._account(session, borrower_id, loan_id)
            if account.status == "paid_off":
                raise InvalidLoanRequest("this loan is paid off", target_id=loan_id)
            return PayoffQuote(
                loan_id=account.loan_id, masked_number=mask_loan_number(account.number),
                currency=account.currency, as_of=on,
                amount=payoff.payoff_amount(
                    principal=account.principal, annual_rate_percent=account.rate, fees=account.fees,
                    interest_paid_to=account.interest_paid_to, on=on,
                ),
                per_diem=payoff.per_diem(account.principal, account.rate),
            )

    def request_letter(
        self, borrower_id: str, loan_id: str, *, kind: LetterKind, idempotency_key: str
    ) -> LetterRequest:
        if kind not in LETTER_KINDS:
            raise InvalidLoanRequest(f"kind must be one of {', '.join(LETTER_KINDS)}", target_id=loan_id)
        with Session(self._engine) as session, session.begin():
            account = self._account(session, borrower_id, loan_id)
            earlier = self._earlier(session, borrower_id, idempotency_key)
            if earlier is not None:
                return earlier
            if kind == "paid_in_full" and account.status != "paid_off":
                raise InvalidLoanRequest("a paid-in-full letter is for a paid-off loan", target_id=loan_id)
            row = LoanLetterRequest(
                request_id=uuid.uuid4().hex, loan_id=loan_id, borrower_id=borrower_id, kind=kind,
                status="requested", idempotency_key=idempotency_key, requested_at=datetime.now(UTC),
            )
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # the same key stored concurrently
                found = self._earlier(session, borrower_id, idempotency_key)
                if found is None:
                    raise
                return found
            return _letter(row)

    def reminder_accounts(self, *, after: str | None = None, limit: int = 500) -> list[ReminderAccount]:
        letters = (
            select(LoanLetterRequest.loan_id, func.max(LoanLetterRequest.ready_on).label("ready_on"))
            .where(LoanLetterRequest.kind == "payoff", LoanLetterRequest.ready_on.is_not(None))
            .group_by(LoanLetterRequest.loan_id).subquery()
        )
        query = (
            select(LoanAccount, LoanBorrower.language, LoanBorrower.time_zone, letters.c.ready_on)
            .join(LoanBorrower, LoanBorrower.borrower_id == LoanAccount.borrower_id)
            .outerjoin(letters, letters.c.loan_id == LoanAccount.loan_id)
            .where(LoanAccount.status == "active").order_by(LoanAccount.loan_id).limit(limit)
        )
        if after is not None:
            query = query.where(LoanAccount.loan_id > after)
        with Session(self._engine) as session:
            return [
                ReminderAccount(
                    loan_id=a.loan_id, borrower_id=a.borrower_id, masked_number=mask_loan_number(a.number),
                    currency=a.currency, language="zh" if language == "zh" else "en", time_zone=time_zone,
                    next_due_date=a.next_due_date, next_due_amount=a.next_due_amount, autopay=a.autopay,
                    past_due_since=a.past_due_since, amount_past_due=a.amount_past_due,
                    autopay_failed_on=a.autopay_failed_on, payoff_letter_ready_on=ready_on,
                )
                for a, language, time_zone, ready_on in session.execute(query).all()
            ]

    def payments_between(self, *, start: date, end: date, limit: int = 10_000) -> list[PostedPayment]:
        query = (
            select(LoanPayment, LoanAccount.borrower_id).join(LoanAccount, LoanAccount.loan_id == LoanPayment.loan_id)
            .where(LoanPayment.posted_on >= start, LoanPayment.posted_on <= end)
            .order_by(LoanPayment.posted_on, LoanPayment.id).limit(limit)
        )
        with Session(self._engine) as session:
            return [PostedPayment(loan_id=p.loan_id, borrower_id=borrower_id, posted_on=p.posted_on, amount=p.amount)
                    for p, borrower_id in session.execute(query).all()]

    @staticmethod
    def _earlier(session: Session, borrower_id: str, key: str) -> LetterRequest | None:
        row = session.scalars(
            select(LoanLetterRequest).where(
                LoanLetterRequest.borrower_id == borrower_id, LoanLetterRequest.idempotency_key == key
            )
        ).first()
        return _letter(row) if row is not None else None


def _letter(row: LoanLetterRequest) -> LetterRequest:
    requested_at = row.requested_at if row.requested_at.tzinfo else row.requested_at.replace(tzinfo=UTC)
    return LetterRequest(
        request_id=row.request_id, loan_id=row.loan_id, kind="paid_in_full" if row.kind == "paid_in_full" else "payoff",
        status="sent" if row.status == "sent" else "requested", requested_at=requested_at,
    )
