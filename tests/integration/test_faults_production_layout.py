"""The production layout of docs/production.md, on one machine: PostgreSQL + Redis, two service replicas.

Rasa runs with the endpoints YAML printed in docs/production.md (SQL tracker store on PostgreSQL, Redis lock
store), so the document cannot drift from what works. Two conversation-service replicas share one database
and Redis; a borrower alternates between them turn by turn and a WebSocket held on one replica must deliver
the replies produced on the other. Then replica A is stopped and the borrower carries on through B.

Needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL; slow (it starts Rasa, the action server and two
services), so `make test` leaves it out: run it with `pytest -m slow tests/integration/test_faults_production_layout.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import rasa_stack
from service_process import ROOT, ServiceProcess, run_service, stop
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from websockets.asyncio.client import connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOC = ROOT / "docs" / "production.md"
PRODUCTION_ENDPOINTS = ROOT / "bot" / "endpoints.production.yml"
FAQ_EN = "How do I get a payoff quote?"
TURNS = ["hello", FAQ_EN, "What is the late fee?", "thanks"]


def endpoints_from_doc() -> str:
    """The YAML block under '### Rasa endpoints' in docs/production.md (and in bot/, once it is there)."""
    section = DOC.read_text(encoding="utf-8").split("### Rasa endpoints", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, "docs/production.md: no ```yaml block under '### Rasa endpoints'"
    if PRODUCTION_ENDPOINTS.exists():
        assert PRODUCTION_ENDPOINTS.read_text(encoding="utf-8").split() == match.group(1).split(), (
            f"{PRODUCTION_ENDPOINTS.relative_to(ROOT)} and docs/production.md differ: keep them the same"
        )
    return match.group(1)


@dataclass
class Layout:
    replicas: list[ServiceProcess]
    rasa: rasa_stack.RasaStack
    tracker_db_url: str


@contextlib.contextmanager
def fresh_postgres_db(base_url: str) -> Iterator[str]:
    """A new, empty database on the TEST_DATABASE_URL server (SQLAlchemy URL), dropped afterwards."""
    base = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def rasa_with_endpoints(endpoints: Path, env: dict[str, str]) -> Iterator[None]:
    original = rasa_stack._start

    def start(name: str, cmd: list[str], proc_env: dict[str, str], workdir: Path) -> Any:
        if name == "rasa":
            cmd = [*cmd, "--endpoints", str(endpoints)]  # run_rasa.sh passes extra arguments on; the last wins
            proc_env = {**proc_env, **env}
        return original(name, cmd, proc_env, workdir)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rasa_stack, "_start", start)
        yield


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layout]:
    pg, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not pg or not pg.startswith("postgresql") or not redis_url:
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL (.ci/run sets both)")
    workdir = Path(tmp_path_factory.mktemp("prod_layout"))
    endpoints = workdir / "endpoints.production.yml"
    endpoints.write_text(endpoints_from_doc(), encoding="utf-8")
    redis = urlsplit(redis_url)
    with contextlib.ExitStack() as stack:
        service_db = stack.enter_context(fresh_postgres_db(pg))
        tracker_db = make_url(stack.enter_context(fresh_postgres_db(pg)))
        rasa_env = {
            "RASA_TRACKER_DB_HOST": tracker_db.host or "127.0.0.1", "RASA_TRACKER_DB_PORT": str(tracker_db.port or 5432),
            "RASA_TRACKER_DB_NAME": str(tracker_db.database), "RASA_TRACKER_DB_USER": tracker_db.username or "postgres",
            "RASA_TRACKER_DB_PASSWORD": tracker_db.password or "",
            "RASA_LOCK_REDIS_HOST": redis.hostname or "127.0.0.1", "RASA_LOCK_REDIS_PORT": str(redis.port or 6379),
            "RASA_LOCK_REDIS_DB": "1", "RASA_LOCK_REDIS_PASSWORD": redis.password or "",
        }
        with rasa_with_endpoints(endpoints, rasa_env):
            rasa = stack.enter_context(rasa_stack.start_rasa_stack(workdir=workdir / "rasa"))
        rasa.send("warm-up", FAQ_EN, lang="en", timeout_s=120)
        replicas = [
            stack.enter_context(run_service(
                workdir / f"service-{i}", DATABASE_URL=service_db, REDIS_URL=redis_url, RASA_URL=rasa.rasa_url,
                RASA_TOKEN=rasa.rasa_token, RASA_TIMEOUT_S="8", ACTION_SERVER_URL=rasa.action_url,
            ))
            for i in range(2)  # one after the other: the first runs the migrations
        ]
        yield Layout(replicas=replicas, rasa=rasa, tracker_db_url=tracker_db.render_as_string(hide_password=False))


async def _collect(ws_url: str, token: str, seen: list[dict[str, Any]], ready: asyncio.Event) -> None:
    async with connect(ws_url, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token, "after": 0}))
        async for frame in ws:
            event = json.loads(frame)
            if event.get("type") == "ready":
                ready.set()
            elif event.get("type") == "message":
                seen.append(event["message"])


async def _conversation_across_replicas(layout: Layout) -> None:
    a = layout.replicas[0]
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        created = (await http.post(f"{a.url}/api/conversations", json={"lang": "en"})).json()
        cid, headers = created["id"], {"Authorization": f"Bearer {created['token']}"}
        seen: list[dict[str, Any]] = []
        ready = asyncio.Event()
        reader = asyncio.create_task(_collect(a.url.replace("http", "ws", 1) + f"/ws/conversations/{cid}",
                                              created["token"], seen, ready))
        await asyncio.wait_for(ready.wait(), 15)
        last_seq = 0
        for i, sentence in enumerate(TURNS):
            replica = layout.replicas[i % 2]  # alternate: every turn lands on the other replica
            reply = await http.post(f"{replica.url}/api/conversations/{cid}/messages", headers=headers,
                                    json={"text": sentence, "client_message_id": uuid.uuid4().hex})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            senders = [m["sender"] for m in body["messages"]]
            assert "bot" in senders, f"turn {i} on replica {i % 2}: {body['messages']}"
            last_seq = max(m["seq"] for m in body["messages"])
        # The WebSocket on replica A saw everything, including what replica B stored (Redis fan-out).
        for _ in range(100):
            if {m["seq"] for m in seen} >= set(range(1, last_seq + 1)):
                break
            await asyncio.sleep(0.1)
        assert [m["seq"] for m in seen] == list(range(1, last_seq + 1)), "gaps, duplicates or disorder over WS"
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        # Both replicas read the same history.
        for replica in layout.replicas:
            listed = (await http.get(f"{replica.url}/api/conversations/{cid}/messages", headers=headers)).json()
            assert [m["seq"] for m in listed["messages"]] == list(range(1, last_seq + 1))


def test_one_conversation_alternating_between_replicas(layout: Layout) -> None:
    asyncio.run(_conversation_across_replicas(layout))


def test_rasa_keeps_trackers_in_postgresql(layout: Layout) -> None:
    engine = create_engine(layout.tracker_db_url)
    try:
        with engine.connect() as conn:
            senders = conn.execute(text("SELECT count(DISTINCT sender_id) FROM events")).scalar_one()
    finally:
        engine.dispose()
    assert senders >= 2  # the warm-up and the conversation above


def test_borrowers_carry_on_when_a_replica_stops(layout: Layout) -> None:
    a, b = layout.replicas
    with httpx.Client(trust_env=False, timeout=30) as http:
        created = http.post(f"{a.url}/api/conversations", json={"lang": "en"}).json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        first = http.post(f"{a.url}/api/conversations/{created['id']}/messages", headers=headers,
                          json={"text": FAQ_EN, "client_message_id": "m1"})
        assert first.status_code == 200
        stop(a.process)
        second = http.post(f"{b.url}/api/conversations/{created['id']}/messages", headers=headers,
                           json={"text": "thanks", "client_message_id": "m2"})
        assert second.status_code == 200
        assert any(m["sender"] == "bot" for m in second.json()["messages"]), second.json()
        # A retry of the first message through the surviving replica is recognised, not stored twice.
        again = http.post(f"{b.url}/api/conversations/{created['id']}/messages", headers=headers,
                          json={"text": FAQ_EN, "client_message_id": "m1"})
        assert again.status_code == 200 and again.json()["messages"][0]["seq"] == 1
