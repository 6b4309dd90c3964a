"""Development only: a reminder of a chosen kind for a demo borrower's loan, sent at once (quiet hours and
the cap left out), so that `make run` shows one in the chat page at any hour. POST /api/dev/reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.errors import NotFoundError
from handoff.loans.types import ReminderAccount
from handoff.models import Reminder
from handoff.reminder_settings import NotifierSettings, ReminderSettings
from handoff.reminders import sender, timing
from handoff.reminders.kinds import DueReminder, due_reminders
from handoff.reminders.planner import PLANNED
from knowledge_base.reminder_templates import KINDS, ReminderTemplates


def _demo_due(account: ReminderAccount, kind: str, now: datetime) -> DueReminder:
    """The reminder as the scheduler would build it on some day near today, the loan's missing dates filled in."""
    today = timing.local_day(now, account.time_zone)
    filled = replace(
        account, next_due_date=account.next_due_date or today + timedelta(days=3),
        past_due_since=account.past_due_since or today - timedelta(days=1),
        autopay=kind == "autopay_failed" or (account.autopay and kind != "due_today"),
        autopay_failed_on=account.autopay_failed_on or today, payoff_letter_ready_on=account.payoff_letter_ready_on
        or today,
    )
    for offset in range(-30, 60):
        found = due_reminders(filled, today=today + timedelta(days=offset), due_soon_days=3, kinds=frozenset({kind}))
        if found:
            return found[0]
    raise NotFoundError(f"no {kind} reminder can be built for this loan", target_id=account.loan_id)


def send_demo(session: Session, *, account: ReminderAccount, kind: str, now: datetime, settings: ReminderSettings,
              gateway: NotifierSettings, templates: ReminderTemplates, clock: object) -> int:
    if kind not in KINDS:
        raise NotFoundError(f"kind must be one of {', '.join(KINDS)}", target_id=kind)
    due = _demo_due(account, kind, now)
    n = session.scalar(select(func.count()).select_from(Reminder).where(Reminder.loan_id == account.loan_id)) or 0
    row = Reminder(
        idempotency_key=f"{account.loan_id}:{due.about.isoformat()}:{kind}:demo-{n + 1}",
        borrower_id=account.borrower_id, loan_id=account.loan_id, kind=kind, due_on=due.about,
        lang=account.language, time_zone=account.time_zone, data=due.data, status=PLANNED, planned_at=now,
        not_before=now, expires_at=now + timedelta(days=7),
    )
    session.add(row)
    session.flush()
    anytime = settings.model_copy(update={"REMINDER_QUIET_START": "00:00", "REMINDER_QUIET_END": "00:00",
                                          "REMINDER_MAX_PER_DAY": 20})
    sender.send_one(session, reminder_id=row.id, now=now, settings=anytime, gateway=gateway, templates=templates,
                    clock=clock)
    return row.id
