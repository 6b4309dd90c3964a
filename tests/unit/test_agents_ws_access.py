"""An agent's socket carries a chat only while the agent may see it (issue 11, item 1).

Each test replays an attack that worked: a watch that outlived the right to view the chat (another
agent claimed it, it was transferred, closed or handed back), and a socket that outlived its session
(logout, revoked sessions, expiry). The right is checked on every frame, on the bus events that
change it, and by a timer, so a socket nobody uses is closed too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from agent_support import (
    Frame,
    bearer,
    frames_within,
    make_agent,
    make_settings,
    token_for,
    tx,
    until,
    waiting_borrower,
)
from borrower_helpers import ScriptedRasa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from starlette.testclient import WebSocketTestSession

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.models import AgentSession, Message

RECHECK_S = 0.2
SECRET = "my address is 12 Elm St"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock, scripted_rasa: ScriptedRasa) -> Iterator[TestClient]:
    settings = make_settings(DATABASE_URL=str(engine.url), RASA_URL=scripted_rasa.url, AGENT_WS_RECHECK_S=RECHECK_S)
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def entry_id(api: TestClient, token: str, conversation_id: str) -> int:
    entries = api.get("/api/agent/queue", headers=bearer(token)).json()["entries"]
    return next(int(e["id"]) for e in entries if e["conversation_id"] == conversation_id)


def watching(api: TestClient, token: str, conversation_id: str) -> WebSocketTestSession:
    ws = api.websocket_connect("/ws/agent").__enter__()
    ws.send_json({"type": "auth", "token": token})
    until(ws, lambda f: f["type"] == "hello")
    ws.send_json({"type": "watch", "conversation_id": conversation_id, "after": 0})
    until(ws, lambda f: f["type"] == "watching")
    return ws


def borrower_says(api: TestClient, conversation_id: str, borrower_token: str, text: str = SECRET) -> None:
    sent = api.post(f"/api/conversations/{conversation_id}/messages", json={"text": text},
                    headers=bearer(borrower_token))
    assert sent.status_code == 200, sent.text


def leaked(frames: list[Frame], text: str = SECRET) -> list[Frame]:
    return [f for f in frames if f["type"] == "message" and text in f["message"]["text"]]


def held_chat(api: TestClient, engine: Engine, clock: FakeClock, username: str = "ann") -> tuple[str, str, str]:
    """`username` holds a chat: (their token, conversation id, borrower token)."""
    make_agent(engine, clock, username)
    token = token_for(api, username)
    conversation_id, borrower_token = waiting_borrower(api)
    claimed = api.post(f"/api/agent/queue/{entry_id(api, token, conversation_id)}/claim", headers=bearer(token))
    assert claimed.status_code == 200, claimed.text
    return token, conversation_id, borrower_token


def test_a_watch_ends_when_another_agent_claims_the_chat(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob")
    ann, bob = token_for(api, "ann"), token_for(api, "bob")
    conversation_id, borrower_token = waiting_borrower(api)
    ws = watching(api, ann, conversation_id)  # a preview of a waiting chat in Ann's language: allowed
    try:
        assert api.post(f"/api/agent/queue/{entry_id(api, bob, conversation_id)}/claim",
                        headers=bearer(bob)).status_code == 200
        assert api.get(f"/api/agent/conversations/{conversation_id}", headers=bearer(ann)).status_code == 403
        borrower_says(api, conversation_id, borrower_token)
        api.post(f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Bob here"},
                 headers=bearer(bob))
        frames = frames_within(ws, 0.5)
        assert not leaked(frames) and not leaked(frames, "Bob here")
        assert {"type": "unwatched", "conversation_id": conversation_id, "reason": "forbidden"} in frames
    finally:
        ws.__exit__(None, None, None)


def test_a_watch_ends_when_the_chat_is_transferred(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    ann, conversation_id, borrower_token = held_chat(api, engine, clock)
    bob_id = make_agent(engine, clock, "bob").id
    ws = watching(api, ann, conversation_id)
    try:
        moved = api.post(f"/api/agent/conversations/{conversation_id}/transfer", json={"agent_id": bob_id},
                         headers=bearer(ann))
        assert moved.status_code == 200, moved.text
        borrower_says(api, conversation_id, borrower_token)
        frames = frames_within(ws, 0.5)
        assert not leaked(frames)
        assert {"type": "unwatched", "conversation_id": conversation_id, "reason": "forbidden"} in frames
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.parametrize("finish", ["close", "hand-back"])
def test_a_watch_ends_when_the_chat_is_closed_or_handed_back(
    api: TestClient, engine: Engine, clock: FakeClock, finish: str
) -> None:
    ann, conversation_id, borrower_token = held_chat(api, engine, clock)
    ws = watching(api, ann, conversation_id)
    try:
        body = {"resolution_code": "resolved"} if finish == "close" else {"note": "explained the payoff quote"}
        done = api.post(f"/api/agent/conversations/{conversation_id}/{finish}", json=body, headers=bearer(ann))
        assert done.status_code == 200, done.text
        if finish == "hand-back":  # the borrower talks to the bot again; a closed chat takes no message
            borrower_says(api, conversation_id, borrower_token)
        frames = frames_within(ws, 0.5)
        assert [f["state"] for f in frames if f["type"] == "state"]  # the console still learns the chat ended
        assert not leaked(frames)
        assert {"type": "unwatched", "conversation_id": conversation_id, "reason": "finished"} in frames
        # Ann can still read the transcript of the chat she finished, through the API
        assert api.get(f"/api/agent/conversations/{conversation_id}", headers=bearer(ann)).status_code == 200
    finally:
        ws.__exit__(None, None, None)


def test_logout_closes_the_socket_and_its_frames_reach_nobody(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    ann, conversation_id, borrower_token = held_chat(api, engine, clock)
    ws = watching(api, ann, conversation_id)
    try:
        assert api.post("/api/agent/logout", headers=bearer(ann)).status_code == 200
        assert api.get("/api/agent/me", headers=bearer(ann)).status_code == 401
        ws.send_json({"type": "message", "conversation_id": conversation_id, "text": "still here after logout"})
        borrower_says(api, conversation_id, borrower_token)
        frames = frames_within(ws, 0.5)
        assert not leaked(frames)
        assert frames[-1] == {"type": "closed", "code": 4401}
        stored = tx(engine, lambda s: s.scalars(select(Message.text).where(
            Message.conversation_id == conversation_id)).all())
        assert "still here after logout" not in stored
    finally:
        ws.__exit__(None, None, None)


def test_logout_of_one_session_leaves_the_other_open(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    ann, conversation_id, _ = held_chat(api, engine, clock)
    other = token_for(api, "ann")  # the same agent, logged in a second time (another browser)
    ws = watching(api, other, conversation_id)
    try:
        assert api.post("/api/agent/logout", headers=bearer(ann)).status_code == 200
        ws.send_json({"type": "ping"})
        assert [f["type"] for f in frames_within(ws, 0.5)] == ["pong"]
    finally:
        ws.__exit__(None, None, None)


def test_revoked_sessions_close_an_idle_socket(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    """Disabling an agent or revoking its sessions removes the session rows: the timer notices."""
    ann, conversation_id, _ = held_chat(api, engine, clock)
    ws = watching(api, ann, conversation_id)
    try:
        tx(engine, lambda s: s.execute(delete(AgentSession)))
        time.sleep(RECHECK_S * 3)
        frames = frames_within(ws, 0.5)
        assert frames and frames[-1] == {"type": "closed", "code": 4401}
    finally:
        ws.__exit__(None, None, None)


def test_an_expired_session_streams_nothing_more(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    ann, conversation_id, borrower_token = held_chat(api, engine, clock)
    ws = watching(api, ann, conversation_id)
    try:
        clock.advance(9 * 3600)  # past AGENT_SESSION_TTL_S (8 h)
        borrower_says(api, conversation_id, borrower_token)
        frames = frames_within(ws, 0.5)
        assert not leaked(frames)
        assert frames[-1] == {"type": "closed", "code": 4401}
    finally:
        ws.__exit__(None, None, None)


def test_an_expired_idle_socket_is_closed_by_the_timer(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    ws = api.websocket_connect("/ws/agent").__enter__()
    try:
        ws.send_json({"type": "auth", "token": token_for(api, "ann")})
        until(ws, lambda f: f["type"] == "hello")
        clock.advance(9 * 3600)
        frames = frames_within(ws, RECHECK_S * 5)  # no frame sent: only the timer can close it
        assert frames and frames[-1] == {"type": "closed", "code": 4401}
    finally:
        ws.__exit__(None, None, None)


def test_logout_on_one_replica_closes_the_socket_on_another(
    engine: Engine, clock: FakeClock, redis_url: str, scripted_rasa: ScriptedRasa
) -> None:
    """Two apps on one database and one Redis: the socket lives on the first, the logout reaches the second."""
    settings = make_settings(DATABASE_URL=str(engine.url), RASA_URL=scripted_rasa.url, REDIS_URL=redis_url,
                             AGENT_WS_RECHECK_S=300)  # the timer must not be what closes it
    with TestClient(create_app(settings, engine, clock=clock)) as one, \
            TestClient(create_app(settings, engine, clock=clock, migrate=False)) as two:
        make_agent(engine, clock, "ann")
        ann = token_for(one, "ann")
        ws = one.websocket_connect("/ws/agent").__enter__()
        try:
            ws.send_json({"type": "auth", "token": ann})
            until(ws, lambda f: f["type"] == "hello")
            assert two.post("/api/agent/logout", headers=bearer(ann)).status_code == 200
            frames = frames_within(ws, 2.0)
            assert frames and frames[-1] == {"type": "closed", "code": 4401}
        finally:
            ws.__exit__(None, None, None)
