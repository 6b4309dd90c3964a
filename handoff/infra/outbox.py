"""Events that reach the bus only once the transaction that produced them has committed.

Data functions queue an event on their session with `publish_after_commit`; `handoff.infra.db.session_scope`
hands the queued events to the bus after a successful commit and drops them on a rollback. So a subscriber
that reads the database always finds what an event announces, and a rolled-back change announces nothing.
No SQLAlchemy listener is involved: nothing is registered at import.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

PENDING_KEY = "pending_events"  # Session.info key: the events queued in this transaction


class Publisher(Protocol):
    def publish_threadsafe(self, topic: str, event: dict[str, Any]) -> None: ...


def publish_after_commit(session: Session, topic: str, event: dict[str, Any]) -> None:
    """Queue an event; it reaches the bus when (and only if) this session's transaction commits."""
    session.info.setdefault(PENDING_KEY, []).append((topic, event))


def pending(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """The events queued on `session` so far, left queued (in order)."""
    queued: list[tuple[str, dict[str, Any]]] = session.info.get(PENDING_KEY, [])
    return list(queued)


def take_pending(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """The events queued on `session`, removed from it."""
    pending: list[tuple[str, dict[str, Any]]] = session.info.pop(PENDING_KEY, [])
    return pending


def deliver(pending: list[tuple[str, dict[str, Any]]], bus: Publisher | None) -> None:
    """Hand committed events to the bus, in the order they were queued."""
    if bus is None:
        return
    for topic, event in pending:
        bus.publish_threadsafe(topic, event)
