"""Claim race: 8 agents (threads, each with its own session) claim the same chat at once, 40 times in
`make test` and 200 times in the stress run (`pytest -m slow`), both calling the data functions directly and
through the real server over HTTP.

Exactly one winner every time, every loser gets the 409 `already_claimed`, nothing else (no
"database is locked", no deadlock). On SQLite always; on PostgreSQL when TEST_DATABASE_URL is set.
Also: 8 agents pressing "take next" at once over 8 waiting chats each get a different chat.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_support import make_agent, tx, waiting_chat
from service_process import ServiceProcess, create_agent, run_service
from sqlalchemy import Engine, select

from handoff.agents import operations
from handoff.infra.clock import FakeClock
from handoff.infra.db import session_scope
from handoff.models import Conversation, QueueEntry
from handoff.queue import claims

pytestmark = pytest.mark.integration

AGENTS = 8
# Every round is the whole race (8 claims at one barrier); the long stress repeats it 200 times.
ROUNDS = [40, pytest.param(200, marks=pytest.mark.slow)]
HTTP_PASSWORD = "race-agent-password"


@pytest.mark.parametrize("rounds", ROUNDS)
def test_exactly_one_winner_every_time(race_engine: Engine, rounds: int) -> None:
    clock = FakeClock()
    agents = [make_agent(race_engine, clock, f"agent{i}", max_concurrent=rounds) for i in range(AGENTS)]
    barrier = threading.Barrier(AGENTS)

    def attempt(agent_index: int, entry_id: int) -> str:
        barrier.wait()
        try:
            with session_scope(race_engine) as session:
                operations.claim_chat(session, entry_id=entry_id, agent=agents[agent_index], clock=clock)
            return "won"
        except claims.AlreadyClaimedError:
            return "409"

    with ThreadPoolExecutor(AGENTS) as pool:
        for _ in range(rounds):
            conv_id, entry_id = waiting_chat(race_engine, clock)
            outcomes = list(pool.map(attempt, range(AGENTS), [entry_id] * AGENTS))
            assert sorted(outcomes) == ["409"] * (AGENTS - 1) + ["won"], outcomes
            winner = agents[outcomes.index("won")]
            entry = tx(race_engine, lambda s, e=entry_id: s.get(QueueEntry, e))
            conversation = tx(race_engine, lambda s, c=conv_id: s.get(Conversation, c))
            assert entry.status == "assigned" and entry.assigned_agent_id == winner.id
            assert conversation.state == "assigned" and conversation.assigned_agent_id == winner.id


def test_take_next_hands_out_distinct_chats(race_engine: Engine) -> None:
    clock = FakeClock()
    agents = [make_agent(race_engine, clock, f"agent{i}", max_concurrent=50) for i in range(AGENTS)]
    barrier = threading.Barrier(AGENTS)

    def take(agent_index: int) -> int | None:
        barrier.wait()
        with session_scope(race_engine) as session:
            got = operations.take_next_chat(session, agent=agents[agent_index], clock=clock)
        return None if got is None else got["id"]

    with ThreadPoolExecutor(AGENTS) as pool:
        for _ in range(10):
            entries = {waiting_chat(race_engine, clock)[1] for _ in range(AGENTS)}
            taken = list(pool.map(take, range(AGENTS)))
            assert sorted(t for t in taken if t is not None) == sorted(entries), taken
    waiting = tx(race_engine, lambda s: s.scalars(select(QueueEntry).where(QueueEntry.status == "waiting")).all())
    assert waiting == []


@pytest.fixture
def service(tmp_path: Path, make_database_url: Any) -> Iterator[ServiceProcess]:
    with make_database_url(tmp_path) as database_url, run_service(
        tmp_path / "svc", DATABASE_URL=database_url, AGENT_MAX_CONCURRENT="1000", LOG_LEVEL="ERROR"
    ) as running:
        for i in range(AGENTS):
            create_agent(running, username=f"agent{i}", password=HTTP_PASSWORD)
        yield running


@pytest.mark.parametrize("rounds", ROUNDS)
def test_over_http_exactly_one_200_and_seven_409(service: ServiceProcess, rounds: int) -> None:
    """The same race through the real server (uvicorn, worker threads, the agents' own sessions)."""
    clients = []
    for i in range(AGENTS):
        client = httpx.Client(base_url=service.url, timeout=60, trust_env=False)
        assert client.post("/api/agent/login", json={"username": f"agent{i}", "password": HTTP_PASSWORD}).status_code == 200
        clients.append(client)
    borrower = httpx.Client(base_url=service.url, timeout=60, trust_env=False)
    barrier = threading.Barrier(AGENTS)

    def claim(index: int, entry_id: int) -> tuple[int, str | None]:
        barrier.wait()
        response = clients[index].post(f"/api/agent/queue/{entry_id}/claim")
        return response.status_code, response.json().get("error", {}).get("code")

    try:
        with ThreadPoolExecutor(AGENTS) as pool:
            for _ in range(rounds):
                created = borrower.post("/api/conversations", json={"lang": "en"}).json()
                handoff = borrower.post(f"/api/conversations/{created['id']}/handoff", json={},
                                        headers={"Authorization": f"Bearer {created['token']}"})
                assert handoff.status_code == 200, handoff.text
                entries = clients[0].get("/api/agent/queue").json()["entries"]
                entry_id = next(e["id"] for e in entries if e["conversation_id"] == created["id"])
                outcomes = list(pool.map(claim, range(AGENTS), [entry_id] * AGENTS))
                assert sorted(outcomes) == [(200, None)] + [(409, "already_claimed")] * (AGENTS - 1), outcomes
                winner = clients[outcomes.index((200, None))]
                closed = winner.post(f"/api/agent/conversations/{created['id']}/close",
                                     json={"resolution_code": "resolved"})
                assert closed.status_code == 200, closed.text
    finally:
        for client in [*clients, borrower]:
            client.close()
    assert "database is locked" not in service.log_tail(200_000)


@pytest.mark.parametrize("rounds", [10, pytest.param(50, marks=pytest.mark.slow)])
def test_claims_and_borrower_turns_interleave_without_deadlock(race_engine: Engine, rounds: int) -> None:
    """Claims (entry, then conversation) against borrower messages (conversation, then entry): the
    agent side takes the conversation lock first, so PostgreSQL never has to break a deadlock."""
    from types import SimpleNamespace

    from handoff.borrower import turns

    clock = FakeClock()
    agents = [make_agent(race_engine, clock, f"agent{i}", max_concurrent=rounds) for i in range(4)]
    borrower_svc = SimpleNamespace(clock=clock)
    barrier = threading.Barrier(8)

    def claimer(index: int, entry_id: int) -> str:
        barrier.wait()
        try:
            with session_scope(race_engine) as session:
                operations.claim_chat(session, entry_id=entry_id, agent=agents[index], clock=clock)
            return "won"
        except claims.AlreadyClaimedError:
            return "409"

    def borrower(index: int, conv_id: str) -> str:
        barrier.wait()
        with session_scope(race_engine) as session:
            turns._store_borrower(session, conversation_id=conv_id, text=f"hello {index}",
                                  client_message_id=uuid.uuid4().hex, svc=borrower_svc)
        return "stored"

    with ThreadPoolExecutor(8) as pool:
        for _ in range(rounds):
            conv_id, entry_id = waiting_chat(race_engine, clock)
            futures = [pool.submit(claimer, i, entry_id) for i in range(4)]
            futures += [pool.submit(borrower, i, conv_id) for i in range(4)]
            outcomes = sorted(f.result() for f in futures)
            assert outcomes == ["409"] * 3 + ["stored"] * 4 + ["won"], outcomes
