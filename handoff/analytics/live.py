"""The number this product exists to keep at zero: borrowers waiting for a person who has not answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters, seconds
from handoff.infra.clock import as_utc
from handoff.models import QueueEntry
from handoff.states import QueueStatus


def waiting_since(entry: QueueEntry) -> datetime | None:
    """Since when the borrower of an active entry has been waiting for a person's answer, or None when a
    person has answered everything they said: no first reply yet counts from the handoff; after it, from a
    borrower message newer than the last reply."""
    if entry.first_agent_reply_at is None:
        return as_utc(entry.enqueued_at)
    borrower, agent = entry.last_borrower_msg_at, entry.last_agent_reply_at
    if borrower is not None and (agent is None or as_utc(borrower) > as_utc(agent)):
        return as_utc(borrower)
    return None


def unanswered(session: Session, *, filters: Filters, now: datetime) -> dict[str, Any]:
    """Borrowers in the queue or with an agent who are waiting for an answer now, and the oldest wait;
    the language and channel filters apply, the date range does not (it is live)."""
    query = select(QueueEntry).where(QueueEntry.status.in_([QueueStatus.WAITING, QueueStatus.ASSIGNED]))
    found = session.scalars(filters.scope(query, QueueEntry)).all()
    waits = [(entry, seconds(now, since)) for entry in found if (since := waiting_since(entry)) is not None]
    oldest = max(waits, key=lambda pair: pair[1], default=None)
    return {
        "count": len(waits),
        "in_queue": sum(1 for entry, _ in waits if entry.status == QueueStatus.WAITING),
        "with_agent": sum(1 for entry, _ in waits if entry.status == QueueStatus.ASSIGNED),
        "oldest_wait_s": round(oldest[1]) if oldest else None,
        "oldest_entry_id": oldest[0].id if oldest else None,
        "at": now.isoformat(),
    }
