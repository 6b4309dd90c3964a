"""End to end with the real Rasa server and action server: a borrower asks for a person, an agent
logs in and claims the chat, both sides exchange messages over WebSockets, the agent hands back with
a note (which lands in Rasa's tracker), and the bot answers the next question without greeting again."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from rasa_stack import RasaStack
from service_process import ServiceProcess, create_agent, run_service
from websockets.sync.client import connect
from ws_support import until

pytestmark = pytest.mark.integration

PASSWORD = "e2e-agent-password"
INTRO_MARKERS = ("automated assistant", "What can I help you with", "Hi again")


@pytest.fixture(scope="module")
def service(stack: RasaStack, tmp_path_factory: pytest.TempPathFactory, make_database_url: Any) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("service-agent")
    with make_database_url(work) as database_url, run_service(
        work, DATABASE_URL=database_url, RASA_URL=stack.rasa_url, RASA_TOKEN=stack.rasa_token,
        ACTION_SERVER_URL=stack.action_url, RASA_TIMEOUT_S="8",
    ) as running:
        create_agent(running, username="ann", password=PASSWORD)
        yield running


def test_handoff_live_chat_and_hand_back(service: ServiceProcess, stack: RasaStack) -> None:
    base, ws_base = service.url, service.url.replace("http://", "ws://")
    created = httpx.post(f"{base}/api/conversations", json={"lang": "en"}, trust_env=False).json()
    conv_id = created["id"]
    borrower = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {created['token']}"}, timeout=30,
                            trust_env=False)

    def say(text: str) -> dict[str, Any]:
        response = borrower.post(f"/api/conversations/{conv_id}/messages",
                                 json={"text": text, "client_message_id": uuid.uuid4().hex})
        assert response.status_code == 200, response.text
        return dict(response.json())

    first = say("hello")
    assert any(m["sender"] == "bot" for m in first["messages"])
    asked = say("I want to talk to a person")
    assert asked["state"] == "queued", asked

    agent = httpx.Client(base_url=base, timeout=30, trust_env=False)
    login = agent.post("/api/agent/login", json={"username": "ann", "password": PASSWORD})
    assert login.status_code == 200, login.text
    entries = agent.get("/api/agent/queue").json()["entries"]
    entry = next(e for e in entries if e["conversation_id"] == conv_id)
    assert entry["reason"] and entry["status"] == "waiting"
    detail = agent.get(f"/api/agent/conversations/{conv_id}").json()
    assert [m["sender"] for m in detail["messages"]][:2] == ["borrower", "bot"]  # the bot's part is there

    cookie = f"agent_session={login.json()['token']}"
    with closing(connect(f"{ws_base}/ws/agent", additional_headers={"Cookie": cookie}, open_timeout=10)) as agent_ws, \
            closing(connect(f"{ws_base}/ws/conversations/{conv_id}", open_timeout=10)) as borrower_ws:
        until(agent_ws, lambda f: f["type"] == "hello")
        borrower_ws.send(json.dumps({"type": "auth", "token": created["token"], "after": 0}))
        ready = until(borrower_ws, lambda f: f["type"] == "ready")

        claimed = agent.post(f"/api/agent/queue/{entry['id']}/claim")
        assert claimed.status_code == 200, claimed.text
        state = until(borrower_ws, lambda f: f["type"] == "state" and f.get("state") == "assigned")
        assert state["agent_name"] == "ann"

        agent_ws.send(json.dumps({"type": "watch", "conversation_id": conv_id, "after": ready["last_seq"]}))
        until(agent_ws, lambda f: f["type"] == "watching")
        borrower_ws.send(json.dumps({"type": "typing", "on": True}))
        until(agent_ws, lambda f: f["type"] == "typing" and f["sender"] == "borrower")
        borrower_ws.send(json.dumps({"type": "message", "text": "Can you check my late fee?",
                                     "client_message_id": uuid.uuid4().hex}))
        got = until(agent_ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "borrower")
        assert got["message"]["text"] == "Can you check my late fee?"
        agent_ws.send(json.dumps({"type": "message", "conversation_id": conv_id,
                                  "text": "I have waived the late fee for this month."}))
        reply = until(borrower_ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "agent")
        assert reply["message"]["agent_name"] == "ann"

        note = "Late fee waived for this month."
        handed = agent.post(f"/api/agent/conversations/{conv_id}/hand-back", json={"note": note})
        assert handed.status_code == 200, handed.text
        until(borrower_ws, lambda f: f["type"] == "state" and f.get("state") == "bot")

    slots = stack.tracker(conv_id)["slots"]
    assert slots["agent_helped"] is True and slots["handoff_note"] == note and slots["handoff_active"] is False

    answer = say("How do I get a payoff quote?")
    assert answer["state"] == "bot"
    bot_texts = [m["text"] for m in answer["messages"] if m["sender"] == "bot"]
    assert bot_texts and any("payoff" in t.lower() for t in bot_texts), bot_texts
    assert not any(marker in t for t in bot_texts for marker in INTRO_MARKERS), bot_texts
