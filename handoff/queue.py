"""The agent queue as the borrower side sees it: join, position, estimated wait, leave, callback.

The agents' operations on entries (claim, take next, release, transfer, close, hand back) live in
`handoff.claims`. Every function here works inside the caller's transaction and never commits.

Entry statuses (`QueueStatus`): waiting -> assigned -> waiting | done; waiting -> callback | done;
callback -> waiting | done. At most one active (waiting/assigned/callback) entry per conversation,
guaranteed by a partial unique index, so concurrent handoffs of one conversation cannot both insert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.bus import conversation_topic
from handoff.business_hours import parse_business_hours
from handoff.clock import Clock, as_utc
from handoff.conversations import change_state, publish_after_commit
from handoff.models import Agent, CallbackTicket, Conversation, QueueEntry
from handoff.states import PRIORITY_RANK, ConversationState, Priority, QueueStatus, Role

ACTIVE_STATUSES = (QueueStatus.WAITING, QueueStatus.ASSIGNED, QueueStatus.CALLBACK)
DEFAULT_PICKUP_S = 60  # first estimate before any chat has been picked up
DEFAULT_HANDLING_S = 300
RECENT_SAMPLE = 20
STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR)


def active_entry(session: Session, *, conversation_id: str) -> QueueEntry | None:
    return session.scalars(
        select(QueueEntry).where(
            QueueEntry.conversation_id == conversation_id,
            QueueEntry.status.in_([str(s) for s in ACTIVE_STATUSES]),
        )
    ).first()


def enqueue(
    session: Session,
    *,
    conversation: Conversation,
    packet: dict[str, Any],
    reason: str,
    priority: str,
    lang: str,
    summary: str,
    clock: Clock,
) -> QueueEntry:
    """Put a conversation in the queue (bot -> queued). Idempotent: returns the active entry if any."""
    _lock(session, conversation.id)
    existing = active_entry(session, conversation_id=conversation.id)
    if existing is not None:
        if existing.status == QueueStatus.CALLBACK:
            # The borrower asks for a person again while a callback is pending: wait in line again,
            # keeping the original place (enqueued_at), and keep the ticket open.
            existing.status = QueueStatus.WAITING
            existing.version += 1
            _move(session, conversation, ConversationState.QUEUED, "borrower", reason=reason)
        return existing
    rank = PRIORITY_RANK[Priority(priority)]
    entry = QueueEntry(
        conversation_id=conversation.id,
        status=QueueStatus.WAITING,
        reason=reason,
        priority=str(Priority(priority)),
        priority_rank=rank,
        lang=lang,
        summary=summary,
        packet=packet,
        enqueued_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        found = active_entry(session, conversation_id=conversation.id)
        if found is None:
            raise
        return found
    _move(session, conversation, ConversationState.QUEUED, "bot", reason=reason)
    return entry


def _lock(session: Session, conversation_id: str) -> None:
    """The conversation row before any entry row (see `claims.lock_conversation`); a no-op on SQLite."""
    session.execute(
        select(Conversation.id).where(Conversation.id == conversation_id).with_for_update(key_share=True)
    )


def _move(
    session: Session, conversation: Conversation, target: ConversationState, actor_type: str, *,
    actor_id: str | None = None, reason: str | None = None,
) -> None:
    if conversation.state != target:
        change_state(
            session, conversation=conversation, target=target, actor_type=actor_type, actor_id=actor_id,
            reason=reason,
        )


def _waiting_entry(session: Session, conversation_id: str) -> QueueEntry | None:
    return session.scalars(
        select(QueueEntry).where(
            QueueEntry.conversation_id == conversation_id, QueueEntry.status == QueueStatus.WAITING
        )
    ).first()


def _position_of(session: Session, entry: QueueEntry) -> int:
    ahead = session.scalar(
        select(func.count()).select_from(QueueEntry).where(
            QueueEntry.status == QueueStatus.WAITING,
            tuple_(QueueEntry.priority_rank, QueueEntry.enqueued_at, QueueEntry.id)
            < tuple_(literal(entry.priority_rank), literal(entry.enqueued_at, QueueEntry.enqueued_at.type),
                     literal(entry.id)),
        )
    )
    return int(ahead or 0) + 1


def queue_position(session: Session, *, conversation_id: str) -> int | None:
    """1-based place among waiting entries (priority, then waiting time); None when not waiting."""
    session.flush()
    entry = _waiting_entry(session, conversation_id)
    return None if entry is None else _position_of(session, entry)


@dataclass(frozen=True)
class WaitStats:
    """Recent handling: mean seconds to pickup, mean seconds an agent holds a chat, agent slots online."""

    pickup_s: float
    handling_s: float
    slots: int

    def estimate(self, *, position: int, waited_s: float) -> int:
        """Pickup time for the head of the queue; every chat ahead adds one handling time shared among
        the slots online; minus what the borrower already waited. Never zero while still waiting."""
        estimate = self.pickup_s + (position - 1) * self.handling_s / self.slots
        return max(15, math.ceil(estimate - waited_s))


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def wait_stats(session: Session) -> WaitStats:
    picked = session.execute(
        select(QueueEntry.enqueued_at, QueueEntry.assigned_at)
        .where(QueueEntry.assigned_at.is_not(None))
        .order_by(QueueEntry.assigned_at.desc())
        .limit(RECENT_SAMPLE)
    ).all()
    handled = session.execute(
        select(QueueEntry.assigned_at, QueueEntry.closed_at)
        .where(QueueEntry.closed_at.is_not(None), QueueEntry.assigned_at.is_not(None))
        .order_by(QueueEntry.closed_at.desc())
        .limit(RECENT_SAMPLE)
    ).all()
    online = session.scalar(
        select(func.coalesce(func.sum(Agent.max_concurrent), 0)).where(
            Agent.status == "online", Agent.role.in_([str(r) for r in STAFF_ROLES])
        )
    )
    return WaitStats(
        pickup_s=_mean([max(0.0, (as_utc(a) - as_utc(e)).total_seconds()) for e, a in picked], DEFAULT_PICKUP_S),
        handling_s=_mean([max(0.0, (as_utc(c) - as_utc(a)).total_seconds()) for a, c in handled], DEFAULT_HANDLING_S),
        slots=max(1, int(online or 0)),
    )


def estimated_wait_s(session: Session, *, conversation_id: str, clock: Clock) -> int | None:
    """Seconds until an agent is expected to pick this chat up, from recent handling times."""
    session.flush()
    entry = _waiting_entry(session, conversation_id)
    if entry is None:
        return None
    waited = (clock.now() - as_utc(entry.enqueued_at)).total_seconds()
    return wait_stats(session).estimate(position=_position_of(session, entry), waited_s=waited)


def waiting_overview(session: Session, *, clock: Clock) -> dict[str, tuple[int, int]]:
    """Position and estimated wait of every waiting conversation, in two queries plus the stats
    (what `notify_queue_positions` needs after each queue change)."""
    session.flush()
    rows = session.execute(
        select(QueueEntry.conversation_id, QueueEntry.enqueued_at)
        .where(QueueEntry.status == QueueStatus.WAITING)
        .order_by(QueueEntry.priority_rank, QueueEntry.enqueued_at, QueueEntry.id)
    ).all()
    if not rows:
        return {}
    stats = wait_stats(session)
    now = clock.now()
    return {
        conversation_id: (
            position,
            stats.estimate(position=position, waited_s=(now - as_utc(enqueued_at)).total_seconds()),
        )
        for position, (conversation_id, enqueued_at) in enumerate(rows, start=1)
    }


def notify_positions(session: Session, *, clock: Clock) -> None:
    """Queue a `state` event with fresh position and wait for every waiting conversation."""
    for conversation_id, (position, wait) in waiting_overview(session, clock=clock).items():
        publish_after_commit(
            session, conversation_topic(conversation_id),
            {"type": "state", "state": str(ConversationState.QUEUED), "queue_position": position,
             "estimated_wait_s": wait},
        )


def leave_queue(
    session: Session, *, conversation: Conversation, actor_type: str, actor_id: str | None
) -> None:
    """The borrower stops waiting (or leaves the agent): the entry ends and the bot takes over again."""
    _lock(session, conversation.id)
    entry = active_entry(session, conversation_id=conversation.id)
    if entry is not None:
        entry.status = QueueStatus.DONE
        entry.resolution_code = entry.resolution_code or "borrower_left"
        entry.version += 1
    conversation.assigned_agent_id = None
    _move(session, conversation, ConversationState.BOT, actor_type, actor_id=actor_id, reason="borrower_left")


def create_callback(
    session: Session,
    *,
    conversation: Conversation,
    contact_method: str,
    contact: str,
    preferred_time: str,
    clock: Clock,
    reason: str = "explicit_request",
    summary: str = "",
) -> CallbackTicket:
    """A callback ticket replaces the wait (queued -> bot); the entry stays visible as 'callback'.

    `contact` must already be masked by the caller.
    """
    _lock(session, conversation.id)
    entry = active_entry(session, conversation_id=conversation.id)
    if entry is None:
        entry = QueueEntry(
            conversation_id=conversation.id,
            status=QueueStatus.CALLBACK,
            reason=reason,
            priority=str(Priority.NORMAL),
            priority_rank=PRIORITY_RANK[Priority.NORMAL],
            lang=conversation.lang,
            summary=summary,
            packet={},
            enqueued_at=clock.now(),
        )
        session.add(entry)
        session.flush()
    else:
        entry.status = QueueStatus.CALLBACK
        entry.assigned_agent_id = None
        entry.version += 1
    ticket = CallbackTicket(
        conversation_id=conversation.id,
        queue_entry_id=entry.id,
        contact_method=contact_method,
        contact=contact,
        preferred_time=preferred_time,
        lang=conversation.lang,
        created_at=clock.now(),
    )
    session.add(ticket)
    conversation.assigned_agent_id = None
    _move(session, conversation, ConversationState.BOT, "borrower", reason="callback_requested")
    session.flush()
    return ticket


def presence_cutoff(clock: Clock, settings: Any) -> Any:
    return clock.now() - timedelta(seconds=settings.AGENT_PRESENCE_TIMEOUT_S)


def agents_available(session: Session, *, lang: str, clock: Clock, settings: Any) -> bool:
    """True when it is business hours and at least one agent speaking `lang` is online and seen lately."""
    hours = parse_business_hours(settings.BUSINESS_HOURS, settings.BUSINESS_TZ)
    if not hours.is_open(clock.now()):
        return False
    candidates = session.scalars(
        select(Agent).where(
            Agent.status == "online",
            Agent.role.in_([str(r) for r in STAFF_ROLES]),
            Agent.last_seen_at >= presence_cutoff(clock, settings),
        )
    ).all()
    return any(lang in agent.languages.split(",") for agent in candidates)
