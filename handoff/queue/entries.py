"""The agent queue as the borrower side sees it: join, position, estimated wait, leave, callback.

The agents' operations on entries (claim, take next, release, transfer, close, hand back) live in
`handoff.queue.claims`. Every function here works inside the caller's transaction and never commits.

Entry statuses (`QueueStatus`): waiting -> assigned -> waiting | done; waiting -> callback | done;
callback -> waiting | done. At most one active (waiting/assigned/callback) entry per conversation,
guaranteed by a partial unique index, so concurrent handoffs of one conversation cannot both insert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.codes import Priority
from handoff.conversations.lifecycle import change_state
from handoff.conversations.place import STAFF_ROLES, Arrival
from handoff.conversations.records import holds_row_lock
from handoff.infra.clock import Clock
from handoff.models import Agent, CallbackTicket, Conversation, QueueEntry
from handoff.queue.hours import parse_business_hours
from handoff.states import PRIORITY_RANK, ConversationState, QueueStatus

ACTIVE_STATUSES = (QueueStatus.WAITING, QueueStatus.ASSIGNED, QueueStatus.CALLBACK)


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
    preferred_agent_id: int | None = None,
    preferred_until: datetime | None = None,
    arrival: Arrival | None = None,
) -> QueueEntry:
    """Put a conversation in the queue (bot -> queued). Idempotent: returns the active entry if any.
    `preferred_agent_id` may take it before anyone else until `preferred_until` (`handoff.queue.routing`).
    `arrival`: filled in by the read of its place in line when it moves to the queue (`place.Arrival`)."""
    _lock(session, conversation.id)
    existing = active_entry(session, conversation_id=conversation.id)
    if existing is not None:
        if existing.status == QueueStatus.CALLBACK:
            # The borrower asks for a person again while a callback is pending: wait in line again,
            # keeping the original place (enqueued_at), and keep the ticket open.
            existing.status = QueueStatus.WAITING
            existing.version += 1
            _move(session, conversation, ConversationState.QUEUED, "borrower", reason=reason, clock=clock, entry=existing,
                  arrival=arrival)
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
        preferred_agent_id=preferred_agent_id,
        preferred_until=preferred_until,
    )
    # No SAVEPOINT for a unique-index race: every insert of an entry (here and `create_callback`) holds the
    # conversation's row lock (`_lock`) before it looks for the active entry, and on PostgreSQL (READ COMMITTED)
    # that look sees what the lock's previous holder committed; SQLite's BEGIN IMMEDIATE serialises writers.
    session.add(entry)
    session.flush()  # its id: the place in line (`place.position_and_wait`) orders by it
    _move(session, conversation, ConversationState.QUEUED, "bot", reason=reason, clock=clock, entry=entry,
          arrival=arrival)
    return entry


def set_priority(entry: QueueEntry, priority: Priority | str) -> None:
    """The entry's priority, its queue rank and its packet's `priority` together: the card and the
    packet always say the same."""
    entry.priority = str(Priority(priority))
    entry.priority_rank = PRIORITY_RANK[Priority(priority)]
    if entry.packet is not None and entry.packet.get("priority") != entry.priority:
        entry.packet = {**entry.packet, "priority": entry.priority}


def _lock(session: Session, conversation_id: str) -> None:
    """The conversation row before any entry row (see `claims.lock_conversation`); nothing on SQLite, which
    has no row locks (BEGIN IMMEDIATE already serialises writers), so no statement is sent there; nor when
    this transaction already holds the lock (a handoff turn has just stored the bot's messages)."""
    if session.get_bind().dialect.name == "sqlite" or holds_row_lock(session, conversation_id=conversation_id):
        return
    session.execute(
        select(Conversation.id).where(Conversation.id == conversation_id).with_for_update(key_share=True)
    )


def _move(
    session: Session, conversation: Conversation, target: ConversationState, actor_type: str, *,
    actor_id: str | None = None, reason: str | None = None, clock: Clock | None = None,
    entry: QueueEntry | None = None, arrival: Arrival | None = None,
) -> None:
    if conversation.state != target:
        change_state(
            session, conversation=conversation, target=target, actor_type=actor_type, actor_id=actor_id,
            reason=reason, clock=clock, entry=entry, arrival=arrival,
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
    reference: str | None = None,
    contact_encrypted: str | None = None,
    due_at: datetime | None = None,
) -> CallbackTicket:
    """A callback ticket replaces the wait (queued -> bot); the entry stays visible as 'callback'.

    `contact` must already be masked by the caller; the full one only arrives encrypted.
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
        reference=reference,
        contact_encrypted=contact_encrypted,
        due_at=due_at,
    )
    session.add(ticket)
    conversation.assigned_agent_id = None
    _move(session, conversation, ConversationState.BOT, "borrower", reason="callback_requested")
    session.flush()
    return ticket


def presence_cutoff(clock: Clock, settings: Any) -> Any:
    return clock.now() - timedelta(seconds=settings.AGENT_PRESENCE_TIMEOUT_S)


def agents_available(
    session: Session, *, lang: str, clock: Clock, settings: Any, languages: list[str] | None = None
) -> bool:
    """True when it is business hours and at least one agent speaking `lang` is online and seen lately.
    `languages`: those agents' languages, when the caller has read them along (`place.Arrival`)."""
    hours = parse_business_hours(settings.BUSINESS_HOURS, settings.BUSINESS_TZ)
    if not hours.is_open(clock.now()):
        return False
    if languages is None:
        languages = list(session.scalars(
            select(Agent.languages).where(
                Agent.status == "online",
                Agent.role.in_([str(r) for r in STAFF_ROLES]),
                Agent.last_seen_at >= presence_cutoff(clock, settings),
            )
        ).all())
    return any(lang in spoken.split(",") for spoken in languages)
