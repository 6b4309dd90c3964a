"""The reminder a borrower answers: a borrower message in the conversation after a reminder (and before the
next one) is a reply to it. Worked out from the stored messages, so the turn's own writes stay as they are;
a chat that goes to an agent carries the reminder in its packet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.infra.clock import as_utc
from handoff.models import Message, Reminder
from handoff.reminders.planner import SENT
from handoff.states import Sender

REPLY_WINDOW = timedelta(days=3)  # a handoff later than this is a new subject, not about the reminder


def newest_reminder_id(conversation_id: Any) -> Any:
    """The id of the newest reminder delivered into the conversation (a scalar subquery), for a statement
    that reads the reminder along with something else (`handoff.borrower.packets.history`)."""
    return (
        select(Reminder.id).where(Reminder.conversation_id == conversation_id, Reminder.status == SENT,
                                  Reminder.message_seq.is_not(None))
        .order_by(Reminder.message_seq.desc()).limit(1).scalar_subquery()
    )


def within_window(row: Reminder | None, *, now: datetime) -> Reminder | None:
    """`row` (the newest reminder delivered) if the borrower may still be answering it, else None."""
    if row is None or row.sent_at is None or now - as_utc(row.sent_at) > REPLY_WINDOW:
        return None
    return row


def latest_reminder(session: Session, *, conversation_id: str, now: datetime) -> Reminder | None:
    """The newest reminder delivered into the conversation within REPLY_WINDOW."""
    row = session.scalars(
        select(Reminder).where(Reminder.conversation_id == conversation_id, Reminder.status == SENT,
                               Reminder.message_seq.is_not(None))
        .order_by(Reminder.message_seq.desc()).limit(1)
    ).first()
    return within_window(row, now=now)


def replied(session: Session, reminders: Sequence[Reminder]) -> set[int]:
    """Ids of the reminders the borrower answered: wrote in that conversation after it, before the next one."""
    placed = [r for r in reminders if r.conversation_id is not None and r.message_seq is not None]
    if not placed:
        return set()
    conversations = {r.conversation_id for r in placed}
    borrower_seqs: dict[str, list[int]] = defaultdict(list)
    for conversation_id, seq in session.execute(
        select(Message.conversation_id, Message.seq).where(
            Message.conversation_id.in_(conversations), Message.sender == Sender.BORROWER)
    ):
        borrower_seqs[conversation_id].append(seq)
    reminder_seqs: dict[str, list[int]] = defaultdict(list)
    for other_conversation, other_seq in session.execute(
        select(Reminder.conversation_id, Reminder.message_seq).where(
            Reminder.conversation_id.in_(conversations), Reminder.message_seq.is_not(None))
    ):
        if other_conversation is not None and other_seq is not None:
            reminder_seqs[other_conversation].append(other_seq)
    answered = set()
    for row in placed:
        assert row.conversation_id is not None and row.message_seq is not None
        later = [s for s in reminder_seqs[row.conversation_id] if s > row.message_seq]
        until = min(later, default=None)
        if any(s > row.message_seq and (until is None or s < until) for s in borrower_seqs[row.conversation_id]):
            answered.add(row.id)
    return answered


def packet_section(
    session: Session, *, conversation_id: str, now: datetime, read: tuple[Reminder | None] | None = None
) -> dict[str, Any] | None:
    """`packet["reminder"]`: what the borrower was reminded of, for the agent who takes the chat. `read`: the
    newest reminder delivered (`newest_reminder_id`), when the caller's statement has read it along."""
    row = latest_reminder(session, conversation_id=conversation_id, now=now) if read is None else (
        within_window(read[0], now=now)
    )
    if row is None:
        return None
    return {
        "id": row.id, "kind": row.kind, "loan": row.data.get("loan"), "due_on": row.due_on.isoformat(),
        "amount": row.data.get("amount") or row.data.get("amount_past_due"), "currency": row.data.get("currency"),
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None, "message_seq": row.message_seq,
        "replied": row.id in replied(session, [row]),
    }
