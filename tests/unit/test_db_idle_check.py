"""Pooled PostgreSQL connections are checked only after sitting idle (handoff/infra/db.py), not on every
checkout: a connection dropped while idle is replaced without an error, and connections dropped between
two quick turns cost one 503 (which the client retries with the same client_message_id), never more.
The connections are really dropped: PostgreSQL terminates the service's backends."""

from __future__ import annotations

import time

import pytest
from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra import db

pytestmark = pytest.mark.db


def drop_service_connections(url: str) -> int:
    """Terminate every other backend of this database; returns how many."""
    admin = create_engine(db.normalize_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).all())
    finally:
        admin.dispose()


def test_dropped_connections_cost_at_most_one_retry(
    settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL")
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(settings.model_copy(update={"RASA_URL": scripted_rasa.url, "SLA_INTERVAL_S": 300}), engine)
    with TestClient(app) as client:
        cid, auth = start(client)
        path = f"/api/conversations/{cid}/messages"
        assert client.post(path, headers=auth, json={"text": "one", "client_message_id": "1"}).status_code == 200

        assert drop_service_connections(url) >= 1  # the pooled connections die while idle
        time.sleep(db.PING_IDLE_S + 0.5)
        resp = client.post(path, headers=auth, json={"text": "two", "client_message_id": "2"})
        assert resp.status_code == 200, resp.text  # checked, replaced: no error

        assert drop_service_connections(url) >= 1  # between two quick turns: no check, one failure
        statuses = []
        for _ in range(5):
            resp = client.post(path, headers=auth, json={"text": "three", "client_message_id": "3"})
            statuses.append(resp.status_code)
            if resp.status_code == 200:
                break
            assert resp.status_code == 503 and resp.json()["error"]["code"] == "database_unavailable"
        assert statuses[-1] == 200 and statuses.count(503) <= 1, statuses
        page = client.get(f"{path}?after=0", headers=auth).json()["messages"]
        assert [m["text"] for m in page if m["sender"] == "borrower"] == ["one", "two", "three"]
