"""The single-machine tracker store: Rasa's SQLTrackerStore on a SQLite file, tuned (see bot/speedups.py).

bot/endpoints.yml names this class (`type: bot.tracker_store.SQLiteTrackerStore`) so that the speed-ups are
installed when Rasa builds its tracker store at start-up, before it creates the database engine; the
components module (loaded later, with the model) would be too late for the connection pool. Behaviour and
table layout are Rasa's own; the production layout (docs/production.md) keeps `type: SQL` on PostgreSQL.
"""

from __future__ import annotations

from rasa.core.tracker_store import SQLTrackerStore

from bot import speedups

speedups.install()


class SQLiteTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store; importing this module pools and tunes its SQLite connections."""
