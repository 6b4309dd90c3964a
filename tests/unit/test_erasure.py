"""Issue 11.8 (erasure): erasing a conversation removes every row that references it from the service
database (whatever table), removes its events from Rasa's tracker store, and anonymises its audit trail
through the one explicit path (audit rows stay immutable otherwise)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from agent_support import make_agent, make_settings, tx, waiting_chat
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from handoff import admin_cli, audit
from handoff.agents import chat, operations
from handoff.conversations.records import append_message
from handoff.errors import ConflictError
from handoff.infra import db
from handoff.infra.clock import FakeClock
from handoff.models import AuditEvent, Base, Conversation
from handoff.privacy.erasure import erase_conversation
from handoff.queue import entries
from handoff.rasa.tracker_store import TrackerStore

SECRET_NOTE = "borrower lives at 12 Elm St"


def finished_chat(engine: Engine, clock: FakeClock) -> str:
    """A conversation with everything: borrower text, agent reply, a note, a hand-back note, a callback."""
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: append_message(s, conversation_id=conv_id, sender="borrower", text="my card is [CARD]"))
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="Thanks", clock=clock))
    tx(engine, lambda s: chat.add_note(s, conversation_id=conv_id, agent=ann, text=SECRET_NOTE, clock=clock))
    tx(engine, lambda s: operations.hand_back_chat(s, conversation_id=conv_id, agent=ann, note=SECRET_NOTE,
                                                    clock=clock))
    tx(engine, lambda s: entries.create_callback(s, conversation=s.get(Conversation, conv_id), contact_method="phone",
                                               contact="[PHONE]", preferred_time="after 6", clock=clock))
    return conv_id


def rows_referencing(session: Session, conversation_id: str) -> dict[str, int]:
    """Rows in any table with a conversation_id column (or the conversation itself) that still name it."""
    found = {}
    for table in Base.metadata.sorted_tables:
        column = table.c.get("conversation_id") if table.name != "conversations" else table.c.id
        if column is not None:
            count = session.scalar(select(func.count()).select_from(table).where(column == conversation_id))
            if count:
                found[table.name] = count
    return found


def test_erasure_removes_every_row_and_anonymises_the_audit(engine: Engine) -> None:
    clock = FakeClock()
    conv_id = finished_chat(engine, clock)
    before = tx(engine, lambda s: rows_referencing(s, conv_id))
    assert {"conversations", "messages", "queue_entries", "callback_tickets", "notes", "audit_events"} <= set(before)
    actions_before = tx(engine, lambda s: sorted(
        s.scalars(select(AuditEvent.action).where(AuditEvent.conversation_id == conv_id))))
    report = tx(engine, lambda s: erase_conversation(s, conversation_id=conv_id, actor_type="agent", actor_id=7))
    assert tx(engine, lambda s: rows_referencing(s, conv_id)) == {}
    kept = tx(engine, lambda s: s.scalars(select(AuditEvent).where(AuditEvent.conversation_id == report.pseudonym)
                                          .order_by(AuditEvent.id)).all())
    assert sorted(e.action for e in kept if e.action != "conversation_erased") == actions_before
    assert kept[-1].action == "conversation_erased" and kept[-1].actor_id == "7"
    assert all(SECRET_NOTE not in str(e.detail) for e in kept)
    assert report.audit_rows == len(actions_before) and report.deleted["messages"] >= 3


def test_audit_rows_stay_immutable_through_the_orm(engine: Engine) -> None:
    clock = FakeClock()
    conv_id = finished_chat(engine, clock)

    def tamper(session: Session) -> None:
        row = session.scalars(select(AuditEvent).where(AuditEvent.conversation_id == conv_id)).first()
        row.detail = {"changed": True}

    with pytest.raises(audit.AuditImmutable):
        tx(engine, tamper)


def test_a_conversation_in_the_queue_is_not_erased_without_force(engine: Engine) -> None:
    conv_id, _entry = waiting_chat(engine, FakeClock())
    with pytest.raises(ConflictError, match="close it first"):
        tx(engine, lambda s: erase_conversation(s, conversation_id=conv_id))
    tx(engine, lambda s: erase_conversation(s, conversation_id=conv_id, force=True))
    assert tx(engine, lambda s: rows_referencing(s, conv_id)) == {}


def rasa_tracker_db(path: Path, events: list[tuple[str, float]]) -> str:
    """A tracker database with the table layout of Rasa 3.6's SQLTrackerStore."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                     "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                     "action_name VARCHAR(255), data TEXT)")
        conn.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, '{}')",
                         events)
    return f"sqlite:///{path}"


def test_erase_command_clears_the_service_and_the_tracker_store(tmp_path: Path, capsys: object) -> None:
    settings = make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'svc.db'}")
    engine = db.make_engine(settings.DATABASE_URL)
    db.upgrade(engine)
    conv_id = finished_chat(engine, FakeClock())
    url = rasa_tracker_db(tmp_path / "tracker.db", [(conv_id, 1.0), (conv_id, 2.0), ("someone-else", 3.0)])
    assert admin_cli.run(["erase-conversation", "--id", conv_id], settings) == 2  # no tracker URL: refused
    assert tx(engine, lambda s: s.get(Conversation, conv_id)) is not None
    with_tracker = settings.model_copy(update={"RASA_TRACKER_DB_URL": url})
    assert admin_cli.run(["erase-conversation", "--id", conv_id], with_tracker) == 0
    out = capsys.readouterr()  # type: ignore[attr-defined]
    assert "RASA_TRACKER_DB_URL is not set" in out.err and "tracker store: 2 events deleted" in out.out
    assert tx(engine, lambda s: rows_referencing(s, conv_id)) == {}
    tracker = TrackerStore(url)
    assert tracker.count(conv_id) == 0 and tracker.count("someone-else") == 1
    tracker.close()
    engine.dispose()
