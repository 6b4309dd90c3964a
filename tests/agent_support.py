"""Helpers for the agent-side tests: borrowers waiting in the queue, agents, one-transaction calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.testclient import WebSocketTestSession

from handoff.agents import accounts
from handoff.config import Settings
from handoff.conversations.records import create_conversation
from handoff.infra.clock import Clock
from handoff.infra.db import session_scope
from handoff.models import Agent, QueueEntry
from handoff.queue import entries

T = TypeVar("T")
PASSWORD = "correct horse battery"


def make_settings(**overrides: Any) -> Settings:
    """Settings for agent-side tests: no Rasa, no Redis, always open unless a test says otherwise."""
    values: dict[str, Any] = {
        "DATABASE_URL": "sqlite:///:memory:", "RASA_URL": "http://127.0.0.1:9", "RASA_TOKEN": "test-rasa-token",
        "RASA_TIMEOUT_S": 2.0, "ACTION_SERVER_URL": None, "REDIS_URL": None,
        "SECRET_KEY": "test-secret-key-not-for-production", "BUSINESS_HOURS": "always", "BUSINESS_TZ": "UTC",
        "RATE_LIMIT_CONVERSATION_PER_MIN": 1000, "RATE_LIMIT_CLIENT_PER_MIN": 10000, "APP_ENV": "development",
    }
    values.update(overrides)
    return Settings(**values)


def tx(engine: Engine, work: Callable[[Session], T], *, bus: Any = None) -> T:
    with session_scope(engine, bus=bus) as session:
        return work(session)


def waiting_chat(
    engine: Engine, clock: Clock, *, lang: str = "en", priority: str = "normal", reason: str = "explicit_request",
    summary: str = "wants a payoff quote",
) -> tuple[str, int]:
    """A conversation handed off to the queue: (conversation id, queue entry id)."""

    def work(session: Session) -> tuple[str, int]:
        conversation, _token = create_conversation(session, secret_key="k" * 20, lang=lang)
        entry = entries.enqueue(
            session, conversation=conversation, packet={"reason": reason, "summary": summary}, reason=reason,
            priority=priority, lang=lang, summary=summary, clock=clock,
        )
        return conversation.id, entry.id

    return tx(engine, work)


def make_agent(
    engine: Engine, clock: Clock, username: str, *, role: str = "agent", languages: str = "en,zh",
    max_concurrent: int = 3, online: bool = True,
) -> Agent:
    def work(session: Session) -> Agent:
        agent = accounts.create_agent(
            session, username=username, password=PASSWORD, role=role, languages=languages,
            display_name=username.title(), max_concurrent=max_concurrent,
        )
        if online:
            agent.status = "online"
            agent.last_seen_at = clock.now()
        return agent

    return tx(engine, work)


def entry_of(engine: Engine, entry_id: int) -> QueueEntry:
    return tx(engine, lambda s: s.get(QueueEntry, entry_id))


Frame = dict[str, Any]


def token_for(api: TestClient, username: str) -> str:
    """Log in through the API; the client keeps no cookie (each socket or call says whose token)."""
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    api.cookies.clear()
    return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def waiting_borrower(api: TestClient, lang: str = "en") -> tuple[str, str]:
    """A borrower who asked for a person through the API: (conversation id, borrower token)."""
    created = api.post("/api/conversations", json={"lang": lang}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.post(f"/api/conversations/{created['id']}/handoff", json={}, headers=headers).status_code == 200
    return created["id"], created["token"]


def until(ws: Any, predicate: Callable[[Frame], bool], limit: int = 60) -> Frame:
    for _ in range(limit):
        frame = ws.receive_json()
        if predicate(frame):
            return frame
    raise AssertionError("expected frame never arrived")


def receive_within(ws: WebSocketTestSession, seconds: float) -> Frame | None:
    """The next frame, a `{"type": "closed", "code": N}` frame when the server closed the socket, or
    None when nothing arrived within `seconds` (TestClient's own receive waits forever)."""

    async def receive() -> Any:
        with anyio.move_on_after(seconds):
            return await ws._send_rx.receive()  # private, but the only way to wait with a deadline
        return None

    message = ws.portal.call(receive)
    if message is None:
        return None
    if message["type"] == "websocket.close":
        return {"type": "closed", "code": message.get("code", 1000)}
    return json.loads(message["text"])  # type: ignore[no-any-return]


def frames_within(ws: WebSocketTestSession, seconds: float) -> list[Frame]:
    """Every frame that arrives until `seconds` pass with none, or the socket closes."""
    frames: list[Frame] = []
    while (frame := receive_within(ws, seconds)) is not None:
        frames.append(frame)
        if frame["type"] == "closed":
            break
    return frames
