"""Bad frames on both WebSockets get a clear error and break nothing (issue 11, item 10).

Reproduced before the fix: a lone surrogate (any database) or a NUL byte (PostgreSQL) in a borrower's
frame killed the socket's turn worker, so later messages were never stored; `"after": 10**30` ended
the agent's socket; typing frames were fanned out without limit; the socket accepted a
`client_message_id` the REST route refuses. Run with TEST_DATABASE_URL for the PostgreSQL variant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from agent_support import bearer, frames_within, make_agent, make_settings, token_for, until, waiting_borrower
from borrower_helpers import ScriptedRasa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.testclient import WebSocketTestSession

from handoff.api.ws_protocol import TYPING_FRAMES_PER_WINDOW
from handoff.app import create_app
from handoff.infra.clock import FakeClock

BAD_TEXTS = {
    "lone surrogate": '{"type": "message", "text": "my card \\ud83d is lost", "client_message_id": "bad-1"}',
    "NUL byte": '{"type": "message", "text": "my card\\u0000 is lost", "client_message_id": "bad-1"}',
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock, scripted_rasa: ScriptedRasa) -> Iterator[TestClient]:
    settings = make_settings(DATABASE_URL=str(engine.url), RASA_URL=scripted_rasa.url)
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def borrower_socket(api: TestClient, conversation_id: str, token: str) -> WebSocketTestSession:
    ws = api.websocket_connect(f"/ws/conversations/{conversation_id}").__enter__()
    ws.send_json({"type": "auth", "token": token, "after": 0})
    until(ws, lambda f: f["type"] == "ready")
    return ws


def agent_socket(api: TestClient, token: str) -> WebSocketTestSession:
    ws = api.websocket_connect("/ws/agent").__enter__()
    ws.send_json({"type": "auth", "token": token})
    until(ws, lambda f: f["type"] == "hello")
    return ws


def stored_texts(api: TestClient, conversation_id: str, token: str) -> list[str]:
    page = api.get(f"/api/conversations/{conversation_id}/messages", headers=bearer(token)).json()
    return [m["text"] for m in page["messages"]]


@pytest.mark.parametrize("bad", sorted(BAD_TEXTS))
def test_an_unstorable_frame_is_refused_and_later_messages_are_stored(api: TestClient, bad: str) -> None:
    created = api.post("/api/conversations", json={"lang": "en"}).json()
    ws = borrower_socket(api, created["id"], created["token"])
    try:
        ws.send_text(BAD_TEXTS[bad])
        ws.send_json({"type": "message", "text": "how do I get a payoff quote", "client_message_id": "good-1"})
        frames = frames_within(ws, 1.0)
        errors = [f["error"]["code"] for f in frames if f["type"] == "error"]
        assert errors == ["invalid_input"]
        assert [f["message"]["text"] for f in frames if f["type"] == "message"] == [
            "how do I get a payoff quote", "echo: how do I get a payoff quote"]
        assert stored_texts(api, created["id"], created["token"]) == [
            "how do I get a payoff quote", "echo: how do I get a payoff quote"]
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.parametrize("bad", sorted(BAD_TEXTS))
def test_the_rest_route_refuses_the_same_text_with_a_422(api: TestClient, bad: str) -> None:
    created = api.post("/api/conversations", json={"lang": "en"}).json()
    body = json.loads(BAD_TEXTS[bad])
    del body["type"]
    sent = api.post(f"/api/conversations/{created['id']}/messages", content=json.dumps(body),
                    headers={**bearer(created["token"]), "content-type": "application/json"})
    assert sent.status_code == 422 and sent.json()["error"]["code"] == "invalid_input"


def test_socket_and_rest_refuse_the_same_client_message_id(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    created = api.post("/api/conversations", json={"lang": "en"}).json()
    rest = api.post(f"/api/conversations/{created['id']}/messages", headers=bearer(created["token"]),
                    json={"text": "hello", "client_message_id": "has space"})
    assert rest.status_code == 422
    ws = borrower_socket(api, created["id"], created["token"])
    try:
        ws.send_json({"type": "message", "text": "hello", "client_message_id": "has space"})
        frames = frames_within(ws, 0.5)
        assert [f["error"]["code"] for f in frames if f["type"] == "error"] == ["invalid_input"]
        assert stored_texts(api, created["id"], created["token"]) == []
    finally:
        ws.__exit__(None, None, None)
    make_agent(engine, clock, "ann")
    ann = token_for(api, "ann")
    conversation_id, _ = waiting_borrower(api)
    entry = api.get("/api/agent/queue", headers=bearer(ann)).json()["entries"][0]
    assert api.post(f"/api/agent/queue/{entry['id']}/claim", headers=bearer(ann)).status_code == 200
    rest = api.post(f"/api/agent/conversations/{conversation_id}/messages", headers=bearer(ann),
                    json={"text": "hello", "client_message_id": "has space"})
    assert rest.status_code == 422
    agent_ws = agent_socket(api, ann)
    try:
        agent_ws.send_json({"type": "message", "conversation_id": conversation_id, "text": "hello",
                            "client_message_id": "has space"})
        assert until(agent_ws, lambda f: f["type"] == "error")["error"]["code"] == "invalid_input"
    finally:
        agent_ws.__exit__(None, None, None)


def test_a_huge_after_is_an_error_frame_not_the_end_of_the_socket(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann")
    conversation_id, _ = waiting_borrower(api)
    ws = agent_socket(api, token_for(api, "ann"))
    try:
        ws.send_json({"type": "watch", "conversation_id": conversation_id, "after": 10**30})
        ws.send_json({"type": "ping"})
        frames = frames_within(ws, 0.5)
        assert [f["error"]["code"] for f in frames if f["type"] == "error"] == ["invalid_input"]
        assert {"type": "pong"} in frames
    finally:
        ws.__exit__(None, None, None)


def test_typing_frames_are_rate_limited_both_ways(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    ann = token_for(api, "ann")
    conversation_id, borrower_token = waiting_borrower(api)
    entry = api.get("/api/agent/queue", headers=bearer(ann)).json()["entries"][0]
    assert api.post(f"/api/agent/queue/{entry['id']}/claim", headers=bearer(ann)).status_code == 200
    agent_ws, borrower_ws = agent_socket(api, ann), borrower_socket(api, conversation_id, borrower_token)
    try:
        agent_ws.send_json({"type": "watch", "conversation_id": conversation_id, "after": 10**6})
        until(agent_ws, lambda f: f["type"] == "watching")
        for i in range(50):
            borrower_ws.send_json({"type": "typing", "on": i % 2 == 0})
            agent_ws.send_json({"type": "typing", "conversation_id": conversation_id, "on": i % 2 == 0})
        at_agent, at_borrower = frames_within(agent_ws, 0.5), frames_within(borrower_ws, 0.5)
        assert len([f for f in at_agent if f["type"] == "typing"]) == TYPING_FRAMES_PER_WINDOW
        assert len([f for f in at_borrower if f["type"] == "typing"]) == TYPING_FRAMES_PER_WINDOW
        # each side is told once why; later frames in the window are dropped silently
        assert [f["error"]["code"] for f in at_agent if f["type"] == "error"] == ["rate_limited"]
        assert [f["error"]["code"] for f in at_borrower if f["type"] == "error"] == ["rate_limited"]
        clock.advance(11)  # a new window
        borrower_ws.send_json({"type": "typing", "on": True})
        assert until(agent_ws, lambda f: f["type"] == "typing")["on"] is True
    finally:
        agent_ws.__exit__(None, None, None)
        borrower_ws.__exit__(None, None, None)
