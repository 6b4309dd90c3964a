"""What went out to the borrower outside the chat tables: repayment reminders (`reminders`) and the
notifications for the lender's push/SMS/WeChat gateway (`notifications`). Neither has a foreign key to
`conversations` (a reminder exists before it finds a conversation; a notification may have none), so
`erasure.conversation_tables` does not see them; this module is what erasure and retention do with them.

Erasure of a conversation (`forget_conversation`):
- a reminder delivered into it keeps a key-only row: its `idempotency_key` (loan:due date:kind) must
  survive, or the next planner pass would plan, and send, the same reminder again. Its template data (masked
  loan number, amount, dates) is cleared, the conversation id unset, `reason` = "erased". `borrower_id`,
  `loan_id`, `kind`, `due_on`, status and times stay: the lender's own identifiers, not chat content, and
  the frequency cap and the dashboard count with them. `message_seq` stays as the mark "delivered into a
  chat" (no conversation to resolve it against any more), so `deliver_pending` never delivers it again.
- a notification of the conversation (its `conversation_id`, or the notification of one of those
  reminders) is scrubbed, not deleted: the dashboard counts delivery per status. Payload, borrower id and
  conversation id go; event, status, attempts and times stay. One not delivered yet (queued, failed) is
  never sent: it becomes `skipped` with reason "erased" (the notifier records nothing over a row that is no
  longer queued or failed, so an attempt in flight at that moment cannot bring it back).
Push devices have a foreign key and are deleted with the other rows of the conversation.

Retention (`purge_old`, the period RETENTION_MESSAGES_DAYS): notifications sent, dead or skipped before the
cut-off are deleted, and reminders planned before it that are finished (sent, suppressed, expired,
cancelled), but a key stays while it could still be planned again: until `kinds.KEY_WINDOW_DAYS` (plus a
day either way for time zones) after the date it is about, whatever the period.

Locking (PostgreSQL): the caller has locked the conversation row first (`erasure`); then reminders, then
notifications, the order of the reminder sender (conversation, reminder, notification). The notifier locks
notification rows only, in short transactions, so neither waits on the other in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from handoff.infra import notifier
from handoff.models import Notification, Reminder
from handoff.reminders import kinds, planner

ERASED = "erased"
ERASED_PAYLOAD = {ERASED: True}
FINISHED_REMINDERS = (planner.SENT, planner.SUPPRESSED, planner.EXPIRED, planner.CANCELLED)
FINISHED_NOTIFICATIONS = (notifier.SENT, notifier.DEAD, notifier.SKIPPED)
UNDELIVERED = (notifier.QUEUED, notifier.FAILED)
TIME_ZONE_SLACK = timedelta(days=2)


@dataclass
class OutboundReport:
    reminders: int = 0
    notifications: int = 0


def forget_conversation(session: Session, *, conversation_id: str) -> OutboundReport:
    """Scrub the conversation's reminders (key-only rows) and notifications; in the caller's transaction,
    after it locked the conversation row."""
    linked = session.execute(
        select(Reminder.id, Reminder.notification_id).where(Reminder.conversation_id == conversation_id)
        .order_by(Reminder.id).with_for_update()
    ).all()
    report = OutboundReport(reminders=len(linked))
    if linked:
        session.execute(
            update(Reminder).where(Reminder.id.in_([row.id for row in linked]))
            .values(data={}, conversation_id=None, reason=ERASED).execution_options(synchronize_session=False)
        )
    via_reminders = [row.notification_id for row in linked if row.notification_id is not None]
    mine = or_(Notification.conversation_id == conversation_id, Notification.id.in_(via_reminders))
    ids = list(session.scalars(select(Notification.id).where(mine).order_by(Notification.id).with_for_update()))
    if ids:
        scrub = {"payload": ERASED_PAYLOAD, "borrower_id": None, "conversation_id": None}
        session.execute(update(Notification).where(Notification.id.in_(ids), Notification.status.in_(UNDELIVERED))
                        .values(**scrub, status=notifier.SKIPPED, last_error=ERASED)
                        .execution_options(synchronize_session=False))
        session.execute(update(Notification).where(Notification.id.in_(ids)).values(**scrub)
                        .execution_options(synchronize_session=False))
    report.notifications = len(ids)
    return report


def key_floor(now: datetime) -> date:
    """Reminders about a date before this one can never be due again: their keys may go."""
    return (now - timedelta(days=kinds.KEY_WINDOW_DAYS) - TIME_ZONE_SLACK).date()


def purge_old(session: Session, *, before: datetime, now: datetime) -> OutboundReport:
    """Delete finished reminders and notifications older than `before`."""
    reminders = session.execute(delete(Reminder).where(
        Reminder.status.in_(FINISHED_REMINDERS), Reminder.planned_at < before, Reminder.due_on < key_floor(now),
    ).execution_options(synchronize_session=False))
    finished_at = func.coalesce(Notification.sent_at, Notification.dead_at, Notification.created_at)
    notifications = session.execute(delete(Notification).where(
        Notification.status.in_(FINISHED_NOTIFICATIONS), finished_at < before,
    ).execution_options(synchronize_session=False))
    return OutboundReport(reminders=int(reminders.rowcount or 0),  # type: ignore[attr-defined]
                          notifications=int(notifications.rowcount or 0))  # type: ignore[attr-defined]
