"""Database round trips per bot turn, counted with SQLAlchemy events (docs/production.md).

The real service runs in-process (FastAPI's TestClient) on a scratch database, with a stand-in for
Rasa's REST channel that answers at once (the bot's own work is not what is counted). Each borrower
message in the bot state is one turn; every statement, BEGIN, COMMIT, ROLLBACK and connection check
(`pool_pre_ping`) the turn causes is one round trip to the database server.

    .venv/bin/python benchmarks/db_round_trips.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/db_round_trips.py              # SQLite (no network: for comparison)

Writes nothing; prints a table (per kind, mean per turn) and the statements of one turn with --show.
`--handoff` counts handoff turns instead: in a new conversation each, the borrower asks for a person and Rasa
answers with its text and a `handoff` packet (the conversation is queued, everyone behind is told their place).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from scratch_db import postgres_scratch_database

from contract.packet import anger_summary, build_packet
from contract.turns import packet_turn
from handoff.app import create_app
from handoff.config import Settings
from handoff.infra import db


def engine_pre_pings(engine: Engine) -> bool:
    return bool(getattr(engine.pool, "_pre_ping", False))


class Counter:
    """Round trips by kind, and the statements, while `active`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.active = False
        self.kinds: collections.Counter[str] = collections.Counter()
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        if engine.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE is a statement (counted below)
            event.listen(engine, "begin", lambda conn: self._transaction("BEGIN", conn))
        event.listen(engine, "commit", lambda conn: self._transaction("COMMIT", conn))
        event.listen(engine, "rollback", lambda conn: self._transaction("ROLLBACK", conn))
        if engine.dialect.name != "sqlite":
            # The checks of idle connections (handoff/infra/db.py) run through the DBAPI cursor: count
            # them where the pool hands a connection out after its idle time.
            event.listen(engine, "checkout", self._checkout)

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        if engine_pre_pings(self.engine):
            self._count("pre-ping")
        elif (since := record.info.get(db.IDLE_SINCE)) is not None and time.monotonic() - since >= db.PING_IDLE_S:
            self._count("idle check")

    def _transaction(self, kind: str, conn: Any) -> None:
        """A BEGIN, COMMIT or ROLLBACK reaches the server unless the connection commits each statement
        itself (autocommit: psycopg then sends neither)."""
        if not getattr(conn.connection.dbapi_connection, "autocommit", False):
            self._count(kind)

    def _count(self, kind: str) -> None:
        if self.active:
            self.kinds[kind] += 1

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.active:
            verb = statement.split(None, 1)[0].upper()
            self.kinds[verb] += 1
            self.statements.append(" ".join(statement.split())[:140])

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.kinds.clear()
        self.statements.clear()
        self.active = True
        try:
            yield
        finally:
            self.active = False


def handoff_reply(said: str) -> list[dict[str, Any]]:
    """What the bot answers a request for a person (actions/handoff.py): its text and the packet."""
    turn = packet_turn(said, {"intent": {"name": "request_human", "confidence": 0.97}, "anger": {"score": 0.1}})
    packet = build_packet(
        conversation_id=None, reason="explicit_request", trigger=None, priority="normal", lang="en",
        summary="Borrower asked for a person.", turns=[turn], anger=anger_summary([turn]), faq_candidates=[],
    )
    return [{"text": "I'll connect you with a person."}, {"custom": {"type": "handoff", "packet": packet}}]


def scripted_rasa() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            said = str(body.get("message", ""))
            # What an FAQ answer looks like (actions/faq.py): the text with its quick replies, and the outcome.
            data = json.dumps(handoff_reply(said) if "person" in said else [
                {"text": f"answer to: {said}", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
                {"custom": {"type": "turn_outcome", "outcome": "answer", "faq_id": "late-fee", "score": 0.9}},
            ]).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            data = b'{"version": "stand-in"}'
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def measure(database_url: str, turns: int, show: bool, handoff: bool = False) -> dict[str, float]:
    server, rasa_url = scripted_rasa()
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    settings = Settings(
        DATABASE_URL=database_url, RASA_URL=rasa_url, ACTION_SERVER_URL=None, BUSINESS_HOURS="always",
        BUSINESS_TZ="UTC", RATE_LIMIT_CONVERSATION_PER_MIN=100000, RATE_LIMIT_CLIENT_PER_MIN=100000,
        SLA_INTERVAL_S=300,  # keep the SLA clock's own passes out of the count
    )
    counter = Counter(engine)
    per_turn: list[collections.Counter[str]] = []
    try:
        with TestClient(create_app(settings, engine)) as client:
            def conversation() -> tuple[dict[str, str], str]:
                created = client.post("/api/conversations", json={"lang": "en"}).json()
                auth = {"Authorization": f"Bearer {created['token']}"}
                url = f"/api/conversations/{created['id']}/messages"
                client.post(url, headers=auth, json={"text": "warm up"})
                return auth, url

            auth, url = conversation()
            for n in range(turns):
                if handoff:
                    auth, url = conversation()
                text = "a person please" if handoff else f"question {n}"
                with counter.counting():
                    resp = client.post(url, headers=auth, json={"text": text, "client_message_id": f"m{n}"})
                assert resp.status_code == 200 and resp.json()["state"] == ("queued" if handoff else "bot"), resp.text
                per_turn.append(collections.Counter(counter.kinds))
                if show and n == 0:
                    print("statements of one turn:")
                    for statement in counter.statements:
                        print("  ", statement)
    finally:
        engine.dispose()
        server.shutdown()
    kinds = sorted({kind for turn in per_turn for kind in turn})
    result = {kind: statistics.mean(turn[kind] for turn in per_turn) for kind in kinds}
    result["total"] = statistics.mean(sum(turn.values()) for turn in per_turn)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="PostgreSQL server URL (a scratch database is made there)")
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--show", action="store_true", help="print the statements of one turn")
    parser.add_argument("--handoff", action="store_true", help="count handoff turns (each queues a conversation)")
    args = parser.parse_args()
    if args.database_url:
        with postgres_scratch_database(args.database_url, prefix="roundtrips") as url:
            result = measure(url, args.turns, args.show, args.handoff)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(f"sqlite:///{tmp}/roundtrips.db", args.turns, args.show, args.handoff)
    print(f"round trips per {'handoff' if args.handoff else 'bot'} turn ({args.turns} turns, {'PostgreSQL' if args.database_url else 'SQLite'}):")
    for kind, mean in result.items():
        print(f"  {kind:10s} {mean:5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
