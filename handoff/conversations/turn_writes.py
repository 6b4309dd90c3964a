"""The two writes of an ordinary bot turn, each one statement on PostgreSQL (docs/production.md).

A bot turn stores the borrower's message before Rasa is asked, and Rasa's replies after. Through the ORM
each of these is a transaction of five or six statements, and on PostgreSQL every statement, BEGIN and
COMMIT is a round trip to the server (psycopg sends BEGIN on its own). Here each write is a single
statement of data-modifying CTEs, run without an explicit transaction (`Services.db(single_statement=True)`):
PostgreSQL runs one statement atomically, so the sequence number and the rows that use it still commit
together or not at all (gap-free seq), and the events queued with `publish_after_commit` still go out only
after it has committed.

SQLite has no data-modifying CTEs: there the same statements run one after the other in the caller's
transaction (BEGIN IMMEDIATE); SQLite is in-process, so they cost no round trips.

Only the common case comes here: a conversation in the bot state, a reply without a handoff. Everything
else (a person in charge, a handoff, the bot unavailable, a retried `client_message_id`) takes the ORM path
of `handoff.borrower.turns`: these functions return None (or raise IntegrityError) and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, insert, literal, null, select, update
from sqlalchemy.orm import Session

from handoff.conversations.records import message_dict
from handoff.errors import NotFoundError
from handoff.infra.bus import conversation_topic
from handoff.infra.outbox import publish_after_commit
from handoff.models import Conversation, Message, TurnOutcome
from handoff.models.base import utcnow
from handoff.states import ConversationState, Sender

MESSAGE_COLUMNS = ("conversation_id", "seq", "sender", "text", "payload", "client_message_id", "created_at")


@dataclass(frozen=True)
class StoredBorrower:
    """A bot turn's borrower message as stored: its seq, the conversation's lang and channel, and the
    message as the API and the bus show it (`message_dict`), so that the turn's answer needs no re-read."""

    seq: int
    lang: str
    channel: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One reply element to store: a bot message's text and payload."""

    text: str
    payload: dict[str, Any] | None


def _ctes_allowed(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _publish(session: Session, message: Message) -> dict[str, Any]:
    shown = message_dict(message)
    publish_after_commit(session, conversation_topic(message.conversation_id), {"type": "message", "message": shown})
    return shown


def store_borrower_message(
    session: Session, *, conversation_id: str, text: str, client_message_id: str | None
) -> StoredBorrower | None:
    """Store the (masked) borrower message of a conversation in the bot state with the next seq.

    Returns what was stored, or None when the conversation is not in the bot state (or does not exist) and
    nothing was written. A `client_message_id` stored before raises IntegrityError (nothing written)."""
    now = utcnow()
    take_seq = (
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == ConversationState.BOT)
        .values(last_seq=Conversation.last_seq + 1, updated_at=now)  # explicit: a CTE skips onupdate
        .returning(Conversation.id, Conversation.last_seq, Conversation.lang, Conversation.channel)
        .execution_options(synchronize_session=False)  # a fresh session: nothing loaded to keep in step
    )
    if _ctes_allowed(session):
        taken = take_seq.cte("taken")
        stored = (
            insert(Message)
            .from_select(
                MESSAGE_COLUMNS,
                select(
                    taken.c.id, taken.c.last_seq, literal(str(Sender.BORROWER)), bindparam("text", text),
                    null(), bindparam("client_message_id", client_message_id), bindparam("created_at", now),
                ),
            )
            .returning(Message.seq)
            .cte("stored")
        )
        row: Any = session.execute(
            select(stored.c.seq, taken.c.lang, taken.c.channel).select_from(stored.join(taken, literal(True)))
        ).first()
    else:
        found = session.execute(take_seq).first()
        row = None
        if found is not None:
            session.execute(
                insert(Message).values(
                    conversation_id=conversation_id, seq=found.last_seq, sender=str(Sender.BORROWER), text=text,
                    client_message_id=client_message_id, created_at=now,
                )
            )
            row = (found.last_seq, found.lang, found.channel)
    if row is None:
        return None
    seq = int(row[0])
    shown = _publish(session, Message(
        conversation_id=conversation_id, seq=seq, sender=str(Sender.BORROWER), text=text, payload=None,
        client_message_id=client_message_id, created_at=now,
    ))
    return StoredBorrower(seq=seq, lang=str(row[1]), channel=str(row[2]), message=shown)


def _outcome_values(rows: Sequence[TurnOutcome]) -> list[dict[str, Any]]:
    columns = [c.name for c in TurnOutcome.__table__.columns if c.name != "id"]
    return [{name: getattr(row, name) for name in columns} for row in rows]


def store_bot_replies(
    session: Session,
    *,
    conversation_id: str,
    borrower_seq: int,
    replies: Sequence[Reply],
    outcomes: Sequence[TurnOutcome],
) -> tuple[Conversation, list[dict[str, Any]]]:
    """Store a bot turn's replies with the next seqs, its outcome rows, and mark the borrower message
    answered (`reply_to_seq`); returns the conversation as it is after the turn and the replies as the
    API shows them (`message_dict`). When the conversation has
    gone (erased meanwhile) nothing is written: NotFoundError, or IntegrityError on PostgreSQL."""
    now = utcnow()
    count = len(replies)
    take_seqs = (
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + count, updated_at=now)
        .returning(*Conversation.__table__.columns)
        .execution_options(synchronize_session=False)
    )
    outcome_values = _outcome_values(outcomes)

    def writes(last_seq: ColumnElement[Any] | int) -> list[Any]:
        statements: list[Any] = []
        if replies:
            statements.append(insert(Message).values([
                {
                    "conversation_id": conversation_id, "seq": last_seq - (count - 1 - n), "sender": str(Sender.BOT),
                    "text": reply.text, "payload": reply.payload or None, "client_message_id": None,
                    "created_at": now,
                }
                for n, reply in enumerate(replies)
            ]))
        statements.append(
            update(Message)
            .where(Message.conversation_id == conversation_id, Message.seq == borrower_seq)
            .values(reply_to_seq=last_seq)
            .execution_options(synchronize_session=False)
        )
        if outcome_values:
            statements.append(insert(TurnOutcome).values(outcome_values))
        return statements

    if _ctes_allowed(session):
        taken = take_seqs.cte("taken")
        last = select(taken.c.last_seq).scalar_subquery()
        statement = select(*taken.c).add_cte(taken)
        for n, write in enumerate(writes(last.cast(Integer))):
            statement = statement.add_cte(write.cte(f"write_{n}"))
        conversation: Conversation | None = session.scalars(
            select(Conversation).from_statement(statement), execution_options={"populate_existing": True}
        ).one_or_none()
    else:
        conversation = session.scalars(
            select(Conversation).from_statement(take_seqs), execution_options={"populate_existing": True}
        ).one_or_none()
        if conversation is not None:
            for write in writes(conversation.last_seq):
                session.execute(write)
    if conversation is None:
        raise NotFoundError("conversation not found", target_id=conversation_id)
    first = conversation.last_seq - count + 1
    shown = [
        _publish(session, Message(
            conversation_id=conversation_id, seq=first + n, sender=str(Sender.BOT), text=reply.text,
            payload=reply.payload or None, client_message_id=None, created_at=now,
        ))
        for n, reply in enumerate(replies)
    ]
    return conversation, shown

