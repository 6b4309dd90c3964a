"""The agent WebSocket in-process, against the real borrower API and WebSocket: auth, live queue,
watching a chat, typing and messages both ways, SLA alerts for supervisors only, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from agent_support import make_agent, make_settings, token_for, until, waiting_borrower
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.websockets import WebSocketDisconnect

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.queue import sla


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(make_settings(DATABASE_URL=str(engine.url)), engine, clock=clock)
    with TestClient(app) as client:
        yield client


def test_unauthenticated_socket_is_closed_4401(api: TestClient) -> None:
    with api.websocket_connect("/ws/agent") as ws:
        ws.send_json({"type": "auth", "token": "not-a-session"})
        assert ws.receive_json()["error"]["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4401


def test_live_chat_both_ways(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    token = token_for(api, "ann")
    with api.websocket_connect("/ws/agent", headers={"cookie": f"agent_session={token}"}) as agent_ws:
        assert agent_ws.receive_json()["type"] == "hello"
        conv_id, borrower_token = waiting_borrower(api)
        until(agent_ws, lambda f: f["type"] == "queue_changed")
        entry = api.get("/api/agent/queue", headers={"Authorization": f"Bearer {token}"}).json()["entries"][0]
        with api.websocket_connect(f"/ws/conversations/{conv_id}") as borrower_ws:
            borrower_ws.send_json({"type": "auth", "token": borrower_token, "after": 0})
            until(borrower_ws, lambda f: f["type"] == "ready")
            claimed = api.post(f"/api/agent/queue/{entry['id']}/claim", headers={"Authorization": f"Bearer {token}"})
            assert claimed.status_code == 200
            joined = until(borrower_ws, lambda f: f["type"] == "state" and f["state"] == "assigned")
            assert joined["agent_name"] == "Ann"
            agent_ws.send_json({"type": "watch", "conversation_id": conv_id, "after": 0})
            watching = until(agent_ws, lambda f: f["type"] == "watching")
            assert watching["last_seq"] >= 1

            borrower_ws.send_json({"type": "typing", "on": True})
            typing = until(agent_ws, lambda f: f["type"] == "typing")
            assert typing == {"type": "typing", "sender": "borrower", "on": True, "conversation_id": conv_id}
            borrower_ws.send_json({"type": "message", "text": "my card is 4111 1111 1111 1111", "client_message_id": "b1"})
            got = until(agent_ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "borrower")
            assert "4111 1111 1111 1111" not in got["message"]["text"] and got["conversation_id"] == conv_id

            agent_ws.send_json({"type": "typing", "conversation_id": conv_id, "on": True})
            assert until(borrower_ws, lambda f: f["type"] == "typing")["sender"] == "agent"
            agent_ws.send_json({"type": "message", "conversation_id": conv_id, "text": "Thanks, checking now"})
            reply = until(borrower_ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "agent")
            assert reply["message"]["text"] == "Thanks, checking now" and reply["message"]["agent_name"] == "Ann"
            mine = until(agent_ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "agent")
            assert mine["message"]["seq"] == reply["message"]["seq"]


def test_frames_for_chats_you_do_not_hold_are_refused(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann", languages="zh")
    token = token_for(api, "ann")
    conv_id, _ = waiting_borrower(api)  # an English chat
    with api.websocket_connect("/ws/agent") as ws:
        ws.send_json({"type": "auth", "token": token})
        until(ws, lambda f: f["type"] == "hello")
        ws.send_json({"type": "watch", "conversation_id": conv_id, "after": 0})
        assert until(ws, lambda f: f["type"] == "error")["error"]["code"] == "forbidden"
        ws.send_json({"type": "message", "conversation_id": conv_id, "text": "hi"})
        assert until(ws, lambda f: f["type"] == "error")["error"]["code"] == "not_assigned"
        ws.send_json({"type": "nonsense"})
        assert until(ws, lambda f: f["type"] == "error")["error"]["code"] == "invalid_input"


def test_sla_alerts_reach_supervisors_only(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "sue", role="supervisor")
    ann, sue = token_for(api, "ann"), token_for(api, "sue")
    conv_id, _ = waiting_borrower(api)
    svc = api.app.state.services
    with api.websocket_connect("/ws/agent") as agent_ws, api.websocket_connect("/ws/agent") as sup_ws:
        agent_ws.send_json({"type": "auth", "token": ann})
        sup_ws.send_json({"type": "auth", "token": sue})
        until(agent_ws, lambda f: f["type"] == "hello")
        until(sup_ws, lambda f: f["type"] == "hello")
        clock.advance(95)  # past the 0.75 warning mark of the 120 s SLA
        api.portal.call(partial(svc.db, lambda s: sla.check(s, clock=clock, settings=svc.settings)))
        warning = until(sup_ws, lambda f: f["type"] == "sla")
        assert (warning["level"], warning["conversation_id"]) == ("warning", conv_id)
        assert warning["entry_id"] and warning["lang"] == "en" and warning["reason"]  # readable, not just the id
        frame = until(agent_ws, lambda f: f["type"] in ("sla", "queue_changed"))
        assert frame["type"] == "queue_changed"


def test_expired_session_is_closed_on_ping(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    token = token_for(api, "ann")
    with api.websocket_connect("/ws/agent") as ws:
        ws.send_json({"type": "auth", "token": token})
        until(ws, lambda f: f["type"] == "hello")
        ws.send_json({"type": "ping"})
        assert until(ws, lambda f: f["type"] == "pong")
        clock.advance(28801)
        ws.send_json({"type": "ping"})
        assert until(ws, lambda f: f["type"] == "error")["error"]["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4401
