"""Conversations and their messages: create, authorise, append (gap-free seq), read.

Every function works inside the caller's transaction (see `handoff.infra.db.session_scope`). Events for
the bus are queued on the session and published only after the transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handoff import audit
from handoff.errors import NotFoundError
from handoff.infra.bus import conversation_topic
from handoff.infra.clock import as_utc
from handoff.infra.outbox import publish_after_commit
from handoff.models import Agent, Conversation, Message
from handoff.states import ConversationState, Sender
from knowledge_base.markup import to_html

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


def message_html(sender: str, text: str) -> str | None:
    """The sanitised HTML of a bot message (FAQ answers are markdown: tables, lists, links, bold); None
    for borrowers, agents and system notices, whose words every page shows as plain text."""
    return to_html(text) if sender == Sender.BOT and text else None


def message_dict(message: Message, *, agent_name: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "seq": message.seq,
        "sender": message.sender,
        "text": message.text,
        "html": message_html(message.sender, message.text),
        "payload": message.payload,
        "created_at": as_utc(message.created_at).isoformat() if message.created_at else None,
        "agent_name": agent_name,
        "client_message_id": message.client_message_id,
    }
    return data


ROW_LOCKS = "conversation_row_locks"  # session.info: (transaction, ids of the conversations it has updated)


def holds_row_lock(session: Session, *, conversation_id: str) -> bool:
    """Whether this transaction has updated the conversation's row (`next_seq`), and so holds its row lock
    (PostgreSQL keeps it to the end of the transaction) and has seen what the lock's previous holder wrote."""
    held = session.info.get(ROW_LOCKS)
    return held is not None and held[0] is session.get_transaction() and conversation_id in held[1]


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
    took_seq(session, conversation_id=conversation_id, seq=int(seq))
    return int(seq)


def took_seq(session: Session, *, conversation_id: str, seq: int) -> None:
    """This transaction has taken `seq` (updated the conversation's row): it holds the row lock
    (`holds_row_lock`), and a conversation loaded in the session shows the new `last_seq`."""
    held = session.info.get(ROW_LOCKS)
    if held is None or held[0] is not session.get_transaction():
        held = session.info[ROW_LOCKS] = (session.get_transaction(), set[str]())
    held[1].add(conversation_id)
    cached = session.identity_map.get(session.identity_key(Conversation, (conversation_id,)))
    if cached is not None:
        set_committed_value(cached, "last_seq", seq)


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


def signed_in_borrower(conversation: Conversation, *, now: datetime, max_age_s: int) -> str | None:
    """The borrower this conversation is signed in as, while the sign-in is fresh (BORROWER_SIGNIN_MAX_AGE_S):
    their loans and reminder settings are theirs to see for that long, then they sign in again, so a chat
    left open on a shared computer stops showing someone's balance. The conversation stays linked (agents
    still see whose it is, and the same borrower may sign in again)."""
    if conversation.borrower_id is None or conversation.verified_at is None:
        return None
    if now - as_utc(conversation.verified_at) > timedelta(seconds=max_age_s):
        return None
    return conversation.borrower_id
