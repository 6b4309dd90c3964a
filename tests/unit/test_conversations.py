"""Conversation data functions: seq assignment, reading after a seq, state changes with audit and events."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, select

from handoff import audit
from handoff.audit import AuditImmutable
from handoff.conversations.lifecycle import change_state
from handoff.conversations.records import append_message, create_conversation, messages_after
from handoff.infra.bus import InProcessBus, conversation_topic
from handoff.infra.db import session_scope
from handoff.models import AuditEvent
from handoff.states import IllegalTransition


async def test_append_assigns_seq_and_publishes_after_commit(engine: Engine) -> None:
    bus = InProcessBus()
    await bus.start()
    with session_scope(engine, bus=bus) as s:
        conversation, _ = create_conversation(s, secret_key="k", lang="zh")
    sub = bus.subscribe(conversation_topic(conversation.id))

    def write() -> None:
        with session_scope(engine, bus=bus) as s:
            for text in ("a", "b", "c"):
                append_message(s, conversation_id=conversation.id, sender="borrower", text=text)
            assert sub._queue.empty()  # nothing is announced before the commit

    await asyncio.to_thread(write)
    events = [await sub.get(timeout=2) for _ in range(3)]
    assert [e["message"]["seq"] for e in events if e] == [1, 2, 3]
    with pytest.raises(RuntimeError), session_scope(engine, bus=bus) as s:
        append_message(s, conversation_id=conversation.id, sender="borrower", text="lost")
        raise RuntimeError
    assert await sub.get(timeout=0.2) is None  # a rolled-back message is never announced
    with session_scope(engine, write=False) as s:
        assert [m["text"] for m in messages_after(s, conversation_id=conversation.id, after=1)] == ["b", "c"]
    sub.close()
    await bus.stop()


def test_state_changes_follow_the_machine_and_are_audited(engine: Engine) -> None:
    with session_scope(engine) as s:
        conversation, _ = create_conversation(s, secret_key="k")
        change_state(
            s, conversation=conversation, target="closed", actor_type="agent", actor_id=7, reason="done"
        )
    with pytest.raises(IllegalTransition), session_scope(engine) as s:
        closed = s.get(type(conversation), conversation.id)
        change_state(s, conversation=closed, target="bot", actor_type="agent", actor_id=7)
    with session_scope(engine, write=False) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(r.action, r.from_state, r.to_state) for r in rows] == [
            ("conversation_created", None, "bot"),
            ("state_changed", "bot", "closed"),
        ]
        assert rows[1].actor_id == "7" and rows[1].detail == {"reason": "done"}


def test_audit_rows_cannot_be_changed(engine: Engine) -> None:
    with session_scope(engine) as s:
        row = audit.record(s, actor_type="system", actor_id=None, conversation_id=None, action="test")
    with pytest.raises(AuditImmutable), session_scope(engine) as s:
        s.get(AuditEvent, row.id).action = "tampered"
    with pytest.raises(AuditImmutable), session_scope(engine) as s:
        s.delete(s.get(AuditEvent, row.id))
