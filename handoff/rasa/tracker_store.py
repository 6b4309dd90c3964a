"""Rasa's SQL tracker store, seen from the service: erase one conversation's events, purge silent ones.

Rasa's HTTP API cannot delete: `PUT /conversations/{id}/tracker/events` replaces events in memory, but
Rasa 3.6's SQLTrackerStore saves only events past the count already stored, so nothing is removed. The
service therefore deletes from the tracker store's own table (`events`: sender_id, timestamp, ...; the
layout of `rasa.core.tracker_store.SQLTrackerStore`), on SQLite (one machine) or PostgreSQL (production).
Rasa reads the table on every turn (no cache), so a deleted conversation starts afresh.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, delete, func, inspect, select

from handoff.infra import db

EVENTS = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("timestamp", Float),
)


class TrackerStore:
    """Deletes from Rasa's tracker store database at `url` (SQLAlchemy URL)."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = db.make_engine(url)

    def _has_events(self) -> bool:
        """False until Rasa has created its table (it never ran against this database)."""
        return inspect(self._engine).has_table(EVENTS.name)

    def erase(self, sender_id: str) -> int:
        """Delete every event of one conversation; returns how many there were."""
        if not self._has_events():
            return 0
        with self._engine.begin() as conn:
            return int(conn.execute(delete(EVENTS).where(EVENTS.c.sender_id == sender_id)).rowcount)

    def purge_silent(self, *, before: datetime) -> int:
        """Delete the events of every conversation whose last event is older than `before`."""
        if not self._has_events():
            return 0
        silent = (
            select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
            .having(func.max(EVENTS.c.timestamp) < before.timestamp())
        )
        with self._engine.begin() as conn:
            return int(conn.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(silent))).rowcount)

    def count(self, sender_id: str) -> int:
        if not self._has_events():
            return 0
        with self._engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id == sender_id))
                       or 0)

    def close(self) -> None:
        self._engine.dispose()
