"""Two service replicas sharing one database and Redis (TEST_REDIS_URL): events reach sockets on the
other replica, and turns of one conversation stay serialised across replicas."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings


def test_replicas_share_events_locks_and_limits(
    settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa, redis_url: str
) -> None:
    in_flight = {"now": 0, "max": 0}
    guard = threading.Lock()

    def script(body: dict) -> tuple[int, list, float]:
        with guard:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.05)
        with guard:
            in_flight["now"] -= 1
        return 200, [{"text": f"re: {body['message']}"}], 0.0

    scripted_rasa.script = script
    shared = settings.model_copy(update={"RASA_URL": scripted_rasa.url, "REDIS_URL": redis_url})
    with TestClient(create_app(shared, engine)) as a, TestClient(create_app(shared, engine)) as b:
        cid, auth = start(a)
        token = auth["Authorization"].split()[1]
        with b.websocket_connect(f"/ws/conversations/{cid}") as ws:
            ws.send_json({"type": "auth", "token": token, "after": 0})
            while ws.receive_json()["type"] != "ready":
                pass
            time.sleep(0.2)
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: (a if i % 2 else b).post(
                            f"/api/conversations/{cid}/messages",
                            headers=auth,
                            json={"text": f"m{i}", "client_message_id": f"r{i}"},
                        ),
                        range(8),
                    )
                )
            seqs = []
            while len(seqs) < 16:
                frame = ws.receive_json()
                if frame["type"] == "message":
                    seqs.append(frame["message"]["seq"])
        assert seqs == list(range(1, 17))
        assert in_flight["max"] == 1
        messages = a.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"]
        for borrower, bot in zip(messages[::2], messages[1::2], strict=True):
            assert bot["text"] == f"re: {borrower['text']}"
