"""The queue as the metrics see it: chats waiting per language and the longest current wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.infra.clock import as_utc
from handoff.infra.metrics import WaitingLine
from handoff.models import QueueEntry
from handoff.states import QueueStatus


def waiting_lines(session: Session, *, now: datetime) -> list[WaitingLine]:
    """One `WaitingLine` per language with chats waiting (none waiting: an empty list)."""
    rows = session.execute(
        select(QueueEntry.lang, func.count(), func.min(QueueEntry.enqueued_at))
        .where(QueueEntry.status == QueueStatus.WAITING)
        .group_by(QueueEntry.lang)
    ).all()
    return [
        WaitingLine(lang=lang, depth=int(count), oldest_wait_s=max(0.0, (now - as_utc(oldest)).total_seconds()))
        for lang, count, oldest in rows
    ]
