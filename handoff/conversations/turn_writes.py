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

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, insert, literal, null, select, update
from sqlalchemy.orm import Session

from handoff.conversations import records
from handoff.conversations.records import message_dict
from handoff.errors import NotFoundError
from handoff.infra.bus import conversation_topic
from handoff.infra.outbox import publish_after_commit
from handoff.models import Conversation, Message, TurnOutcome
from handoff.models.base import utcnow
from handoff.states import ConversationState, Sender

# Core statements on the table: no ORM bookkeeping for rows nobody loads in this session.
_MESSAGES = Message.metadata.tables[Message.__tablename__]
_CONVERSATIONS = Conversation.metadata.tables[Conversation.__tablename__]
_OUTCOMES = TurnOutcome.metadata.tables[TurnOutcome.__tablename__]
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


@functools.cache  # built once (the values are parameters): building and keying it costs more than running it
def _take_seq() -> Any:
    c = _CONVERSATIONS.c  # Core, on the table: the ORM's bulk-update machinery costs more than the statement
    return (
        update(_CONVERSATIONS)
        .where(c.id == bindparam("p_conversation_id"), c.state == ConversationState.BOT)
        .values(last_seq=c.last_seq + 1, updated_at=bindparam("p_now"))  # explicit: a CTE skips onupdate
        .returning(c.id, c.last_seq, c.lang, c.channel)
    )


@functools.cache
def _store_borrower_cte() -> Any:
    taken = _take_seq().cte("taken")
    columns = Message.__table__.c
    stored = (
        insert(Message)
        .from_select(
            MESSAGE_COLUMNS,
            select(
                taken.c.id, taken.c.last_seq, literal(str(Sender.BORROWER)), bindparam("p_text", type_=columns.text.type),
                null(), bindparam("p_client_message_id", type_=columns.client_message_id.type),
                bindparam("p_created_at", type_=columns.created_at.type),
            ),
        )
        .returning(Message.seq)
        .cte("stored")
    )
    return select(stored.c.seq, taken.c.lang, taken.c.channel).select_from(stored.join(taken, literal(True)))


def store_borrower_message(
    session: Session, *, conversation_id: str, text: str, client_message_id: str | None
) -> StoredBorrower | None:
    """Store the (masked) borrower message of a conversation in the bot state with the next seq.

    Returns what was stored, or None when the conversation is not in the bot state (or does not exist) and
    nothing was written. A `client_message_id` stored before raises IntegrityError (nothing written)."""
    now = utcnow()
    taking = {"p_conversation_id": conversation_id, "p_now": now}
    row: Any
    if _ctes_allowed(session):
        row = session.execute(_store_borrower_cte(), {
            **taking, "p_text": text, "p_client_message_id": client_message_id, "p_created_at": now,
        }).first()
    else:
        found = session.execute(_take_seq(), taking).first()
        row = None
        if found is not None:
            session.execute(insert(_MESSAGES), {
                "conversation_id": conversation_id, "seq": found.last_seq, "sender": str(Sender.BORROWER),
                "text": text, "client_message_id": client_message_id, "created_at": now,
            })
            row = (found.last_seq, found.lang, found.channel)
    if row is None:
        return None
    seq = int(row[0])
    shown = _publish(session, Message(
        conversation_id=conversation_id, seq=seq, sender=str(Sender.BORROWER), text=text, payload=None,
        client_message_id=client_message_id, created_at=now,
    ))
    return StoredBorrower(seq=seq, lang=str(row[1]), channel=str(row[2]), message=shown)


@functools.cache
def _append_cte() -> Any:
    c = _CONVERSATIONS.c
    taken = (
        update(_CONVERSATIONS)
        .where(c.id == bindparam("p_conversation_id"))
        .values(last_seq=c.last_seq + 1, updated_at=bindparam("p_now"))  # explicit: a CTE skips onupdate
        .returning(c.id, c.last_seq)
        .cte("taken")
    )
    m = _MESSAGES.c
    stored = (
        insert(_MESSAGES)
        .from_select(
            ("conversation_id", "seq", "sender", "text", "payload", "created_at"),
            select(taken.c.id, taken.c.last_seq, _param("p_sender", m.sender), _param("p_text", m.text),
                   _param("p_payload", m.payload), _param("p_now", m.created_at)),
        )
        .returning(m.seq)
        .cte("stored")
    )
    return select(stored.c.seq)


