"""A conversation's place on the state machine: the `state` event, and moving to another state.

Every state change is audited and announced on the conversation's topic after commit; the event
carries the queue position and estimated wait from `handoff.conversations.place`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handoff import audit
from handoff.conversations import place
from handoff.infra.bus import conversation_topic
from handoff.infra.clock import Clock, SystemClock
from handoff.infra.outbox import publish_after_commit
from handoff.models import Agent, Conversation, QueueEntry
from handoff.states import ConversationState, check_transition


def state_event(
    session: Session, *, conversation: Conversation, clock: Clock | None = None, opens_at: datetime | None = None,
    entry: QueueEntry | None = None, known_place: tuple[int, int] | None = None,
    arrival: place.Arrival | None = None,
) -> dict[str, Any]:
    """The `state` event / API view of a conversation: state, queue position, wait, agent name;
    `opens_at` when nobody is on shift until then; `entry`: its active queue entry, when already read;
    `known_place`: (position, wait) of a queued conversation as an event just announced them; `arrival`:
    the conversation has just joined the queue (`place.Arrival`, filled in by the same read)."""
    data: dict[str, Any] = {
        "type": "state",
        "state": conversation.state,
        "queue_position": None,
        "estimated_wait_s": None,
    }
    if conversation.state == ConversationState.QUEUED:
        data["opens_at"] = None if opens_at is None else opens_at.isoformat()
        found = known_place or place.position_and_wait(
            session, conversation_id=conversation.id, clock=clock or SystemClock(), opens_at=opens_at, entry=entry,
            arrival=arrival,
        )
        if found is not None:
            data["queue_position"], data["estimated_wait_s"] = found
    if conversation.state == ConversationState.ASSIGNED and conversation.assigned_agent_id is not None:
        agent = session.get(Agent, conversation.assigned_agent_id)
        data["agent_name"] = agent.display_name if agent is not None else None
    return data


def change_state(
    session: Session,
    *,
    conversation: Conversation,
    target: ConversationState | str,
    actor_type: str,
    actor_id: str | int | None,
    reason: str | None = None,
    clock: Clock | None = None,
    entry: QueueEntry | None = None,
    arrival: place.Arrival | None = None,
) -> None:
    """Move along the state machine (or raise IllegalTransition), audit it, publish a `state` event (its
    wait reckoned by `clock`, the system's when not given; `entry`: the conversation's active queue entry,
    when the caller has just written it; `arrival`: filled in by the event's read, `state_event`)."""
    current = conversation.state
    check_transition(conversation.id, current, target)
    conversation.state = str(ConversationState(target))
    audit.record(
        session,
        actor_type=actor_type,
        actor_id=actor_id,
        conversation_id=conversation.id,
        action="state_changed",
        from_state=current,
        to_state=conversation.state,
        detail={"reason": reason} if reason else None,
    )
    publish_after_commit(
        session, conversation_topic(conversation.id), state_event(session, conversation=conversation, clock=clock, entry=entry, arrival=arrival),
    )
