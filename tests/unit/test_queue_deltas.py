"""Queue deltas on the agent WebSocket (handoff/agents/queue_feed.py): a console that asks for them gets
the whole queue once, then only what changed, filtered by its languages; consoles that do not ask keep
getting `queue_changed`. One read of the queue per change serves every console of the replica."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.agents import chat
from handoff.app import create_app
from handoff.infra.clock import FakeClock

pytestmark = pytest.mark.db


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    clock = FakeClock()
    make_agent(engine, clock, "ann", languages="en")
    make_agent(engine, clock, "sue", role="supervisor")
    with TestClient(create_app(make_settings(DATABASE_URL=str(engine.url)), engine, clock=clock)) as client:
        yield client


def session_of(api: TestClient, username: str) -> str:
    token = str(api.post("/api/agent/login", json={"username": username, "password": PASSWORD}).json()["token"])
    api.cookies.clear()
    return token


def waiting(api: TestClient, lang: str) -> str:
    created = api.post("/api/conversations", json={"lang": lang}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.post(f"/api/conversations/{created['id']}/handoff", json={}, headers=headers).status_code == 200
    return str(created["id"])


def next_of(ws: Any, kind: str, limit: int = 40) -> dict[str, Any]:
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] == kind:
            return frame
        assert frame["type"] != "queue_changed" or kind == "queue_changed", "a delta console got queue_changed"
    raise AssertionError(f"no {kind} frame")


def connect(api: TestClient, token: str, *, deltas: bool) -> Any:
    ws = api.websocket_connect("/ws/agent")
    socket = ws.__enter__()
    socket.send_json({"type": "auth", "token": token})
    assert socket.receive_json()["type"] == "hello"
    if deltas:
        socket.send_json({"type": "queue_deltas"})
    return ws, socket


def test_consoles_get_the_queue_once_then_only_changes(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = waiting(api, "en")
    ann, sue = session_of(api, "ann"), session_of(api, "sue")
    reads = []
    real = chat.active_entries
    monkeypatch.setattr(chat, "active_entries", lambda *a, **k: reads.append(1) or real(*a, **k))
    (ann_cm, ann_ws), (sue_cm, sue_ws), (old_cm, old_ws) = (
        connect(api, ann, deltas=True), connect(api, sue, deltas=True), connect(api, sue, deltas=False)
    )
    try:
        snapshot = next_of(ann_ws, "queue_delta")
        assert snapshot["full"] is True and [e["conversation_id"] for e in snapshot["upserts"]] == [first]
        assert next_of(sue_ws, "queue_delta")["order"] == snapshot["order"]
        reads.clear()

        chinese = waiting(api, "zh")  # ann (English only) does not see it; the supervisor does
        to_sue = next_of(sue_ws, "queue_delta")
        assert [e["conversation_id"] for e in to_sue["upserts"]] == [chinese] and to_sue["removed"] == []
        assert len(to_sue["order"]) == 2
        assert next_of(old_ws, "queue_changed") == {"type": "queue_changed"}  # old consoles: as before

        english = waiting(api, "en")
        to_ann = next_of(ann_ws, "queue_delta")  # the zh change made no frame for ann: this is the next one
        assert [e["conversation_id"] for e in to_ann["upserts"]] == [english]
        assert to_ann["order"] == [snapshot["order"][0], to_ann["upserts"][0]["id"]]
        next_of(sue_ws, "queue_delta")

        entry_id = snapshot["upserts"][0]["id"]
        claimed = api.post(f"/api/agent/queue/{entry_id}/claim", headers={"Authorization": f"Bearer {ann}"})
        assert claimed.status_code == 200, claimed.text
        change = next_of(ann_ws, "queue_delta")
        assert [(e["id"], e["status"]) for e in change["upserts"]] == [(entry_id, "assigned")]
        next_of(sue_ws, "queue_delta")
        # Three changes, two delta consoles: one read of the queue per change, not one per console.
        assert len(reads) == 3
    finally:
        for cm in (ann_cm, sue_cm, old_cm):
            cm.__exit__(None, None, None)
