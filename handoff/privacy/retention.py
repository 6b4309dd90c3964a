"""Retention: the purge job that forgets personal data after the configured number of days.

- RETENTION_MESSAGES_DAYS: a conversation silent that long (last message, or creation) and no longer in
  the queue is erased whole (`erasure.erase_conversation`: messages, notes, queue entries, callbacks; the
  audit trail is anonymised). The same period deletes finished repayment reminders (a key stays while it could
  still be planned again) and notifications sent, dead or skipped that long ago (`outbound.purge_old`).
- RETENTION_CALLBACKS_DAYS: callback requests done that long ago lose their row (the contact details).
- RETENTION_CLIENT_ADDR_DAYS: conversations created that long ago forget the client address.
- RETENTION_TRACKER_DAYS: Rasa's tracker events of conversations silent that long are deleted
  (`handoff.rasa.tracker_store`).
0 keeps the data. `purge` runs one pass in a transaction; `run_forever` repeats it in the service's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.infra.clock import Clock
from handoff.models import CallbackTicket, Conversation, Message, QueueEntry
from handoff.privacy import outbound
from handoff.privacy.erasure import ACTIVE_STATES, erase_conversation
from handoff.queue.entries import ACTIVE_STATUSES
from handoff.rasa.tracker_store import TrackerStore
from handoff.services import Services

log = logging.getLogger(__name__)
BATCH = 500  # conversations erased per pass at most: a long backlog is worked off over several passes


@dataclass
class PurgeReport:
    conversations_erased: list[str] = field(default_factory=list)
    callbacks_deleted: int = 0
    client_addrs_cleared: int = 0
    tracker_events_deleted: int = 0
    reminders_deleted: int = 0
    notifications_deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.conversations_erased or self.callbacks_deleted or self.client_addrs_cleared
                    or self.tracker_events_deleted or self.reminders_deleted or self.notifications_deleted)


def _cutoff(clock: Clock, days: int) -> datetime | None:
    return clock.now() - timedelta(days=days) if days > 0 else None


def _silent_conversations(session: Session, *, before: datetime) -> list[str]:
    last_message = (
        select(Message.conversation_id, func.max(Message.created_at).label("last_at"))
        .group_by(Message.conversation_id).subquery()
    )
    in_queue = select(QueueEntry.conversation_id).where(QueueEntry.status.in_([str(s) for s in ACTIVE_STATUSES]))
    query = (
        select(Conversation.id)
        .outerjoin(last_message, last_message.c.conversation_id == Conversation.id)
        .where(
            func.coalesce(last_message.c.last_at, Conversation.created_at) < before,
            Conversation.state.not_in([str(s) for s in ACTIVE_STATES]),
            Conversation.id.not_in(in_queue),
        )
        .order_by(Conversation.id)
        .limit(BATCH)
    )
    return list(session.scalars(query))


def purge(session: Session, *, clock: Clock, settings: Any) -> PurgeReport:
    """One pass over the service database (the tracker store is `purge_tracker`)."""
    report = PurgeReport()
    if (before := _cutoff(clock, settings.RETENTION_MESSAGES_DAYS)) is not None:
        for conversation_id in _silent_conversations(session, before=before):
            erase_conversation(session, conversation_id=conversation_id, actor_type="system")
            report.conversations_erased.append(conversation_id)
        # After the erasures, in their lock order (conversations, reminders, notifications).
        old = outbound.purge_old(session, before=before, now=clock.now())
        report.reminders_deleted, report.notifications_deleted = old.reminders, old.notifications
    if (before := _cutoff(clock, settings.RETENTION_CALLBACKS_DAYS)) is not None:
        done = session.scalars(select(CallbackTicket).where(
            CallbackTicket.status == "done", CallbackTicket.created_at < before)).all()
        for ticket in done:
            session.delete(ticket)
        report.callbacks_deleted = len(done)
    if (before := _cutoff(clock, settings.RETENTION_CLIENT_ADDR_DAYS)) is not None:
        cleared = session.execute(
            update(Conversation).where(Conversation.created_at < before, Conversation.client_addr.is_not(None))
            .values(client_addr=None).execution_options(synchronize_session=False)
        )
        report.client_addrs_cleared = int(cleared.rowcount or 0)  # type: ignore[attr-defined]
    return report


def purge_tracker(tracker: TrackerStore | None, *, clock: Clock, settings: Any) -> int:
    before = _cutoff(clock, settings.RETENTION_TRACKER_DAYS)
    if tracker is None or before is None:
        return 0
    return tracker.purge_silent(before=before)


async def run_forever(svc: Services, tracker: TrackerStore | None) -> None:
    """Purge every RETENTION_PURGE_INTERVAL_S until cancelled; a failing pass is logged and retried."""
    while True:
        try:
            report = await svc.db(lambda s: purge(s, clock=svc.clock, settings=svc.settings), offload=True)
            report.tracker_events_deleted = await asyncio.to_thread(
                purge_tracker, tracker, clock=svc.clock, settings=svc.settings)
            if report.changed:  # counts only: the ids of erased conversations are not logged
                log.info("retention: %d conversations erased, %d callbacks deleted, %d client addresses "
                         "cleared, %d tracker events deleted, %d reminders and %d notifications deleted",
                         len(report.conversations_erased), report.callbacks_deleted, report.client_addrs_cleared,
                         report.tracker_events_deleted, report.reminders_deleted, report.notifications_deleted)
        except asyncio.CancelledError:
            raise
        except DATABASE_DOWN_ERRORS as exc:
            log.warning("retention pass skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:  # one bad pass must not stop the job; the next one retries
            log.exception("retention pass failed")
        await asyncio.sleep(svc.settings.RETENTION_PURGE_INTERVAL_S)
