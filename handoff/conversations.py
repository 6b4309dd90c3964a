"""Conversations and their messages: create, authorise, append (gap-free seq), read, change state.

Every function works inside the caller's transaction (see `handoff.db.session_scope`). Events for
the bus are queued on the session and published only after the transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handoff import audit
from handoff.bus import conversation_topic
from handoff.clock import as_utc
from handoff.db import BUS_KEY
from handoff.errors import NotFoundError
from handoff.models import Agent, Conversation, Message
from handoff.states import ConversationState, check_transition

PENDING_KEY = "pending_events"
LANGS = ("en", "zh")


def hash_token(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_conversation(
    session: Session,
    *,
    secret_key: str,
    lang: str = "en",
    channel: str = "web",
    client_addr: str | None = None,
) -> tuple[Conversation, str]:
    """A new conversation in the bot state and the bearer token that reaches it (shown once)."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation(
        token_hash=hash_token(secret_key, token),
        lang=lang if lang in LANGS else "en",
        channel=channel,
        state=ConversationState.BOT,
        last_seq=0,
        client_addr=client_addr,
    )
    session.add(conversation)
    session.flush()
    audit.record(
        session,
        actor_type="borrower",
        actor_id=None,
        conversation_id=conversation.id,
        action="conversation_created",
        to_state=ConversationState.BOT,
        detail={"channel": channel, "lang": conversation.lang},
    )
    return conversation, token


def get_conversation(session: Session, *, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError("conversation not found", target_id=conversation_id)
    return conversation


def message_dict(message: Message, *, agent_name: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "seq": message.seq,
        "sender": message.sender,
        "text": message.text,
        "payload": message.payload,
        "created_at": as_utc(message.created_at).isoformat() if message.created_at else None,
        "agent_name": agent_name,
        "client_message_id": message.client_message_id,
    }
    return data


def publish_after_commit(session: Session, topic: str, event_: dict[str, Any]) -> None:
    """Queue an event; it reaches the bus when (and only if) this session's transaction commits."""
    session.info.setdefault(PENDING_KEY, []).append((topic, event_))


@event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, [])
    bus = session.info.get(BUS_KEY)
    if bus is None:
        return
    for topic, event_ in pending:
        bus.publish_threadsafe(topic, event_)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def next_seq(session: Session, *, conversation_id: str) -> int:
    """Atomically take the next sequence number (the row update serialises concurrent writers)."""
    seq = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if seq is None:
        raise NotFoundError("conversation not found", target_id=conversation_id)
    cached = session.identity_map.get(session.identity_key(Conversation, (conversation_id,)))  # type: ignore[arg-type]
    if cached is not None:
        set_committed_value(cached, "last_seq", seq)
    return int(seq)


def append_message(
    session: Session,
    *,
    conversation_id: str,
    sender: str,
    text: str,
    payload: dict[str, Any] | None = None,
    agent_id: int | None = None,
    client_message_id: str | None = None,
) -> Message:
    """Store one message with the next seq; a `message` event follows on the bus after commit.

    The text must already be masked (`handoff.masking`) when it comes from a borrower.
    """
    seq = next_seq(session, conversation_id=conversation_id)
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=str(sender),
        text=text,
        payload=payload or None,
        agent_id=agent_id,
        client_message_id=client_message_id,
    )
    session.add(message)
    session.flush()
    agent_name = None
    if agent_id is not None:
        agent = session.get(Agent, agent_id)
        agent_name = agent.display_name if agent is not None else None
    publish_after_commit(
        session,
        conversation_topic(conversation_id),
        {"type": "message", "message": message_dict(message, agent_name=agent_name)},
    )
    return message


def messages_after(
    session: Session, *, conversation_id: str, after: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    """Stored messages with seq > `after`, in order, as API dicts (agent names included)."""
    rows = session.execute(
        select(Message, Agent.display_name)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
        .limit(limit)
    ).all()
    return [message_dict(message, agent_name=name) for message, name in rows]


def state_event(session: Session, *, conversation: Conversation, clock: Any = None) -> dict[str, Any]:
    """The `state` event / API view of a conversation: state, queue position, wait, agent name."""
    from handoff import queue  # queue builds on this module
    from handoff.clock import SystemClock

    data: dict[str, Any] = {
        "type": "state",
        "state": conversation.state,
        "queue_position": None,
        "estimated_wait_s": None,
    }
    if conversation.state == ConversationState.QUEUED:
        found = queue.position_and_wait(session, conversation_id=conversation.id, clock=clock or SystemClock())
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
) -> None:
    """Move along the state machine (or raise IllegalTransition), audit it, publish a `state` event."""
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
        session, conversation_topic(conversation.id), state_event(session, conversation=conversation)
    )
