"""Where conversations went: containment (the bot alone), handoffs by reason, abandonment, callbacks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters, share
from handoff.models import CallbackTicket, Complaint, Conversation, QueueEntry

LEFT_QUEUE: Final = "borrower_left"  # handoff/queue/entries.py leave_queue
CALLBACK_OVERDUE_AFTER: Final = timedelta(hours=24)  # an open callback older than this is overdue


def containment(session: Session, *, filters: Filters) -> dict[str, Any]:
    """Conversations started in the range in which anything was said (`last_seq > 0`), and how many of them
    the bot handled with no person: no queue entry ever."""
    # IN (subquery), not a correlated EXISTS: queue_entries has no plain index on conversation_id, and both
    # databases turn this into one hashed semi-join instead of a probe per conversation.
    handed = Conversation.id.in_(select(QueueEntry.conversation_id))
    total, handed_off = session.execute(
        select(func.count(), func.coalesce(func.sum(case((handed, 1), else_=0)), 0)).where(
            Conversation.last_seq > 0, *filters.between(Conversation.created_at), *filters.conversation_terms()
        )
    ).one()
    contained = int(total) - int(handed_off)
    return {"conversations": int(total), "contained": contained, "handed_off": int(handed_off),
            "rate": share(contained, int(total))}


def handoffs_by_reason(session: Session, *, filters: Filters) -> list[dict[str, Any]]:
    """Queue entries created in the range, per reason, most first."""
    query = select(QueueEntry.reason, func.count()).where(*filters.between(QueueEntry.enqueued_at))
    rows = session.execute(
        filters.by_team(filters.scope(query, QueueEntry), QueueEntry).group_by(QueueEntry.reason).order_by(func.count().desc(), QueueEntry.reason)
    ).all()
    return [{"reason": reason, "count": int(count)} for reason, count in rows]


def abandonment(session: Session, *, filters: Filters) -> dict[str, Any]:
    """Of the entries created in the range, how many borrowers left the queue before a person answered."""
    left = and_(QueueEntry.resolution_code == LEFT_QUEUE, QueueEntry.first_agent_reply_at.is_(None))
    query = select(func.count(), func.coalesce(func.sum(case((left, 1), else_=0)), 0)).select_from(QueueEntry)
    total, abandoned = session.execute(
        filters.scope(query.where(*filters.between(QueueEntry.enqueued_at)), QueueEntry)
    ).one()
    return {"handoffs": int(total), "abandoned": int(abandoned), "rate": share(int(abandoned), int(total))}


def callbacks(session: Session, *, filters: Filters, now: datetime) -> dict[str, Any]:
    """Callback tickets now open (or being worked), how many of them are overdue (past their `due_at`, or
    older than `CALLBACK_OVERDUE_AFTER` when they have none), and how many were requested in the range."""
    overdue = or_(and_(CallbackTicket.due_at.is_not(None), CallbackTicket.due_at < now),
                  and_(CallbackTicket.due_at.is_(None), CallbackTicket.created_at < now - CALLBACK_OVERDUE_AFTER))
    is_open = CallbackTicket.status.in_(("open", "in_progress"))
    opened, late = session.execute(filters.by_team(filters.scope(
        select(func.count(), func.coalesce(func.sum(case((overdue, 1), else_=0)), 0))
        .select_from(CallbackTicket).where(is_open), CallbackTicket), CallbackTicket)
    ).one()
    requested = session.scalar(filters.by_team(filters.scope(
        select(func.count()).select_from(CallbackTicket).where(*filters.between(CallbackTicket.created_at)),
        CallbackTicket), CallbackTicket))
    return {"open": int(opened), "overdue": int(late), "requested": int(requested or 0),
            "overdue_after_h": int(CALLBACK_OVERDUE_AFTER.total_seconds() // 3600)}


def complaints(session: Session, *, filters: Filters, now: datetime) -> dict[str, Any]:
    """Complaints now unresolved, how many are past their due date, and how many were opened in the range."""
    unresolved = Complaint.status != "resolved"
    late = case((Complaint.due_at < now, 1), else_=0)
    opened, overdue = session.execute(filters.by_team(filters.scope(
        select(func.count(), func.coalesce(func.sum(late), 0)).select_from(Complaint).where(unresolved), Complaint),
        Complaint)).one()
    new = session.scalar(filters.by_team(filters.scope(
        select(func.count()).select_from(Complaint).where(*filters.between(Complaint.opened_at)), Complaint),
        Complaint))
    return {"open": int(opened), "overdue": int(overdue), "opened": int(new or 0)}
