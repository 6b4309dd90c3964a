"""A waiting borrower's page is still there: each poll, WebSocket connection or ping marks the queue entry
(`borrower_seen_at`, at most once a minute per conversation and replica, so that polling costs no write
each time). The follow-up loop closes chats whose borrower has been gone BORROWER_ABANDON_AFTER_S."""

from __future__ import annotations

import time

from sqlalchemy import update
from sqlalchemy.orm import Session

from handoff.models import QueueEntry
from handoff.services import Services
from handoff.states import QueueStatus

MARK_EVERY_S = 60.0
MAX_MARKS = 50_000  # forget them all rather than grow without bound


def _mark(session: Session, *, conversation_id: str, svc: Services) -> None:
    session.execute(
        update(QueueEntry)
        .where(QueueEntry.conversation_id == conversation_id, QueueEntry.status == QueueStatus.WAITING)
        .values(borrower_seen_at=svc.clock.now())
        .execution_options(synchronize_session=False)
    )


async def seen(svc: Services, *, conversation_id: str, state: str | None = None) -> None:
    """The borrower of `conversation_id` is present (skipped unless `state` is None or queued)."""
    if state not in (None, "queued"):
        return
    now = time.monotonic()
    last = svc.seen_marks.get(conversation_id)
    if last is not None and now - last < MARK_EVERY_S:
        return
    if len(svc.seen_marks) >= MAX_MARKS:
        svc.seen_marks.clear()
    svc.seen_marks[conversation_id] = now
    await svc.db(lambda s: _mark(s, conversation_id=conversation_id, svc=svc))
