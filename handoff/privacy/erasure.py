"""Erasure of one conversation: its rows leave the service database, its events leave Rasa's tracker
store, and its audit trail is anonymised (`handoff.audit.anonymise_conversation`).

Every table with a foreign key to `conversations.id` is found from the models' metadata, so a table added
later (by any module) is erased too without touching this one. A conversation still waiting for or held
by a person is refused: close it (or let the borrower leave) first. Reminders and gateway notifications
name a conversation without a foreign key: `outbound.forget_conversation` scrubs them (and says why they
are kept rather than deleted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import ConflictError, NotFoundError
from handoff.models import Base, Conversation, Notification, Reminder
from handoff.privacy import outbound
from handoff.states import ConversationState

ACTIVE_STATES = (ConversationState.QUEUED, ConversationState.ASSIGNED)


@dataclass
class ErasureReport:
    conversation_id: str
    pseudonym: str = ""
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows
    scrubbed: dict[str, int] = field(default_factory=dict)  # table -> rows kept without personal data
    audit_rows: int = 0
    tracker_events: int | None = None  # None: the tracker store was not touched


def conversation_tables() -> list[Table]:
    """The tables that reference conversations, children before parents (safe deletion order)."""
    referencing = [
        table for table in Base.metadata.sorted_tables
        if any(fk.column.table.name == Conversation.__tablename__ for fk in table.foreign_keys)
    ]
    return list(reversed(referencing))


def _conversation_column(table: Table) -> str:
    return next(fk.parent.name for fk in table.foreign_keys if fk.column.table.name == Conversation.__tablename__)


def erase_conversation(session: Session, *, conversation_id: str, actor_type: str = "system",
                       actor_id: str | int | None = None, force: bool = False) -> ErasureReport:
    """Delete the conversation and everything that references it; anonymise its audit rows. Runs in the
    caller's transaction. `force` also erases a conversation that is in the queue or held."""
    # The row lock first: a concurrent writer (a message, a turn outcome, the sweeper) locks the same row
    # before it adds rows that reference it, so it waits for this erasure instead of slipping a row in
    # between the deletes (PostgreSQL; SQLite has one writer anyway). The reminder sender locks it too, before
    # its reminder; reminders, then notifications come next here (`outbound`).
    conversation = session.scalars(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    ).first()
    if conversation is None:
        raise NotFoundError(f"conversation {conversation_id} does not exist", target_id=conversation_id)
    if conversation.state in ACTIVE_STATES and not force:
        raise ConflictError(
            f"conversation {conversation_id} is {conversation.state}: close it first (or pass --force)",
            target_id=conversation_id,
        )
    report = ErasureReport(conversation_id=conversation_id)
    # Reminders and notifications name the conversation without a foreign key: scrubbed (key-only reminder
    # rows, payload-less notifications) in the lock order of `outbound`, before the rows below go.
    scrubbed = outbound.forget_conversation(session, conversation_id=conversation_id)
    report.scrubbed = {Reminder.__tablename__: scrubbed.reminders, Notification.__tablename__: scrubbed.notifications}
    for table in conversation_tables():
        column = table.c[_conversation_column(table)]
        count = session.execute(delete(table).where(column == conversation_id)).rowcount  # type: ignore[attr-defined]
        report.deleted[table.name] = int(count or 0)
    session.expunge(conversation)
    session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    report.deleted[Conversation.__tablename__] = 1
    report.pseudonym, report.audit_rows = audit.anonymise_conversation(
        session, conversation_id=conversation_id, actor_type=actor_type, actor_id=actor_id
    )
    return report


def conversation_exists(session: Session, *, conversation_id: str) -> bool:
    return session.scalar(select(Conversation.id).where(Conversation.id == conversation_id)) is not None
