"""What must not be forgotten once the chat itself has moved on: overdue callbacks escalate, completed
callbacks' contacts are purged after the retention period, overdue complaints alert supervisors, and a
waiting chat whose borrower has left is closed as abandoned instead of waiting "SLA breached" forever.

`check` is one pass in one transaction (times from the injected clock); `run_forever` repeats it. Every
step is guarded by a marker column, so passes on two replicas do nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import audit, texts
from handoff.conversations import place
from handoff.conversations.lifecycle import change_state
from handoff.conversations.records import append_message
from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.infra.bus import AGENTS_TOPIC
from handoff.infra.clock import Clock, as_utc
from handoff.infra.outbox import publish_after_commit
from handoff.infra.webhooks import queue_webhook
from handoff.models import Conversation, QueueEntry
from handoff.queue import callbacks, claims, complaints
from handoff.states import ConversationState, QueueStatus, Sender

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_S = 15.0


@dataclass
class FollowUpReport:
    callbacks_overdue: list[int] = field(default_factory=list)
    contacts_purged: int = 0
    complaints_overdue: list[int] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.callbacks_overdue or self.contacts_purged or self.complaints_overdue or self.abandoned)


def _last_sign_of_life(entry: QueueEntry) -> datetime:
    times = [entry.enqueued_at, entry.last_borrower_msg_at, entry.borrower_seen_at]
    return max(as_utc(t) for t in times if t is not None)


def _close_abandoned(session: Session, *, clock: Clock, settings: Any, report: FollowUpReport) -> None:
    cutoff = clock.now() - timedelta(seconds=settings.BORROWER_ABANDON_AFTER_S)
    stale = select(QueueEntry).where(
        QueueEntry.status == QueueStatus.WAITING,
        func.coalesce(QueueEntry.borrower_seen_at, QueueEntry.enqueued_at) < cutoff,
    )
    for entry in session.scalars(stale).all():
        if _last_sign_of_life(entry) >= cutoff:
            continue
        claims.lock_conversation(session, conversation_id=entry.conversation_id)
        session.refresh(entry)
        if entry.status != QueueStatus.WAITING:
            continue
        conversation = session.get(Conversation, entry.conversation_id)
        if conversation is None or conversation.state != ConversationState.QUEUED:
            continue
        entry.status = QueueStatus.DONE
        entry.resolution_code = "abandoned"
        entry.closed_at = clock.now()
        entry.version += 1
        append_message(session, conversation_id=conversation.id, sender=Sender.SYSTEM,
                       text=texts.text("abandoned", conversation.lang), payload={"custom": {"type": "abandoned"}})
        change_state(session, conversation=conversation, target=ConversationState.CLOSED, actor_type="system",
                     actor_id=None, reason="abandoned")
        report.abandoned.append(conversation.id)


def _escalate_callbacks(session: Session, *, clock: Clock, settings: Any, report: FollowUpReport) -> None:
    for ticket in callbacks.escalate_overdue(session, clock=clock):
        data = callbacks.ticket_dict(ticket)
        publish_after_commit(session, AGENTS_TOPIC, {"type": "callback_overdue", **data})
        queue_webhook(session, settings=settings, clock=clock, event="callback_overdue", data=data)
        report.callbacks_overdue.append(ticket.id)


def check(session: Session, *, clock: Clock, settings: Any) -> FollowUpReport:
    report = FollowUpReport()
    _escalate_callbacks(session, clock=clock, settings=settings, report=report)
    report.contacts_purged = callbacks.purge_expired(
        session, clock=clock, retention_days=settings.CALLBACK_RETENTION_DAYS
    )
    report.complaints_overdue = [c.id for c in complaints.notify_overdue(session, settings=settings, clock=clock)]
    _close_abandoned(session, clock=clock, settings=settings, report=report)
    if report.abandoned:
        audit.record(session, actor_type="system", actor_id=None, conversation_id=None, action="abandoned_closed",
                     detail={"conversations": report.abandoned})
        publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
        place.notify_positions(session, clock=clock)
    return report


async def run_forever(svc: Any, *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
    while True:
        try:
            report = await svc.db(lambda s: check(s, clock=svc.clock, settings=svc.settings))
            if report.changed:
                log.info("follow-ups: %s", report)
        except asyncio.CancelledError:
            raise
        except DATABASE_DOWN_ERRORS as exc:
            log.warning("follow-up pass skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:  # one bad pass must not stop the loop; the next one retries
            log.exception("follow-up pass failed")
        await asyncio.sleep(interval_s)
