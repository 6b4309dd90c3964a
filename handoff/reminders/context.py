"""The reminder a borrower answers: a borrower message in a conversation that got a reminder recently is a
reply to it (counted for the dashboard), and a chat that goes to an agent carries the reminder in its packet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.infra.clock import as_utc
from handoff.models import Reminder
from handoff.reminders.planner import SENT

REPLY_WINDOW = timedelta(days=3)  # a message later than this is a new subject, not an answer


def latest_reminder(session: Session, *, conversation_id: str, now: datetime) -> Reminder | None:
    """The newest reminder delivered into the conversation within REPLY_WINDOW."""
    row = session.scalars(
        select(Reminder).where(Reminder.conversation_id == conversation_id, Reminder.status == SENT,
                               Reminder.message_seq.is_not(None))
        .order_by(Reminder.message_seq.desc()).limit(1)
    ).first()
    if row is None or row.sent_at is None or now - as_utc(row.sent_at) > REPLY_WINDOW:
        return None
    return row


def note_reply(session: Session, *, conversation_id: str, seq: int, now: datetime) -> Reminder | None:
    """A borrower message `seq` after a recent reminder answers it; the first one is recorded as the reply."""
    row = latest_reminder(session, conversation_id=conversation_id, now=now)
    if row is None or row.message_seq is None or row.message_seq >= seq:
        return None
    if row.replied_at is None:
        row.replied_at = now
    return row


def packet_section(session: Session, *, conversation_id: str, now: datetime) -> dict[str, Any] | None:
    """`packet["reminder"]`: what the borrower was reminded of, for the agent who takes the chat."""
    row = latest_reminder(session, conversation_id=conversation_id, now=now)
    if row is None:
        return None
    return {
        "id": row.id, "kind": row.kind, "loan": row.data.get("loan"), "due_on": row.due_on.isoformat(),
        "amount": row.data.get("amount") or row.data.get("amount_past_due"), "currency": row.data.get("currency"),
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None, "message_seq": row.message_seq,
        "replied": row.replied_at is not None,
    }
