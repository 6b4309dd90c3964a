"""What agents do to queue entries: claim, take next, release, transfer/reassign, close, hand back.

Every change is one conditional UPDATE on the entry (`WHERE status = ... [AND assigned_agent_id = ...]`)
and counts as done only if exactly one row changed, so concurrent agents cannot both win, on SQLite
(where `FOR UPDATE` does not exist) as on PostgreSQL. The conversation then follows through
`conversations.change_state`, which checks the state machine and writes the audit row. Functions run
inside the caller's transaction and never commit; an exception leaves the caller to roll back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from handoff import audit
from handoff.conversations.lifecycle import change_state, state_event
from handoff.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from handoff.infra import db
from handoff.infra.bus import conversation_topic
from handoff.infra.clock import Clock
from handoff.infra.outbox import publish_after_commit
from handoff.models import Agent, CallbackTicket, Conversation, QueueEntry
from handoff.queue.errors import (
    AgentUnavailableError,
    AlreadyClaimedError,
    AtCapacityError,
    NotAssignedError,
    NotHolderError,
    WrongLanguageError,
)
from handoff.states import ConversationState, QueueStatus, Role

RESOLUTION_CODES = (
    "resolved",
    "info_provided",
    "payment_arranged",
    "hardship_referred",
    "complaint_logged",
    "callback_done",
    "no_response",
    "duplicate",
    "other",
)
TAKE_NEXT_ATTEMPTS = 5


def is_supervisor(agent: Agent) -> bool:
    return agent.role in (Role.SUPERVISOR, Role.ADMIN)


def agent_languages(agent: Agent) -> list[str]:
    return [lang for lang in agent.languages.split(",") if lang]


def load_count(session: Session, *, agent_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(QueueEntry).where(
                QueueEntry.status == QueueStatus.ASSIGNED, QueueEntry.assigned_agent_id == agent_id
            )
        )
        or 0
    )


def get_entry(session: Session, *, entry_id: int) -> QueueEntry:
    entry = session.get(QueueEntry, entry_id)
    if entry is None:
        raise NotFoundError(f"queue entry {entry_id} does not exist", target_id=entry_id)
    return entry


def check_language(entry: QueueEntry, *, agent: Agent) -> None:
    """Every path that gives a chat to a person (claim, take next, transfer, callback) checks that
    the person takes the chat's language; supervisors' oversight does not extend to talking."""
    if entry.lang not in agent_languages(agent):
        raise WrongLanguageError(
            f"queue entry {entry.id} is in {entry.lang!r}; {agent.username} takes {agent.languages!r}",
            target_id=entry.id,
        )


def held_entry(session: Session, *, conversation_id: str, agent: Agent, holder_only: bool = False) -> QueueEntry:
    """The assigned entry of a conversation that `agent` holds; a supervisor may act on any unless
    `holder_only` (talking to the borrower is for the holder alone)."""
    entry = session.scalars(
        select(QueueEntry).where(
            QueueEntry.conversation_id == conversation_id, QueueEntry.status == QueueStatus.ASSIGNED
        )
    ).first()
    if entry is None:
        raise NotAssignedError(f"conversation {conversation_id} is not held by any agent")
    if entry.assigned_agent_id != agent.id and (holder_only or not is_supervisor(agent)):
        raise NotHolderError(f"conversation {conversation_id} is held by another agent", target_id=conversation_id)
    return entry


def restart_sla_clock(clock: Clock) -> dict[str, Any]:
    """The entry columns that make the first-reply SLA clock run again from now."""
    return {"sla_clock_started_at": clock.now(), "first_agent_reply_at": None, "sla_warned_at": None,
            "sla_breached_at": None}


def _check_capacity(session: Session, *, agent: Agent) -> None:
    """Refuse a chat past the agent's limit. On PostgreSQL two claims by one agent at once would both
    count the old load, so the count runs under a per-agent advisory lock held to the end of the
    transaction (an advisory lock, not the agent row: the SLA pass updates agent rows before it locks
    conversations, and claims lock the conversation first). SQLite's writers are serialised anyway."""
    db.advisory_lock(session, db.LOCK_AGENT_CAPACITY, agent.id)
    if load_count(session, agent_id=agent.id) >= agent.max_concurrent:
        raise AtCapacityError(f"agent {agent.username} already holds {agent.max_concurrent} chats", target_id=agent.id)


