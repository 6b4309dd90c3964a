"""When the database cannot be reached the service says so (503 `database_unavailable`, Retry-After) at
once, and a retried message whose first attempt died half-way is finished, not refused forever.

The outage itself (connections reset while borrowers chat) is exercised with real PostgreSQL behind a TCP
proxy in tests/integration/test_faults_production_layout.py.
"""

from __future__ import annotations

import socket
import time

from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings
from handoff.conversations.records import append_message
from handoff.infra import db
from handoff.states import Sender


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_is_a_clear_503(settings: Settings) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere"
    engine = db.make_engine(url)
    try:
        with TestClient(create_app(settings.model_copy(update={"DATABASE_URL": url}), engine, migrate=False)) as api:
            started = time.monotonic()
            response = api.post("/api/conversations", json={"lang": "en"})
            assert time.monotonic() - started < 5
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
            assert response.headers["Retry-After"] == "2"
            assert "Traceback" not in response.text and "psycopg" not in response.text
            assert api.get("/healthz").status_code == 503
    finally:
        engine.dispose()


def test_a_turn_left_without_reply_is_finished_by_the_retry(
    settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    """The first attempt stored the borrower message, then lost the database before the reply was stored
    (or its commit's answer was lost). The retry with the same client_message_id must not be a 409 forever,
    and must not ask Rasa a second time: the turn ends with the honest fallback."""
    with TestClient(create_app(settings.model_copy(update={"RASA_URL": scripted_rasa.url}), engine)) as api:
        cid, auth = start(api)
        with db.session_scope(engine) as session:
            append_message(session, conversation_id=cid, sender=Sender.BORROWER, text="payoff?", client_message_id="m1")
        retried = api.post(f"/api/conversations/{cid}/messages", headers=auth,
                           json={"text": "payoff?", "client_message_id": "m1"})
        assert retried.status_code == 200, retried.text
        messages = retried.json()["messages"]
        assert [(m["seq"], m["sender"]) for m in messages] == [(1, "borrower"), (2, "system")]
        assert messages[1]["payload"]["custom"] == {"type": "bot_unavailable"}
        assert scripted_rasa.messages() == []
        again = api.post(f"/api/conversations/{cid}/messages", headers=auth,
                         json={"text": "payoff?", "client_message_id": "m1"})
        assert again.json()["messages"] == messages
        stored = api.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"]
        assert [m["seq"] for m in stored] == [1, 2]
