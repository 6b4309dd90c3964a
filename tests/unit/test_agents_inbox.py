"""An agent holding several chats, in-process against the real borrower API and agent WebSocket: a
borrower message in a held chat that is not watched still reaches the holder (and only the holder) as
`held_message`; the queue view lists each chat's last message, the holder's unanswered borrower
messages and since when a reply is owed; a transfer tells the chat who holds it now and respects the
target's languages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.infra.clock import FakeClock

Frame = dict[str, Any]
pytestmark = pytest.mark.timeout(60)  # a frame that never comes fails the test instead of hanging it


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(make_settings(DATABASE_URL=str(engine.url), AGENT_RESPONSE_TARGET_S=180), engine, clock=clock)
    with TestClient(app) as client:
        yield client


def login(api: TestClient, username: str) -> dict[str, str]:
    token = api.post("/api/agent/login", json={"username": username, "password": PASSWORD}).json()["token"]
    api.cookies.clear()
    return {"Authorization": f"Bearer {token}"}


def borrower_in_queue(api: TestClient, lang: str = "en") -> tuple[str, dict[str, str]]:
    created = api.post("/api/conversations", json={"lang": lang}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.post(f"/api/conversations/{created['id']}/handoff", json={}, headers=headers).status_code == 200
    return created["id"], headers


def claim(api: TestClient, agent: dict[str, str], conv_id: str) -> None:
    entry = next(e for e in api.get("/api/agent/queue", headers=agent).json()["entries"]
                 if e["conversation_id"] == conv_id)
    assert api.post(f"/api/agent/queue/{entry['id']}/claim", headers=agent).status_code == 200


def say(api: TestClient, conv_id: str, headers: dict[str, str], text: str, cmid: str) -> None:
    sent = api.post(f"/api/conversations/{conv_id}/messages", headers=headers, json={"text": text, "client_message_id": cmid})
    assert sent.status_code == 200, sent.text


def until(ws: Any, predicate: Callable[[Frame], bool], limit: int = 60) -> Frame:
    for _ in range(limit):
        frame = ws.receive_json()
        if predicate(frame):
            return frame
    raise AssertionError("expected frame never arrived")


def entry_of(api: TestClient, agent: dict[str, str], conv_id: str) -> Frame:
    return next(e for e in api.get("/api/agent/queue", headers=agent).json()["entries"] if e["conversation_id"] == conv_id)


def test_borrower_message_in_an_unwatched_held_chat_reaches_its_holder_only(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob")
    ann, bob = login(api, "ann"), login(api, "bob")
    chat_a, _ = borrower_in_queue(api)
    chat_b, borrower_b = borrower_in_queue(api)
    claim(api, ann, chat_a)
    claim(api, ann, chat_b)
    with api.websocket_connect("/ws/agent") as ann_ws, api.websocket_connect("/ws/agent") as bob_ws:
        for ws, headers in ((ann_ws, ann), (bob_ws, bob)):
            ws.send_json({"type": "auth", "token": headers["Authorization"].split()[1]})
            until(ws, lambda f: f["type"] == "hello")
            ws.send_json({"type": "ping"})
            until(ws, lambda f: f["type"] == "pong")  # the socket's subscriptions are in place
        ann_ws.send_json({"type": "watch", "conversation_id": chat_a, "after": 0})
        until(ann_ws, lambda f: f["type"] == "watching")

        say(api, chat_b, borrower_b, "Hello?? Is anyone there? My card is 4111 1111 1111 1111", "b-1")
        got = until(ann_ws, lambda f: f["type"] in ("held_message", "message"))
        assert got["type"] == "held_message" and got["conversation_id"] == chat_b
        assert got["message"]["sender"] == "borrower" and got["message"]["text"].startswith("Hello?? Is anyone there?")
        assert "4111 1111 1111 1111" not in got["message"]["text"]  # masked as stored

        # bob holds nothing: his next frame is the answer to his ping, not ann's borrower's message
        bob_ws.send_json({"type": "ping"})
        assert until(bob_ws, lambda f: f["type"] != "queue_changed")["type"] == "pong"


def test_queue_view_lists_previews_unanswered_messages_and_the_reply_clock(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob")
    ann, bob = login(api, "ann"), login(api, "bob")
    chat_a, borrower_a = borrower_in_queue(api)
    waiting, _ = borrower_in_queue(api)
    claim(api, ann, chat_a)
    claimed_at = clock.now()
    clock.advance(30)
    say(api, chat_a, borrower_a, "first question", "a-1")
    say(api, chat_a, borrower_a, "second " + "very long " * 30, "a-2")

    mine = entry_of(api, ann, chat_a)
    assert mine["last_message"]["sender"] == "borrower"
    assert mine["last_message"]["text"].startswith("second very long") and len(mine["last_message"]["text"]) == 140
    assert len(mine["unanswered_seqs"]) == 2 and mine["unanswered_seqs"][-1] == mine["last_message"]["seq"]
    assert datetime.fromisoformat(mine["reply_pending_since"]) == claimed_at  # no reply yet: since the claim
    assert "unanswered_seqs" not in entry_of(api, bob, chat_a)  # only the holder's own chats
    assert "unanswered_seqs" not in entry_of(api, ann, waiting)

    api.post(f"/api/agent/conversations/{chat_a}/messages", headers=ann, json={"text": "Looking into it"})
    answered = entry_of(api, ann, chat_a)
    assert answered["unanswered_seqs"] == [] and answered["reply_pending_since"] is None
    assert answered["last_message"] | {"seq": 0, "created_at": None} == {
        "seq": 0, "sender": "agent", "text": "Looking into it", "created_at": None}

    clock.advance(5)
    say(api, chat_a, borrower_a, "thanks, and?", "a-3")
    again = entry_of(api, ann, chat_a)
    assert len(again["unanswered_seqs"]) == 1
    assert datetime.fromisoformat(again["reply_pending_since"]) == clock.now()
    assert api.get("/api/agent/me", headers=ann).json()["agent_response_target_s"] == 180
    assert clock.now() - claimed_at == timedelta(seconds=35)


def test_transfer_announces_the_new_holder_and_respects_languages(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob", languages="en")
    make_agent(engine, clock, "lin", languages="zh")
    ann = login(api, "ann")
    login(api, "bob")
    login(api, "lin")
    agents = {a["display_name"]: a["id"] for a in api.get("/api/agent/colleagues", headers=ann).json()["agents"]}
    chat_zh, borrower = borrower_in_queue(api, lang="zh")
    claim(api, ann, chat_zh)

    refused = api.post(f"/api/agent/conversations/{chat_zh}/transfer", headers=ann, json={"agent_id": agents["Bob"]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "wrong_language"
    assert entry_of(api, ann, chat_zh)["assigned_agent"]["display_name"] == "Ann"  # nothing changed

    with api.websocket_connect(f"/ws/conversations/{chat_zh}") as borrower_ws:
        borrower_ws.send_json({"type": "auth", "token": borrower["Authorization"].split()[1], "after": 0})
        until(borrower_ws, lambda f: f["type"] == "ready")
        moved = api.post(f"/api/agent/conversations/{chat_zh}/transfer", headers=ann, json={"agent_id": agents["Lin"]})
        assert moved.status_code == 200, moved.text
        state = until(borrower_ws, lambda f: f["type"] == "state")
        assert state["state"] == "assigned" and state["agent_name"] == "Lin"
