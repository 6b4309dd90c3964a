"""The borrower WebSocket: replay from a sequence number, live events, no duplicates, no gaps."""

from __future__ import annotations

import threading
from typing import Any

from borrower_helpers import ScriptedRasa, handoff_reply, start
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession


def token_of(auth: dict[str, str]) -> str:
    return auth["Authorization"].split()[1]


def open_stream(
    ws: WebSocketTestSession, token: str, after: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Authenticate; return the replayed messages and the state frame (everything up to `ready`)."""
    ws.send_json({"type": "auth", "token": token, "after": after})
    replayed, state = [], {}
    while True:
        frame = ws.receive_json()
        if frame["type"] == "message":
            replayed.append(frame["message"])
        elif frame["type"] == "state":
            state = frame
        elif frame["type"] == "ready":
            assert frame["last_seq"] == (replayed[-1]["seq"] if replayed else after)
            return replayed, state


def receive_messages(
    ws: WebSocketTestSession, count: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages, others = [], []
    while len(messages) < count:
        frame = ws.receive_json()
        (messages if frame["type"] == "message" else others).append(frame.get("message", frame))
    return messages, others


def test_replay_then_live_in_order(bot_client: TestClient, scripted_rasa: ScriptedRasa) -> None:
    cid, auth = start(bot_client)
    for i in range(3):
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": f"q{i}"})
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        replayed, state = open_stream(ws, token_of(auth), after=0)
        assert [m["seq"] for m in replayed] == [1, 2, 3, 4, 5, 6]
        assert state["state"] == "bot"
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "live"})
        live, others = receive_messages(ws, 2)
        assert [(m["seq"], m["sender"]) for m in live] == [(7, "borrower"), (8, "bot")]
        assert not [f for f in others if f["type"] == "typing"]  # a quick answer: no indicator flicker
        scripted_rasa.script = lambda body: (200, [{"text": f"slow: {body['message']}"}], 0.8)
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "slow"})
        live, others = receive_messages(ws, 2)
        assert [(m["seq"], m["sender"]) for m in live] == [(9, "borrower"), (10, "bot")]
        typing = [f for f in others if f["type"] == "typing"]
        assert typing == [{"type": "typing", "sender": "bot", "on": on} for on in (True, False)]


def test_reconnect_replays_only_what_was_missed(bot_client: TestClient) -> None:
    cid, auth = start(bot_client, "zh")
    token = token_of(auth)
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        open_stream(ws, token, after=0)
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "一"})
        seen, _ = receive_messages(ws, 2)
    last_seen = seen[-1]["seq"]
    # Offline: more happens.
    for text in ("二", "三"):
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": text})
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        replayed, _ = open_stream(ws, token, after=last_seen)
    assert [m["seq"] for m in replayed] == [3, 4, 5, 6]
    polled = bot_client.get(f"/api/conversations/{cid}/messages?after={last_seen}", headers=auth).json()[
        "messages"
    ]
    assert replayed == polled


def test_messages_sent_over_the_socket(bot_client: TestClient, scripted_rasa: ScriptedRasa) -> None:
    cid, auth = start(bot_client)
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        open_stream(ws, token_of(auth), after=0)
        ws.send_json({"type": "message", "text": "hello 13800138000", "client_message_id": "w1"})
        ws.send_json({"type": "message", "text": "hello 13800138000", "client_message_id": "w1"})  # a retry
        ws.send_json({"type": "message", "text": "second", "client_message_id": "w2"})
        messages, _ = receive_messages(ws, 4)
        assert [m["text"] for m in messages] == [
            "hello [PHONE]",
            "echo: hello [PHONE]",
            "second",
            "echo: second",
        ]
        assert [m["seq"] for m in messages] == [1, 2, 3, 4]
        ws.send_json({"type": "ping"})
        while (frame := ws.receive_json())["type"] != "pong":
            assert frame["type"] != "message"  # the retry produced nothing new
        ws.send_json({"type": "message", "text": ""})
        while (frame := ws.receive_json())["type"] != "error":
            pass
        assert frame["error"]["code"] == "invalid_input"
    assert scripted_rasa.messages() == ["hello [PHONE]", "second"]


def test_state_changes_are_pushed(bot_client: TestClient, scripted_rasa: ScriptedRasa) -> None:
    scripted_rasa.script = lambda body: (200, handoff_reply(), 0.0)
    cid, auth = start(bot_client)
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        open_stream(ws, token_of(auth), after=0)
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "a person please"})
        states = []
        while not states:
            frame = ws.receive_json()
            if frame["type"] == "state":
                states.append(frame)
        assert states[0]["state"] == "queued" and states[0]["queue_position"] == 1


def test_concurrent_writers_reach_the_socket_in_seq_order(bot_client: TestClient) -> None:
    cid, auth = start(bot_client)
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        open_stream(ws, token_of(auth), after=0)
        threads = [
            threading.Thread(
                target=lambda i=i: bot_client.post(
                    f"/api/conversations/{cid}/messages",
                    headers=auth,
                    json={"text": f"m{i}", "client_message_id": f"t{i}"},
                )
            )
            for i in range(10)
        ]
        for t in threads:
            t.start()
        messages, _ = receive_messages(ws, 20)
        for t in threads:
            t.join()
    assert [m["seq"] for m in messages] == list(range(1, 21))