def append_message(
    session: Session, *, conversation_id: str, sender: str, text: str, payload: dict[str, Any] | None = None
) -> None:
    """`records.append_message` for a bot or system message nobody changes afterwards, on PostgreSQL in one
    statement (the seq taken and the row inserted together) instead of two; the same `message` event
    follows after commit, and this transaction holds the conversation's row lock as after `next_seq`."""
    if not _ctes_allowed(session):
        records.append_message(session, conversation_id=conversation_id, sender=sender, text=text, payload=payload)
        return
    now = utcnow()
    seq = session.execute(_append_cte(), {
        "p_conversation_id": conversation_id, "p_now": now, "p_sender": str(sender), "p_text": text,
        "p_payload": payload or None,
    }).scalar_one_or_none()
    if seq is None:
        raise NotFoundError("conversation not found", target_id=conversation_id)
    records.took_seq(session, conversation_id=conversation_id, seq=int(seq))
    _publish(session, Message(
        conversation_id=conversation_id, seq=int(seq), sender=str(sender), text=text, payload=payload or None,
        agent_id=None, client_message_id=None, created_at=now,
    ))


@functools.cache
def _outcome_columns() -> tuple[str, ...]:
    return tuple(c.name for c in TurnOutcome.__table__.columns if c.name != "id")


def _outcome_values(rows: Sequence[TurnOutcome]) -> list[dict[str, Any]]:
    return [{name: getattr(row, name) for name in _outcome_columns()} for row in rows]


@functools.cache
def _take_seqs() -> Any:
    return (
        update(Conversation)
        .where(Conversation.id == bindparam("p_conversation_id"))
        .values(last_seq=Conversation.last_seq + bindparam("p_count", type_=Integer), updated_at=bindparam("p_now"))
        .returning(*Conversation.__table__.columns)
        .execution_options(synchronize_session=False)
    )


def _param(name: str, column: Any) -> Any:
    return bindparam(name, type_=column.type)


def _writes(last_seq: Any, count: int, outcomes: int) -> list[Any]:
    """The writes after the seqs are taken, for `count` replies and `outcomes` outcome rows; every value is
    a parameter (`_reply_params`), so each shape is built once (`_bot_turn_writes`, `_bot_turn_cte`)."""
    messages = Message.metadata.tables[Message.__tablename__]
    m = messages.c
    # One single-row INSERT per row, not one multi-row VALUES: SQLAlchemy gives a multi-row VALUES no cache
    # key, so the whole statement would be compiled anew on every turn (about 2 ms of CPU on PostgreSQL).
    statements: list[Any] = [
        insert(messages).values({
            "conversation_id": _param("p_conversation_id", m.conversation_id), "seq": last_seq - (count - 1 - n),
            "sender": str(Sender.BOT), "text": _param(f"p_text_{n}", m.text),
            "payload": _param(f"p_payload_{n}", m.payload), "client_message_id": None,
            "created_at": _param("p_now", m.created_at),
        })
        for n in range(count)
    ]
    statements.append(
        update(messages)
        .where(m.conversation_id == _param("p_conversation_id", m.conversation_id),
               m.seq == _param("p_borrower_seq", m.seq))
        .values(reply_to_seq=last_seq)
    )
    table = TurnOutcome.metadata.tables[TurnOutcome.__tablename__]
    statements += [
        insert(table).values({name: _param(f"p_o{n}_{name}", table.c[name]) for name in _outcome_columns()})
        for n in range(outcomes)
    ]
    return statements


@functools.cache
def _mark_answered() -> Any:
    m = _MESSAGES.c
    return (
        update(_MESSAGES)
        .where(m.conversation_id == bindparam("p_conversation_id"), m.seq == bindparam("p_borrower_seq"))
        .values(reply_to_seq=bindparam("p_last_seq"))
    )


