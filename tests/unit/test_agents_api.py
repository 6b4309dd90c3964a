"""The agent API over HTTP (in-process): login, sessions that expire, logout, roles on every route,
claim/take next/reply/notes/release/transfer/close, the one error shape, the KB route without index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from knowledge_base import KBSettings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock, tmp_path: Any) -> Iterator[TestClient]:
    kb_settings = KBSettings(index_dir=tmp_path / "no-index")  # never built
    app = create_app(make_settings(DATABASE_URL=str(engine.url)), engine, kb_settings=kb_settings, clock=clock)
    with TestClient(app) as client:
        yield client


def login(api: TestClient, username: str) -> dict[str, str]:
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    api.cookies.clear()  # each test agent uses its bearer token, not the shared cookie jar
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_login_sets_cookie_and_wrong_password_is_401(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(api.app.state.engine, clock, "ann", online=False)
    bad = api.post("/api/agent/login", json={"username": "ann", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    nobody = api.post("/api/agent/login", json={"username": "nobody", "password": "wrong-password"})
    assert nobody.status_code == 401
    good = api.post("/api/agent/login", json={"username": "ann", "password": PASSWORD})
    assert good.status_code == 200
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    me = api.get("/api/agent/me")  # the cookie alone authenticates
    assert me.status_code == 200 and me.json()["status"] == "online"
    assert api.post("/api/agent/logout").status_code == 200
    assert api.get("/api/agent/me").status_code == 401


def test_sessions_expire(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    headers = login(api, "ann")
    assert api.get("/api/agent/me", headers=headers).status_code == 200
    clock.advance(28800 + 1)
    response = api.get("/api/agent/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized", "message": response.json()["error"]["message"]}}


def test_roles_are_enforced(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "sue", role="supervisor")
    make_agent(engine, clock, "root", role="admin")
    ann, sue, root = login(api, "ann"), login(api, "sue"), login(api, "root")
    for path in ("/api/agent/queue", "/api/agent/me", "/api/agent/chats", "/api/agent/supervisor/agents"):
        assert api.get(path).status_code == 401, path
    assert api.get("/api/agent/supervisor/agents", headers=ann).status_code == 403
    assert api.get("/api/agent/supervisor/breaches", headers=ann).status_code == 403
    agents = api.get("/api/agent/supervisor/agents", headers=sue).json()["agents"]
    assert {a["username"] for a in agents} == {"ann", "sue", "root"}
    new = {"username": "dan", "password": "long enough pw", "role": "agent", "languages": "zh"}
    assert api.post("/api/agent/admin/agents", json=new, headers=sue).status_code == 403
    created = api.post("/api/agent/admin/agents", json=new, headers=root)
    assert created.status_code == 201 and created.json()["languages"] == ["zh"]
    assert api.post("/api/agent/admin/agents", json=new, headers=root).status_code == 409


def test_claim_reply_note_release_transfer_close(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    conv_id, entry_id = waiting_chat(engine, clock)
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob")
    ann, bob = login(api, "ann"), login(api, "bob")
    queue = api.get("/api/agent/queue", headers=ann).json()["entries"]
    assert [e["id"] for e in queue] == [entry_id]
    assert {"reason", "priority", "lang", "waiting_s", "summary"} <= set(queue[0])
    assert api.post(f"/api/agent/queue/{entry_id}/claim", headers=ann).status_code == 200
    lost = api.post(f"/api/agent/queue/{entry_id}/claim", headers=bob)
    assert lost.status_code == 409 and lost.json()["error"]["code"] == "already_claimed"
    refused = api.post(f"/api/agent/conversations/{conv_id}/messages", json={"text": "hi"}, headers=bob)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_holder"
    sent = api.post(f"/api/agent/conversations/{conv_id}/messages", json={"text": "Hello, I am Ann"}, headers=ann)
    assert sent.status_code == 200 and sent.json()["message"]["agent_name"] == "Ann"
    note = api.post(f"/api/agent/conversations/{conv_id}/notes", json={"text": "call on 13812345678"}, headers=ann)
    assert note.status_code == 201 and "13812345678" not in note.json()["text"]
    detail = api.get(f"/api/agent/conversations/{conv_id}", headers=ann).json()
    assert detail["holder"] and detail["packet"]["reason"] == "explicit_request"
    assert [m["sender"] for m in detail["messages"]][-1] == "agent" and len(detail["notes"]) == 1
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=bob).status_code == 403
    bob_id = api.get("/api/agent/me", headers=bob).json()["id"]
    colleagues = api.get("/api/agent/colleagues", headers=ann).json()["agents"]
    assert [c["id"] for c in colleagues] == [bob_id] and "username" not in colleagues[0]
    moved = api.post(f"/api/agent/conversations/{conv_id}/transfer", json={"agent_id": bob_id}, headers=ann)
    assert moved.status_code == 200 and moved.json()["assigned_agent"]["id"] == bob_id
    assert api.post(f"/api/agent/conversations/{conv_id}/release", headers=ann).status_code == 403
    assert api.post(f"/api/agent/conversations/{conv_id}/release", headers=bob).json()["status"] == "waiting"
    taken = api.post("/api/agent/queue/next", headers=ann).json()["entry"]
    assert taken["id"] == entry_id
    assert api.post("/api/agent/queue/next", headers=bob).json() == {"entry": None}
    bad_code = api.post(f"/api/agent/conversations/{conv_id}/close", json={"resolution_code": "x"}, headers=ann)
    assert bad_code.status_code == 422 and bad_code.json()["error"]["code"] == "invalid_input"
    closed = api.post(f"/api/agent/conversations/{conv_id}/close", json={"resolution_code": "resolved"}, headers=ann)
    assert closed.status_code == 200 and closed.json()["status"] == "done"
    again = api.post(f"/api/agent/queue/{entry_id}/claim", headers=bob)
    assert again.status_code == 409


def test_hand_back_with_rasa_down_changes_nothing(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    conv_id, entry_id = waiting_chat(engine, clock)
    make_agent(engine, clock, "ann")
    ann = login(api, "ann")
    api.post(f"/api/agent/queue/{entry_id}/claim", headers=ann)
    response = api.post(f"/api/agent/conversations/{conv_id}/hand-back", json={"note": "done"}, headers=ann)
    assert response.status_code == 503 and response.json()["error"]["code"] == "bot_unavailable"
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=ann).json()["conversation"]["state"] == "assigned"


def test_kb_search_without_index_is_a_clear_503(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    ann = login(api, "ann")
    response = api.post("/api/agent/kb/search", json={"q": "payoff"}, headers=ann)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "kb_unavailable"
    assert "knowledge_base build" in response.json()["error"]["message"]
    assert api.get("/api/agent/kb/faq/en/..%2Fsecrets", headers=ann).status_code == 404
    assert api.get("/api/agent/kb/faq/en/does-not-exist", headers=ann).status_code == 404
    source = api.get("/api/agent/kb/faq/en/late-fee", headers=ann)  # sources need no index
    assert source.status_code == 200 and source.json()["markdown"].startswith("---")
    assert source.json()["source"].endswith("en/late-fee.md")


def test_console_page_is_served(api: TestClient) -> None:
    page = api.get("/console")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_supervisor_assigns_and_sees_breaches(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    conv_id, entry_id = waiting_chat(engine, clock)
    ann_agent = make_agent(engine, clock, "ann")
    make_agent(engine, clock, "sue", role="supervisor")
    ann, sue = login(api, "ann"), login(api, "sue")
    assert api.post(f"/api/agent/queue/{entry_id}/assign", json={"agent_id": ann_agent.id}, headers=ann).status_code == 403
    assigned = api.post(f"/api/agent/queue/{entry_id}/assign", json={"agent_id": ann_agent.id}, headers=sue)
    assert assigned.status_code == 200 and assigned.json()["assigned_agent"]["id"] == ann_agent.id
    assert api.get("/api/agent/chats", headers=ann).json()["entries"][0]["conversation_id"] == conv_id
    assert api.get("/api/agent/supervisor/breaches", headers=sue).json() == {"entries": []}
    agents = {a["username"]: a for a in api.get("/api/agent/supervisor/agents", headers=sue).json()["agents"]}
    assert agents["ann"]["load"] == 1 and agents["ann"]["status"] == "online"
