"""No borrower or agent text in the service's log lines (issue 11, item 6), seen in a real process.

Before the fix the access log printed `GET /api/agent/kb/search?q=...card+4111111111111111...` in
full. Now the console searches with a POST, and every path is logged without its query string.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from service_process import create_agent, run_service
from websockets.sync.client import connect

pytestmark = pytest.mark.integration

CARD = "4111111111111111"
PHRASES = (CARD, "12 Elm St", "12+Elm+St", "我的地址", quote("我的地址"))


def test_no_query_string_and_no_chat_text_reaches_the_log(tmp_path: Path) -> None:
    with run_service(tmp_path, LOG_LEVEL="INFO") as service:
        create_agent(service, username="ann", password="a-long-password")
        with httpx.Client(base_url=service.url, trust_env=False) as http:
            token = http.post("/api/agent/login", json={"username": "ann", "password": "a-long-password"}).json()["token"]
            agent = {"Authorization": f"Bearer {token}"}
            # what an old console (or anyone) sends: the borrower's words in the URL
            http.get("/api/agent/kb/search", params={"q": f"my card {CARD} at 12 Elm St"}, headers=agent)
            searched = http.post("/api/agent/kb/search", json={"q": f"my card {CARD} 我的地址"}, headers=agent,
                                 timeout=180)  # the first search loads the embedding model (or 503 without an index)
            assert searched.status_code in (200, 503), searched.text
            http.get("/healthz", params={"note": "我的地址 12 Elm St"})
            created = http.post("/api/conversations", json={"lang": "en"}).json()
            borrower = {"Authorization": f"Bearer {created['token']}"}
            http.post(f"/api/conversations/{created['id']}/messages", json={"text": f"card {CARD}"}, headers=borrower)
            http.get(f"/api/conversations/{created['id']}/messages", params={"after": 0, "q": CARD}, headers=borrower)
        ws_url = service.url.replace("http://", "ws://") + f"/ws/conversations/{created['id']}?after=0&x={CARD}"
        with connect(ws_url) as ws:
            ws.send(json.dumps({"type": "auth", "token": created["token"], "after": 0}))
            ws.send(json.dumps({"type": "message", "text": f"my address is 12 Elm St, card {CARD}"}))
            ws.send(json.dumps({"type": "ping"}))
            while json.loads(ws.recv())["type"] != "pong":
                pass
        log = service.log_tail(200_000)
    for phrase in PHRASES:
        assert phrase not in log, f"{phrase!r} reached the log:\n{log[-3000:]}"
    assert '"GET /api/agent/kb/search HTTP/1.1" 405' in log  # the line is there, without its query
    assert '"POST /api/agent/kb/search HTTP/1.1"' in log
    assert f'"WebSocket /ws/conversations/{created["id"]}"' in log
