"""What the loan system tells us: a borrower's profile, their loans, payoff quotes, letter requests.

Plain frozen dataclasses with Decimal amounts and `date`s; `to_json` / `from_json` are the wire format of
the lender API contract (docs/loan-system-api.yaml): amounts as decimal strings, dates as ISO strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Tier = Literal["standard", "vip"]
LetterKind = Literal["payoff", "paid_in_full"]
TIERS: tuple[str, ...] = ("standard", "vip")
LETTER_KINDS: tuple[str, ...] = ("payoff", "paid_in_full")


def mask_loan_number(number: str) -> str:
    """Only the last 4 characters stay visible: `NW-2024-00123456` -> `****3456`."""
    tail = number[-4:] if len(number) > 4 else number
    return f"****{tail}"


@dataclass(frozen=True)
class BorrowerProfile:
    borrower_id: str
    name: str
    language: str  # en | zh
    email: str | None
    phone: str | None
    tier: Tier
    manager: str | None  # username of the borrower's own account manager (agent), if any
    time_zone: str

    def to_json(self) -> dict[str, Any]:
        return {
            "borrower_id": self.borrower_id, "name": self.name, "language": self.language,
            "email": self.email, "phone": self.phone, "tier": self.tier, "manager": self.manager,
            "time_zone": self.time_zone,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BorrowerProfile:
        tier: Tier = "vip" if data.get("tier") == "vip" else "standard"
        return cls(
            borrower_id=str(data["borrower_id"]), name=str(data["name"]), language=str(data["language"]),
            email=data.get("email"), phone=data.get("phone"), tier=tier, manager=data.get("manager"),
            time_zone=str(data.get("time_zone") or "UTC"),
        )


@dataclass(frozen=True)
class Payment:
    posted_on: date
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"posted_on": self.posted_on.isoformat(), "amount": str(self.amount)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Payment:
        return cls(posted_on=date.fromisoformat(data["posted_on"]), amount=Decimal(data["amount"]))


@dataclass(frozen=True)
class Loan:
    loan_id: str
    masked_number: str
    currency: str
    balance: Decimal  # principal outstanding
    rate: Decimal  # annual interest rate in percent, e.g. 6.49
    next_due_date: date | None
    next_due_amount: Decimal | None
    days_past_due: int
    amount_past_due: Decimal
    autopay: bool
    status: Literal["active", "paid_off"]
    last_payments: tuple[Payment, ...] = field(default_factory=tuple)  # newest first

    def to_json(self) -> dict[str, Any]:
        return {
            "loan_id": self.loan_id, "masked_number": self.masked_number, "currency": self.currency,
            "balance": str(self.balance), "rate": str(self.rate),
            "next_due_date": self.next_due_date.isoformat() if self.next_due_date else None,
            "next_due_amount": str(self.next_due_amount) if self.next_due_amount is not None else None,
            "days_past_due": self.days_past_due, "amount_past_due": str(self.amount_past_due),
            "autopay": self.autopay, "status": self.status,
            "last_payments": [p.to_json() for p in self.last_payments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Loan:
        due = data.get("next_due_date")
        amount = data.get("next_due_amount")
        return cls(
            loan_id=str(data["loan_id"]), masked_number=str(data["masked_number"]),
            currency=str(data["currency"]), balance=Decimal(data["balance"]), rate=Decimal(data["rate"]),
            next_due_date=date.fromisoformat(due) if due else None,
            next_due_amount=Decimal(amount) if amount is not None else None,
            days_past_due=int(data["days_past_due"]), amount_past_due=Decimal(data["amount_past_due"]),
            autopay=bool(data["autopay"]), status="paid_off" if data.get("status") == "paid_off" else "active",
            last_payments=tuple(Payment.from_json(p) for p in data.get("last_payments") or []),
        )


@dataclass(frozen=True)
class PayoffQuote:
    loan_id: str
    masked_number: str
    currency: str
    as_of: date  # the day the payoff amount is good for
    amount: Decimal  # principal + interest accrued to `as_of` + fees
    per_diem: Decimal  # interest added per day after `as_of`

    def to_json(self) -> dict[str, Any]:
        return {
            "loan_id": self.loan_id, "masked_number": self.masked_number, "currency": self.currency,
            "as_of": self.as_of.isoformat(), "amount": str(self.amount), "per_diem": str(self.per_diem),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PayoffQuote:
        return cls(
            loan_id=str(data["loan_id"]), masked_number=str(data["masked_number"]),
            currency=str(data["currency"]), as_of=date.fromisoformat(data["as_of"]),
            amount=Decimal(data["amount"]), per_diem=Decimal(data["per_diem"]),
        )


@dataclass(frozen=True)
class LetterRequest:
    request_id: str
    loan_id: str
    kind: LetterKind
    status: Literal["requested", "sent"]
    requested_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "loan_id": self.loan_id, "kind": self.kind,
            "status": self.status, "requested_at": self.requested_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LetterRequest:
        kind: LetterKind = "paid_in_full" if data.get("kind") == "paid_in_full" else "payoff"
        return cls(
            request_id=str(data["request_id"]), loan_id=str(data["loan_id"]), kind=kind,
            status="sent" if data.get("status") == "sent" else "requested",
            requested_at=datetime.fromisoformat(data["requested_at"]),
        )


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class ReminderAccount:
    """What the reminder scheduler needs of one open loan, across all borrowers (a page of them at a time)."""

    loan_id: str
    borrower_id: str
    masked_number: str
    currency: str
    language: str  # the borrower's: en | zh
    time_zone: str  # the borrower's IANA time zone
    next_due_date: date | None
    next_due_amount: Decimal | None
    autopay: bool
    past_due_since: date | None  # the oldest unpaid due date; None when nothing is past due
    amount_past_due: Decimal
    autopay_failed_on: date | None  # the latest failed automatic debit
    payoff_letter_ready_on: date | None  # the latest payoff letter issued

    def to_json(self) -> dict[str, Any]:
        return {
            "loan_id": self.loan_id, "borrower_id": self.borrower_id, "masked_number": self.masked_number,
            "currency": self.currency, "language": self.language, "time_zone": self.time_zone,
            "next_due_date": _iso(self.next_due_date),
            "next_due_amount": str(self.next_due_amount) if self.next_due_amount is not None else None,
            "autopay": self.autopay, "past_due_since": _iso(self.past_due_since),
            "amount_past_due": str(self.amount_past_due), "autopay_failed_on": _iso(self.autopay_failed_on),
            "payoff_letter_ready_on": _iso(self.payoff_letter_ready_on),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReminderAccount:
        amount = data.get("next_due_amount")
        return cls(
            loan_id=str(data["loan_id"]), borrower_id=str(data["borrower_id"]),
            masked_number=str(data["masked_number"]), currency=str(data["currency"]),
            language="zh" if data.get("language") == "zh" else "en", time_zone=str(data.get("time_zone") or "UTC"),
            next_due_date=_day(data.get("next_due_date")),
            next_due_amount=Decimal(amount) if amount is not None else None, autopay=bool(data["autopay"]),
            past_due_since=_day(data.get("past_due_since")), amount_past_due=Decimal(data["amount_past_due"]),
            autopay_failed_on=_day(data.get("autopay_failed_on")),
            payoff_letter_ready_on=_day(data.get("payoff_letter_ready_on")),
        )


@dataclass(frozen=True)
class PostedPayment:
    """A payment posted to a loan (for the dashboard's "paid within N days of a reminder")."""

    loan_id: str
    borrower_id: str
    posted_on: date
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"loan_id": self.loan_id, "borrower_id": self.borrower_id, "posted_on": self.posted_on.isoformat(),
                "amount": str(self.amount)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostedPayment:
        return cls(loan_id=str(data["loan_id"]), borrower_id=str(data["borrower_id"]),
                   posted_on=date.fromisoformat(data["posted_on"]), amount=Decimal(data["amount"]))