def lock_conversation(session: Session, *, conversation_id: str, skip_locked: bool = False) -> bool:
    """Take the conversation's row lock first, before any queue entry row, in every write path.

    Borrower turns update the conversation (next seq) before its entry; locking in the same order
    here keeps PostgreSQL free of deadlocks. `FOR NO KEY UPDATE` so that inserts of messages and
    entries (foreign-key checks) are not blocked. SQLite has no row locks: BEGIN IMMEDIATE already
    serialises writers, and the call is a no-op. Returns False only when `skip_locked` skipped it.
    """
    locked = session.execute(
        select(Conversation.id)
        .where(Conversation.id == conversation_id)
        .with_for_update(key_share=True, skip_locked=skip_locked)
    ).first()
    return locked is not None


def _conditional_update(session: Session, entry: QueueEntry, where: list[Any], values: dict[str, Any]) -> bool:
    result = session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == entry.id, *where)
        .values(version=QueueEntry.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(entry)
    return True


def _refusal(session: Session, entry: QueueEntry) -> Exception:
    """Why a conditional update on a held entry changed nothing: it is not held, or not by you."""
    session.refresh(entry)
    if entry.status != QueueStatus.ASSIGNED:
        return NotAssignedError(f"queue entry {entry.id} is {entry.status}, not assigned", target_id=entry.id)
    return NotHolderError(f"queue entry {entry.id} is held by another agent", target_id=entry.id)


def _conversation(session: Session, entry: QueueEntry) -> Conversation:
    conversation = session.get(Conversation, entry.conversation_id)
    assert conversation is not None  # foreign key
    session.refresh(conversation)
    return conversation


def _assign(session: Session, *, entry: QueueEntry, agent: Agent, actor: Agent, clock: Clock) -> QueueEntry:
    won = _conditional_update(
        session,
        entry,
        [QueueEntry.status == QueueStatus.WAITING],
        {"status": QueueStatus.ASSIGNED, "assigned_agent_id": agent.id, "assigned_at": clock.now()},
    )
    if not won:
        raise AlreadyClaimedError(f"queue entry {entry.id} is no longer waiting")
    conversation = _conversation(session, entry)
    conversation.assigned_agent_id = agent.id
    change_state(
        session, conversation=conversation, target=ConversationState.ASSIGNED, actor_type="agent",
        actor_id=str(actor.id), reason="claim" if actor.id == agent.id else f"assigned_to:{agent.id}",
    )
    return entry


def _not_reserved_for_another(agent: Agent, now: Any) -> Any:
    return or_(
        QueueEntry.preferred_agent_id.is_(None),
        QueueEntry.preferred_agent_id == agent.id,
        QueueEntry.preferred_until.is_(None),
        QueueEntry.preferred_until <= now,
    )


def _reserved_for_me_first(agent: Agent, now: Any) -> Any:
    return case((and_(QueueEntry.preferred_agent_id == agent.id, QueueEntry.preferred_until > now), 0), else_=1)


def claim(session: Session, *, entry_id: int, agent: Agent, clock: Clock) -> QueueEntry:
    """Claim one waiting entry. Exactly one of several concurrent claimers wins; the others get 409."""
    entry = get_entry(session, entry_id=entry_id)
    if entry.status != QueueStatus.WAITING:
        raise AlreadyClaimedError(f"queue entry {entry_id} is {entry.status}, not waiting")
    check_language(entry, agent=agent)
    lock_conversation(session, conversation_id=entry.conversation_id)  # always before the capacity lock
    _check_capacity(session, agent=agent)
    return _assign(session, entry=entry, agent=agent, actor=agent, clock=clock)


def take_next(session: Session, *, agent: Agent, clock: Clock) -> QueueEntry | None:
    """Claim the first waiting entry in the agent's languages (priority, then waiting time); None if none.
    A key customer's chat waiting for its own manager (`handoff.queue.routing`) comes first for that
    manager and is skipped by everyone else until the wait ends."""
    _check_capacity(session, agent=agent)
    now = clock.now()
    passed: list[int] = []
    for _ in range(TAKE_NEXT_ATTEMPTS):
        # PostgreSQL: concurrent takers skip rows another transaction is claiming. SQLite has no row
        # locks (the clause is dropped); BEGIN IMMEDIATE already serialises writers there.
        candidate = session.scalars(
            select(QueueEntry)
            .where(
                QueueEntry.status == QueueStatus.WAITING,
                QueueEntry.lang.in_(agent_languages(agent)),
                QueueEntry.id.not_in(passed),
                _not_reserved_for_another(agent, now),
            )
            .order_by(_reserved_for_me_first(agent, now), QueueEntry.priority_rank, QueueEntry.enqueued_at,
                      QueueEntry.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            return None
        # Holding the entry, never wait for its conversation (a borrower turn may hold that and want
        # the entry next): skip to the following chat instead.
        if not lock_conversation(session, conversation_id=candidate.conversation_id, skip_locked=True):
            passed.append(candidate.id)
            continue
        try:
            return _assign(session, entry=candidate, agent=agent, actor=agent, clock=clock)
        except AlreadyClaimedError:
            passed.append(candidate.id)
    return None


def reassign(session: Session, *, entry_id: int, to_agent: Agent, actor: Agent, clock: Clock) -> QueueEntry:
    """Transfer a held chat to another agent (holder or supervisor), or a supervisor assigns a waiting one."""
    entry = get_entry(session, entry_id=entry_id)
    lock_conversation(session, conversation_id=entry.conversation_id)
    if to_agent.role not in (Role.AGENT, Role.SUPERVISOR) or to_agent.status != "online":
        raise AgentUnavailableError(f"agent {to_agent.username} is not online to take chats")
    check_language(entry, agent=to_agent)
    _check_capacity(session, agent=to_agent)
    if entry.status == QueueStatus.WAITING:
        if not is_supervisor(actor):
            raise ForbiddenError("only supervisors assign waiting chats to someone else")
        return _assign(session, entry=entry, agent=to_agent, actor=actor, clock=clock)
    if entry.status != QueueStatus.ASSIGNED:
        raise NotAssignedError(f"queue entry {entry_id} is {entry.status}")
    holder = entry.assigned_agent_id
    if holder != actor.id and not is_supervisor(actor):
        raise NotHolderError(f"queue entry {entry_id} is held by another agent")
    won = _conditional_update(
        session,
        entry,
        [QueueEntry.status == QueueStatus.ASSIGNED, QueueEntry.assigned_agent_id == holder],
        {"assigned_agent_id": to_agent.id, "assigned_at": clock.now(), "first_agent_reply_at": None},
    )
    if not won:
        raise ConflictError(f"queue entry {entry_id} changed meanwhile")
    conversation = _conversation(session, entry)
    conversation.assigned_agent_id = to_agent.id
    audit.record(
        session, actor_type="agent", actor_id=str(actor.id), conversation_id=entry.conversation_id,
        action="transfer", from_state=ConversationState.ASSIGNED, to_state=ConversationState.ASSIGNED,
        detail={"from_agent_id": holder, "to_agent_id": to_agent.id},
    )
    # Still `assigned`, but to someone else: the borrower sees the new name, and a socket that was
    # streaming this chat to the previous holder re-checks its right to and drops it.
    publish_after_commit(
        session, conversation_topic(conversation.id), state_event(session, conversation=conversation)
    )
    return entry


def release(
    session: Session, *, entry_id: int, actor_type: str, actor_id: int | None, holder_id: int | None,
    reason: str, clock: Clock,
) -> QueueEntry:
    """Put a held chat back in the queue (keeps its original place). `holder_id` None = any holder.

    The first-reply SLA clock starts again now: the borrower waits for a person anew, whatever the
    previous holder said, so the chat gets its warning and breach like a fresh one."""
    entry = get_entry(session, entry_id=entry_id)
    lock_conversation(session, conversation_id=entry.conversation_id)
    where = [QueueEntry.status == QueueStatus.ASSIGNED]
    if holder_id is not None:
        where.append(QueueEntry.assigned_agent_id == holder_id)
    won = _conditional_update(
        session,
        entry,
        where,
        {
            "status": QueueStatus.WAITING,
            "assigned_agent_id": None,
            "assigned_at": None,
            "requeue_count": QueueEntry.requeue_count + 1,
            **restart_sla_clock(clock),
        },
    )
    if not won:
        raise _refusal(session, entry)
    conversation = _conversation(session, entry)
    conversation.assigned_agent_id = None
    change_state(
        session, conversation=conversation, target=ConversationState.QUEUED, actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id), reason=reason,
    )
    return entry


def finish(
    session: Session, *, entry_id: int, actor: Agent, target: ConversationState, resolution_code: str,
    clock: Clock,
) -> QueueEntry:
    """Close the chat (target closed) or hand it back to the bot (target bot); the entry is done."""
    if target == ConversationState.CLOSED and resolution_code not in RESOLUTION_CODES:
        raise InvalidInputError(f"resolution code must be one of {', '.join(RESOLUTION_CODES)}")
    entry = get_entry(session, entry_id=entry_id)
    lock_conversation(session, conversation_id=entry.conversation_id)
    where = [QueueEntry.status == QueueStatus.ASSIGNED]
    if not is_supervisor(actor):
        where.append(QueueEntry.assigned_agent_id == actor.id)
    won = _conditional_update(
        session,
        entry,
        where,
        {"status": QueueStatus.DONE, "closed_at": clock.now(), "resolution_code": resolution_code},
    )
    if not won:
        raise _refusal(session, entry)
    conversation = _conversation(session, entry)
    conversation.assigned_agent_id = None
    if target == ConversationState.BOT:
        conversation.agent_helped = True
    change_state(
        session, conversation=conversation, target=target, actor_type="agent", actor_id=str(actor.id),
        reason=resolution_code,
    )
    return entry


def complete_callback(session: Session, *, entry_id: int, actor: Agent, clock: Clock) -> QueueEntry:
    """An agent has called the borrower back: the ticket and its entry are done.

    Only an agent who may see the open callback (its language) may mark it done, and doing so grants
    nothing: the entry gets no holder, so the transcript stays as closed to that agent as before. Who
    called back is in the audit row."""
    entry = get_entry(session, entry_id=entry_id)
    if entry.status == QueueStatus.CALLBACK:
        check_language(entry, agent=actor)
    lock_conversation(session, conversation_id=entry.conversation_id)
    won = _conditional_update(
        session,
        entry,
        [QueueEntry.status == QueueStatus.CALLBACK],
        {"status": QueueStatus.DONE, "closed_at": clock.now(), "resolution_code": "callback_done"},
    )
    if not won:
        raise NotAssignedError(f"queue entry {entry_id} is not an open callback")
    for ticket in session.scalars(select(CallbackTicket).where(CallbackTicket.queue_entry_id == entry.id)):
        ticket.status = "done"
        ticket.completed_at = ticket.completed_at or clock.now()
        ticket.outcome = ticket.outcome or "reached"
    audit.record(
        session, actor_type="agent", actor_id=str(actor.id), conversation_id=entry.conversation_id,
        action="callback_done", detail={"queue_entry_id": entry.id},
    )
    return entry
