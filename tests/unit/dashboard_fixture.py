"""A hand-made Monday (2026-01-05, UTC) of rows for the dashboard queries; every expected figure in
tests/unit/test_dashboard_queries.py is worked out by hand from these rows (see the comments there).

The rows are also a state the running service keeps as it is at NOW (the app's SLA pass runs on them in
test_dashboard_api.py): Alice, who holds c7, was seen 30 s ago (away, not offline); Bob holds nothing. Alice
is in team "east", Bob in team "west"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handoff.infra.db import session_scope
from handoff.models import (
    Agent,
    AuditEvent,
    CallbackTicket,
    Complaint,
    Conversation,
    QueueEntry,
    SurveyResponse,
    TurnOutcome,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def _conversation(session: Session, cid: str, *, lang: str = "en", channel: str = "web", seq: int = 3,
                  created: datetime | None = None, state: str = "bot") -> None:
    session.add(Conversation(id=cid, token_hash="0" * 64, lang=lang, channel=channel, state=state, last_seq=seq,
                             created_at=created or at(9)))


def _entry(session: Session, cid: str, **values: Any) -> QueueEntry:
    """An entry as the service writes it: the first reply and breach also go to the history columns."""
    values.setdefault("answered_at", values.get("first_agent_reply_at"))
    values.setdefault("first_breach_at", values.get("sla_breached_at"))
    entry = QueueEntry(conversation_id=cid, lang=values.pop("lang", "en"), **values)
    session.add(entry)
    session.flush()
    return entry


def _agent(session: Session, username: str, name: str, team: str, **values: Any) -> Agent:
    """An account that never logs in (no password hash worth the time to compute)."""
    agent = Agent(username=username, password_hash="!", display_name=name, role="agent", languages="en,zh",
                  max_concurrent=3, team=team, **values)
    session.add(agent)
    session.flush()
    return agent


def build(engine: Engine) -> dict[str, int]:
    """Insert the day; returns the ids the tests refer to."""
    with session_scope(engine) as s:
        alice = _agent(s, "alice", "Alice", "east", status="away", last_seen_at=NOW - timedelta(seconds=30))
        bob = _agent(s, "bob", "Bob", "west", status="offline")
        for cid, lang, channel in [("c1", "en", "web"), ("c2", "en", "web"), ("c3", "zh", "app"),
                                   ("c4", "en", "web"), ("c5", "en", "web"), ("c6", "zh", "web"),
                                   ("c7", "en", "web")]:
            _conversation(s, cid, lang=lang, channel=channel)
        _conversation(s, "c8", seq=0)  # opened, nothing said
        _conversation(s, "c9", created=at(10, day=4))  # Sunday: outside the range
        s.flush()
        # c1: an answer that helped; c2: none, then an answer that did not help.
        s.add_all([
            TurnOutcome(conversation_id="c1", at=at(9), kind="answer", faq_id="payoff-quote", score=0.82,
                        question="how do I get a payoff quote"),
            TurnOutcome(conversation_id="c1", at=at(9, 1), kind="feedback", faq_id="payoff-quote", helped=True,
                        question="how do I get a payoff quote"),
            TurnOutcome(conversation_id="c2", at=at(9, 10), kind="none", question="my car was towed"),
            TurnOutcome(conversation_id="c2", at=at(9, 12), kind="answer", faq_id="late-fee", score=0.7,
                        question="fee for paying late"),
            TurnOutcome(conversation_id="c2", at=at(9, 13), kind="feedback", faq_id="late-fee", helped=False,
                        question="fee for paying late"),
        ])
        c3 = _entry(s, "c3", lang="zh", reason="anger", status="done", enqueued_at=at(9), assigned_agent_id=alice.id,
                    assigned_at=at(9, 1), first_agent_reply_at=at(9, 2), closed_at=at(9, 30),
                    resolution_code="resolved")
        c4 = _entry(s, "c4", reason="explicit_request", status="done", enqueued_at=at(10),
                    assigned_agent_id=bob.id, assigned_at=at(10, 5), first_agent_reply_at=at(10, 7),
                    sla_breached_at=at(10, 2), closed_at=at(10, 20), resolution_code="resolved")
        _entry(s, "c5", reason="explicit_request", status="done", enqueued_at=at(11), closed_at=at(11, 3),
               resolution_code="borrower_left")
        c6 = _entry(s, "c6", lang="zh", reason="low_confidence", status="waiting", enqueued_at=at(11, 50),
                    sla_breached_at=at(11, 52))
        _entry(s, "c7", reason="repeated_fallback", status="assigned", enqueued_at=at(11, 30),
               assigned_agent_id=alice.id, assigned_at=at(11, 40), first_agent_reply_at=at(11, 41),
               last_agent_reply_at=at(11, 41), last_borrower_msg_at=at(11, 55), sla_breached_at=at(11, 32))
        s.add_all([
            SurveyResponse(conversation_id="c3", queue_entry_id=c3.id, agent_id=alice.id, rating=5, lang="zh",
                           at=at(9, 31)),
            SurveyResponse(conversation_id="c4", queue_entry_id=c4.id, agent_id=bob.id, rating=2, comment="slow",
                           at=at(10, 21)),
            CallbackTicket(conversation_id="c9", contact_method="phone", contact="***", status="open",
                           created_at=at(9, day=4)),
            CallbackTicket(conversation_id="c5", contact_method="email", contact="***", status="open",
                           created_at=at(11, 10)),
            CallbackTicket(conversation_id="c3", contact_method="phone", contact="***", status="done",
                           created_at=at(9, 40), lang="zh"),
            CallbackTicket(conversation_id="c4", contact_method="phone", contact="***", status="in_progress",
                           created_at=at(10, 30), due_at=at(11, 30)),
            Complaint(reference="C-1", conversation_id="c3", lang="zh", status="open", summary="", source="bot",
                      opened_at=at(9, 5), due_at=at(9, 5, day=20)),
            Complaint(reference="C-2", conversation_id="c9", status="in_progress", summary="", source="agent",
                      opened_at=at(9, day=4) - timedelta(days=20), due_at=at(9, day=4) - timedelta(days=5)),
            Complaint(reference="C-3", conversation_id="c4", status="resolved", summary="", source="agent",
                      opened_at=at(10, 25), due_at=at(10, 25, day=20)),
            AuditEvent(at=at(8), actor_type="agent", actor_id=str(alice.id), action="login"),
            AuditEvent(at=at(10, 30), actor_type="agent", actor_id=str(alice.id), action="agent_status",
                       detail={"from": "online", "to": "away"}),
            AuditEvent(at=at(9, 30), actor_type="agent", actor_id=str(bob.id), action="login"),
            AuditEvent(at=at(11, 30), actor_type="agent", actor_id=str(bob.id), action="logout"),
        ])
        return {"alice": alice.id, "bob": bob.id, "c6_entry": c6.id}
