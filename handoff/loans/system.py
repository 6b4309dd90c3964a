"""The loan-system adapter: the one interface the service uses to learn about a borrower's loans.

Two implementations: `handoff.loans.reference.ReferenceLoanSystem` (our own tables, for development and
as the contract's reference) and `handoff.loans.http_adapter.HttpLoanSystem` (a lender's REST API,
docs/loan-system-api.yaml). Calls are synchronous: async callers run them on a worker thread.

Every borrower operation is scoped by `borrower_id`: a loan of another borrower is `LoanNotFound`, exactly as
an unknown loan, so nobody learns that it exists. The two listing operations (`reminder_accounts`, `payments_between`) are for
the service's own periodic work (reminders, the dashboard), never for a borrower's request.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from handoff.loans.types import (
    BorrowerProfile,
    LetterKind,
    LetterRequest,
    Loan,
    PayoffQuote,
    PostedPayment,
    ReminderAccount,
)


class LoanSystemError(Exception):
    """Base error. `code` is the contract's error code; messages never contain account figures."""

    code = "loan_system_error"

    def __init__(self, message: str, *, target_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target_id = target_id


class BorrowerNotFound(LoanSystemError):
    code = "borrower_not_found"


class LoanNotFound(LoanSystemError):
    code = "loan_not_found"


class InvalidLoanRequest(LoanSystemError):
    """The request cannot be served as asked (a payoff date in the past, a letter for an open loan)."""

    code = "invalid_request"


class LoanSystemUnavailable(LoanSystemError):
    """The loan system did not answer, answered an error, or its circuit breaker is open."""

    code = "loan_system_unavailable"


class LoanSystem(Protocol):
    def profile(self, borrower_id: str) -> BorrowerProfile: ...

    def loans(self, borrower_id: str) -> list[Loan]: ...

    def payoff_quote(self, borrower_id: str, loan_id: str, *, on: date | None = None) -> PayoffQuote:
        """Payoff good for `on` (today, in the lender's calendar, when None); never a past day."""
        ...

    def request_letter(
        self, borrower_id: str, loan_id: str, *, kind: LetterKind, idempotency_key: str
    ) -> LetterRequest:
        """Ask for a payoff or paid-in-full letter; the same `idempotency_key` returns the same request."""
        ...

    def reminder_accounts(self, *, after: str | None = None, limit: int = 500) -> list[ReminderAccount]:
        """Open loans ordered by `loan_id`, the first `limit` after `after` (keyset paging; [] at the end)."""
        ...

    def payments_between(self, *, start: date, end: date, limit: int = 10_000) -> list[PostedPayment]:
        """Payments posted on `start` .. `end` (both included), oldest first."""
        ...
