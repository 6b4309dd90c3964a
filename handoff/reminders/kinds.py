"""Which reminders one loan is due on one day of the borrower's calendar (pure: no database, no clock).

Each kind has a trigger day and a last day it still makes sense; a reminder is due on any day in between,
so a scheduler that was down on the trigger day still sends it afterwards, and never once it is stale.
Its idempotency key names the loan, the due date it is about and the kind: `L-1:2026-12-04:due_soon`.

| kind | about (key date) | due from | until (exclusive) | when |
|---|---|---|---|---|
| due_soon | next due date | due - REMINDER_DUE_SOON_DAYS | due date | |
| due_today | next due date | due date | due + 1 | no autopay |
| missed_1 | oldest unpaid due date | + 1 | + 7 | something is past due |
| missed_7 | oldest unpaid due date | + 7 | + 14 | something is past due |
| payoff_letter_ready | day the letter was issued | that day | + 7 | |
| autopay_failed | day the debit failed | that day | + 3 | autopay on |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from handoff.loans.types import ReminderAccount

# No kind is due this many days or more after the date its key is about (missed_7: + 14, exclusive): older
# keys can never be planned again, so retention may delete them (`handoff.privacy.outbound`).
KEY_WINDOW_DAYS = 14


@dataclass(frozen=True)
class DueReminder:
    kind: str
    about: date  # the due date (or event day) the idempotency key names
    until: date  # the borrower's local day from which it is stale (exclusive end)
    data: dict[str, str]  # placeholder values, unformatted (ISO dates, decimal strings)


def idempotency_key(loan_id: str, about: date, kind: str) -> str:
    return f"{loan_id}:{about.isoformat()}:{kind}"


def _base(account: ReminderAccount) -> dict[str, str]:
    return {"loan": account.masked_number, "currency": account.currency}


def due_reminders(account: ReminderAccount, *, today: date, due_soon_days: int,
                  kinds: frozenset[str]) -> list[DueReminder]:
    """The reminders `account` is due on the borrower's local day `today`, of the enabled `kinds`."""
    found: list[DueReminder] = []

    def add(kind: str, about: date, start: date, until: date, **data: str) -> None:
        if kind in kinds and start <= today < until:
            found.append(DueReminder(kind=kind, about=about, until=until, data={**_base(account), **data}))

    due = account.next_due_date
    if due is not None:
        amount = str(account.next_due_amount) if account.next_due_amount is not None else ""
        add("due_soon", due, due - timedelta(days=due_soon_days), due, amount=amount, due_date=due.isoformat())
        if not account.autopay:
            add("due_today", due, due, due + timedelta(days=1), amount=amount, due_date=due.isoformat())
        if account.autopay and account.autopay_failed_on is not None:
            failed = account.autopay_failed_on
            add("autopay_failed", failed, failed, failed + timedelta(days=3), amount=amount,
                due_date=due.isoformat(), failed_on=failed.isoformat())
    since = account.past_due_since
    if since is not None:
        for kind, days, last in (("missed_1", 1, 7), ("missed_7", 7, 14)):
            add(kind, since, since + timedelta(days=days), since + timedelta(days=last),
                amount_past_due=str(account.amount_past_due), past_due_since=since.isoformat(),
                days_past_due=str(days))
    letter = account.payoff_letter_ready_on
    if letter is not None:
        add("payoff_letter_ready", letter, letter, letter + timedelta(days=7), letter_date=letter.isoformat())
    return found
