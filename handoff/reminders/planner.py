"""Planning: the reminders every open loan is due today, each stored once under its idempotency key before
anything is sent (the unique constraint on `reminders.idempotency_key` is the last word: a second planner,
a restart or a replayed pass finds the key and adds nothing).

A reminder waits as `planned` with `not_before` (the end of quiet hours when it is planned inside them) and
`expires_at` (the borrower's local midnight of its last day). A planned reminder the loan system no longer
calls for (the borrower paid, the due date moved) is `cancelled` before it goes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.infra.clock import as_utc
from handoff.loans.types import ReminderAccount
from handoff.models import Reminder
from handoff.reminder_settings import ReminderSettings
from handoff.reminders import timing
from handoff.reminders.kinds import DueReminder, due_reminders, idempotency_key

PLANNED, SENT, SUPPRESSED, EXPIRED, CANCELLED = "planned", "sent", "suppressed", "expired", "cancelled"
KEY_CHUNK = 500


@dataclass(frozen=True)
class Candidate:
    key: str
    account: ReminderAccount
    due: DueReminder


@dataclass
class PlanReport:
    planned: int = 0
    cancelled: int = 0


def candidates(accounts: Iterable[ReminderAccount], *, now: datetime, settings: ReminderSettings) -> list[Candidate]:
    found = []
    for account in accounts:
        today = timing.local_day(now, account.time_zone)
        for due in due_reminders(account, today=today, due_soon_days=settings.REMINDER_DUE_SOON_DAYS,
                                 kinds=settings.kinds):
            found.append(Candidate(idempotency_key(account.loan_id, due.about, due.kind), account, due))
    return found


def _existing(session: Session, keys: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start:start + KEY_CHUNK]
        seen.update(session.scalars(select(Reminder.idempotency_key).where(Reminder.idempotency_key.in_(chunk))))
    return seen


def plan(session: Session, *, accounts: Sequence[ReminderAccount], now: datetime, settings: ReminderSettings,
         complete: bool = True) -> PlanReport:
    """Store the reminders due now that are not stored yet. `complete`: `accounts` are all the open loans,
    so a planned reminder none of them calls for any more is cancelled."""
    report = PlanReport()
    due = candidates(accounts, now=now, settings=settings)
    stored = _existing(session, [c.key for c in due])
    quiet = {"start": settings.quiet_start, "end": settings.quiet_end}
    for candidate in due:
        if candidate.key in stored:
            continue
        stored.add(candidate.key)
        account = candidate.account
        session.add(Reminder(
            idempotency_key=candidate.key, borrower_id=account.borrower_id, loan_id=account.loan_id,
            kind=candidate.due.kind, due_on=candidate.due.about, lang=account.language, time_zone=account.time_zone,
            data=candidate.due.data, status=PLANNED, planned_at=now,
            not_before=timing.quiet_until(now, account.time_zone, **quiet),
            expires_at=timing.start_of_day(candidate.due.until, account.time_zone),
        ))
        report.planned += 1
    session.flush()  # a key stored meanwhile by another planner fails here: the whole pass rolls back
    if complete:
        wanted = {c.key for c in due}
        for row in session.scalars(select(Reminder).where(Reminder.status == PLANNED)):
            if row.idempotency_key in wanted:
                continue
            stale = as_utc(row.expires_at) <= now
            row.status, row.reason = (EXPIRED, "stale") if stale else (CANCELLED, "no_longer_due")
            report.cancelled += 1
    return report