def _write_one_by_one(
    session: Session, *, conversation: Conversation, borrower_seq: int, replies: Sequence[Reply],
    outcomes: Sequence[TurnOutcome], now: Any,
) -> None:
    """The writes after the seqs are taken, without CTEs (SQLite): the rows as executemany of one-row
    INSERTs. A multi-row VALUES statement has no cache key in SQLAlchemy, so it would be compiled anew on
    every turn; these are compiled once."""
    first = conversation.last_seq - len(replies) + 1
    if replies:
        session.execute(insert(_MESSAGES), [
            {"conversation_id": conversation.id, "seq": first + n, "sender": str(Sender.BOT), "text": reply.text,
             "payload": reply.payload or None, "client_message_id": None, "created_at": now}
            for n, reply in enumerate(replies)
        ])
    session.execute(_mark_answered(), {
        "p_conversation_id": conversation.id, "p_borrower_seq": borrower_seq, "p_last_seq": conversation.last_seq,
    })
    if outcomes:
        session.execute(insert(_OUTCOMES), _outcome_values(outcomes))


@functools.cache
def _bot_turn_cte(count: int, outcomes: int, read_along: tuple[Any, ...]) -> Any:
    taken = _take_seqs().cte("taken")
    last = select(taken.c.last_seq).scalar_subquery()
    statement = select(*taken.c, *read_along).add_cte(taken)
    for n, write in enumerate(_writes(last.cast(Integer), count, outcomes)):
        statement = statement.add_cte(write.cte(f"write_{n}"))
    return select(Conversation, *read_along).from_statement(statement)


def _reply_params(
    *, conversation_id: str, borrower_seq: int, replies: Sequence[Reply], outcomes: Sequence[TurnOutcome], now: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "p_conversation_id": conversation_id, "p_now": now, "p_count": len(replies), "p_borrower_seq": borrower_seq,
    }
    for n, reply in enumerate(replies):
        params[f"p_text_{n}"], params[f"p_payload_{n}"] = reply.text, reply.payload or None
    for n, values in enumerate(_outcome_values(outcomes)):
        params.update({f"p_o{n}_{name}": value for name, value in values.items()})
    return params


def store_bot_replies(
    session: Session,
    *,
    conversation_id: str,
    borrower_seq: int,
    replies: Sequence[Reply],
    outcomes: Sequence[TurnOutcome],
    read_along: tuple[Any, ...] = (),
) -> tuple[Conversation, list[dict[str, Any]], tuple[Any, ...] | None]:
    """Store a bot turn's replies with the next seqs, its outcome rows, and mark the borrower message
    answered (`reply_to_seq`); returns the conversation as it is after the turn, the replies as the
    API shows them (`message_dict`), and the values of `read_along` (labelled scalar subqueries bound by
    `p_conversation_id`, built once: they key the statement's cache) read by the same statement on
    PostgreSQL, so the turn's answer needs no round trip of its own for them; None on SQLite (nothing
    read: the caller queries, in-process). When the conversation has gone (erased meanwhile) nothing is
    written: NotFoundError, or IntegrityError on PostgreSQL."""
    now = utcnow()
    count = len(replies)
    params = _reply_params(
        conversation_id=conversation_id, borrower_seq=borrower_seq, replies=replies, outcomes=outcomes, now=now
    )
    reload = {"populate_existing": True}
    conversation: Conversation | None
    read: tuple[Any, ...] | None = None
    if _ctes_allowed(session):
        row = session.execute(
            _bot_turn_cte(count, len(outcomes), read_along), params, execution_options=reload
        ).one_or_none()
        conversation, read = (None, None) if row is None else (row[0], tuple(row[1:]))
    else:
        conversation = session.scalars(
            select(Conversation).from_statement(_take_seqs()), params, execution_options=reload
        ).one_or_none()
        if conversation is not None:
            _write_one_by_one(session, conversation=conversation, borrower_seq=borrower_seq, replies=replies,
                              outcomes=outcomes, now=now)
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
    return conversation, shown, read

