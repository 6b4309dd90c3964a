"""The agent operations as the routes call them: the queue change (`handoff.queue.claims`), the system
message that tells the borrower (in their language), and the announcements to agents and to
everyone still waiting (`queue_changed`, fresh positions). One call = one transaction's work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from handoff import audit
from handoff.agents.chat import entry_dict
from handoff.conversations import place
from handoff.conversations.lifecycle import state_event
from handoff.conversations.pushes import AGENT_JOINED, PushContext, queue_live_push
from handoff.conversations.records import append_message, get_conversation
from handoff.errors import NotFoundError
from handoff.infra.bus import AGENTS_TOPIC, conversation_topic
from handoff.infra.clock import Clock
from handoff.infra.outbox import publish_after_commit
from handoff.masking import mask
from handoff.models import Agent, QueueEntry
from handoff.notices import notice
from handoff.queue import claims
from handoff.states import ConversationState, Sender


def me(session: Session, agent: Agent) -> Agent:
    """The request's agent, attached to this session."""
    found = session.get(Agent, agent.id)
    if found is None:
        raise NotFoundError("agent not found", target_id=agent.id)
    return found


def announce(session: Session, *, clock: Clock) -> None:
    publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
    place.notify_positions(session, clock=clock)


def _tell(session: Session, entry: QueueEntry, key: str, **values: str) -> None:
    conversation = get_conversation(session, conversation_id=entry.conversation_id)
    append_message(
        session, conversation_id=entry.conversation_id, sender=Sender.SYSTEM,
        text=notice(key, conversation.lang, **values), payload={"custom": {"type": key}},
    )


def _joined(
    session: Session, entry: QueueEntry, holder: Agent, clock: Clock, push: PushContext | None
) -> dict[str, Any]:
    _tell(session, entry, "agent_joined", agent=holder.display_name)
    queue_live_push(session, push=push, conversation_id=entry.conversation_id, event=AGENT_JOINED,
                    agent_name=holder.display_name)
    announce(session, clock=clock)
    return entry_dict(session, entry, clock=clock)


def claim_chat(
    session: Session, *, entry_id: int, agent: Agent, clock: Clock, push: PushContext | None = None
) -> dict[str, Any]:
    """`push`: also push "an agent has joined" to the borrower's devices (handoff.conversations.pushes)."""
    holder = me(session, agent)
    entry = claims.claim(session, entry_id=entry_id, agent=holder, clock=clock)
    return _joined(session, entry, holder, clock, push)


def take_next_chat(
    session: Session, *, agent: Agent, clock: Clock, push: PushContext | None = None
) -> dict[str, Any] | None:
    holder = me(session, agent)
    entry = claims.take_next(session, agent=holder, clock=clock)
    return None if entry is None else _joined(session, entry, holder, clock, push)


def assign_chat(
    session: Session, *, entry_id: int, to_agent_id: int, actor: Agent, clock: Clock, push: PushContext | None = None
) -> dict[str, Any]:
    """Transfer (holder or supervisor) or, for a waiting chat, a supervisor's assignment."""
    target = session.get(Agent, to_agent_id)
    if target is None:
        raise NotFoundError("agent not found", target_id=to_agent_id)
    entry = claims.reassign(session, entry_id=entry_id, to_agent=target, actor=me(session, actor), clock=clock)
    _tell(session, entry, "transferred", agent=target.display_name)
    queue_live_push(session, push=push, conversation_id=entry.conversation_id, event=AGENT_JOINED,
                    agent_name=target.display_name)
    # The state stays "assigned", but the borrower's page and the previous holder's console must
    # learn who holds the chat now.
    conversation = get_conversation(session, conversation_id=entry.conversation_id)
    publish_after_commit(
        session, conversation_topic(conversation.id), state_event(session, conversation=conversation, clock=clock)
    )
    announce(session, clock=clock)
    return entry_dict(session, entry, clock=clock)


def release_chat(session: Session, *, conversation_id: str, agent: Agent, clock: Clock) -> dict[str, Any]:
    actor = me(session, agent)
    held = claims.held_entry(session, conversation_id=conversation_id, agent=actor)
    entry = claims.release(
        session, entry_id=held.id, actor_type="agent", actor_id=actor.id,
        holder_id=None if claims.is_supervisor(actor) else actor.id, reason="released", clock=clock,
    )
    _tell(session, entry, "released")
    announce(session, clock=clock)
    return entry_dict(session, entry, clock=clock)


def close_chat(
    session: Session, *, conversation_id: str, agent: Agent, resolution_code: str, clock: Clock
) -> dict[str, Any]:
    actor = me(session, agent)
    held = claims.held_entry(session, conversation_id=conversation_id, agent=actor)
    _tell(session, held, "closed")
    entry = claims.finish(
        session, entry_id=held.id, actor=actor, target=ConversationState.CLOSED, resolution_code=resolution_code,
        clock=clock,
    )
    announce(session, clock=clock)
    return entry_dict(session, entry, clock=clock)


def held_entry_id(session: Session, *, conversation_id: str, agent: Agent) -> int:
    return claims.held_entry(session, conversation_id=conversation_id, agent=me(session, agent)).id


def hand_back_chat(
    session: Session, *, conversation_id: str, agent: Agent, note: str, clock: Clock
) -> dict[str, Any]:
    """The database half of a hand-back; the route has already written the note into Rasa's tracker."""
    actor = me(session, agent)
    held = claims.held_entry(session, conversation_id=conversation_id, agent=actor)
    entry = claims.finish(
        session, entry_id=held.id, actor=actor, target=ConversationState.BOT, resolution_code="handed_back",
        clock=clock,
    )
    audit.record(
        session, actor_type="agent", actor_id=actor.id, conversation_id=conversation_id, action="handed_back",
        detail={"note": mask(note).text},
    )
    _tell(session, entry, "handed_back")
    announce(session, clock=clock)
    return entry_dict(session, entry, clock=clock)


def complete_callback(session: Session, *, entry_id: int, agent: Agent, clock: Clock) -> dict[str, Any]:
    entry = claims.complete_callback(session, entry_id=entry_id, actor=me(session, agent), clock=clock)
    announce(session, clock=clock)
    return entry_dict(session, entry, clock=clock)
