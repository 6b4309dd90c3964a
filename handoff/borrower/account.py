"""What the bot may tell a borrower about their own loans: only for the borrower this conversation was
verified as (`Conversation.borrower_id`, set by sign-in), never for an id the bot or Rasa supplies.

Called by the action server through /internal/ (handoff/api/routes/internal.py). Figures pass through;
nothing from the loan system is logged here, and the audit trail records only that an account was read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from handoff import audit
from handoff.conversations.records import get_conversation, signed_in_borrower
from handoff.infra.bus import conversation_topic
from handoff.loans.system import (
    BorrowerNotFound,
    InvalidLoanRequest,
    LoanNotFound,
    LoanSystem,
    LoanSystemUnavailable,
)
from handoff.loans.types import LetterKind, Loan, PayoffQuote
from handoff.services import Services


def _signed_in(session: Session, svc: Services, conversation_id: str) -> tuple[str | None, bool]:
    """The borrower signed in here while the sign-in is fresh (`records.signed_in_borrower`), and whether
    there was a sign-in that has expired."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    current = signed_in_borrower(conversation, now=svc.clock.now(), max_age_s=svc.settings.BORROWER_SIGNIN_MAX_AGE_S)
    return current, current is None and conversation.borrower_id is not None


async def _verified_borrower(svc: Services, conversation_id: str) -> str | None:
    """The borrower whose loans the bot may read here. When the sign-in has expired, the chat page hears it
    (an `identity` event) and says so where it said "Signed in as ...", as the bot asks for a new sign-in."""
    borrower_id, expired = await svc.db(lambda s: _signed_in(s, svc, conversation_id), write=False)
    if expired:
        await svc.bus.publish(conversation_topic(conversation_id), {"type": "identity", "verified": False,
                                                                    "expired": True})
    return borrower_id


def _note(session: Session, *, conversation_id: str, borrower_id: str, action: str) -> None:
    audit.record(session, actor_type="bot", actor_id=None, conversation_id=conversation_id, action=action,
                 detail={"borrower_id": borrower_id})


def _payoff(borrower_id: str, loan_id: str, on: date | None) -> Callable[[LoanSystem], PayoffQuote]:
    return lambda system: system.payoff_quote(borrower_id, loan_id, on=on)


async def account_for_bot(svc: Services, *, conversation_id: str, payoff_on: date | None) -> dict[str, Any]:
    """`{"verified": false}`, or the verified borrower's loans with a payoff quote for each open one;
    `"available": false` when the loan system cannot answer (the bot then says so and offers a person)."""
    borrower_id = await _verified_borrower(svc, conversation_id)
    if borrower_id is None:
        return {"verified": False}
    try:
        loans: list[Loan] = await svc.loan_call(lambda system: system.loans(borrower_id))
        payoffs: list[PayoffQuote] = []
        payoff_error: str | None = None
        for loan in loans:
            if loan.status != "active":
                continue
            try:
                payoffs.append(await svc.loan_call(_payoff(borrower_id, loan.loan_id, payoff_on)))
            except InvalidLoanRequest:
                payoff_error = "invalid_date"
    except BorrowerNotFound:
        loans, payoffs, payoff_error = [], [], None
    except LoanSystemUnavailable:
        return {"verified": True, "available": False}
    await svc.db(lambda s: _note(s, conversation_id=conversation_id, borrower_id=borrower_id, action="account_read"))
    return {
        "verified": True,
        "available": True,
        "loans": [loan.to_json() for loan in loans],
        "payoffs": [quote.to_json() for quote in payoffs],
        "payoff_error": payoff_error,
    }


async def letter_for_bot(
    svc: Services, *, conversation_id: str, kind: LetterKind, loan_id: str | None
) -> dict[str, Any]:
    """Ask for a letter on the verified borrower's loan (the only one that fits when `loan_id` is None)."""
    borrower_id = await _verified_borrower(svc, conversation_id)
    if borrower_id is None:
        return {"verified": False}
    try:
        loans: list[Loan] = await svc.loan_call(lambda system: system.loans(borrower_id))
        wanted = "paid_off" if kind == "paid_in_full" else "active"
        fitting = [loan for loan in loans if loan.status == wanted and (loan_id in (None, loan.loan_id))]
        if len(fitting) != 1:
            return {"verified": True, "available": True, "letter": None, "choices": len(fitting)}
        target = fitting[0]
        letter = await svc.loan_call(lambda system: system.request_letter(
            borrower_id, target.loan_id, kind=kind, idempotency_key=f"{conversation_id}:{kind}:{target.loan_id}"
        ))
    except (BorrowerNotFound, LoanNotFound, InvalidLoanRequest):
        return {"verified": True, "available": True, "letter": None, "choices": 0}
    except LoanSystemUnavailable:
        return {"verified": True, "available": False}
    await svc.db(lambda s: _note(s, conversation_id=conversation_id, borrower_id=borrower_id, action="letter_requested"))
    return {"verified": True, "available": True, "letter": {**letter.to_json(), "masked_number": target.masked_number}}
