"""Borrower-side test helpers: a tiny real HTTP server standing in for Rasa's REST channel in the cases the
real one cannot be made to produce on demand (slow, 500, empty list, scripted handoff packet).

Integration tests never use it; they start the real Rasa and action server (tests/integration).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient

from contract.packet import anger_summary, build_packet
from contract.turns import packet_turn

Reply = tuple[int, Any, float]  # status, JSON body, delay in seconds


class ScriptedRasa:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.tracker: dict[str, Any] = {"events": []}
        self.status: dict[str, Any] = {"model_file": "models/bot.tar.gz"}  # GET /status (readiness)
        self.script: Callable[[dict[str, Any]], Reply] = lambda body: (
            200,
            [{"text": f"echo: {body['message']}"}],
            0.0,
        )
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.startswith("/status"):
                    self._send(200, outer.status)
                    return
                self._send(200, outer.tracker if "/tracker" in self.path else {"version": "scripted"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                outer.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                status, reply, delay = (
                    outer.script(body) if self.path.startswith("/webhooks") else (200, {}, 0.0)
                )
                time.sleep(delay)
                self._send(status, reply)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def messages(self) -> list[str]:
        return [r["body"]["message"] for r in self.requests if r["path"].startswith("/webhooks")]


def start(client: TestClient, lang: str = "en") -> tuple[str, dict[str, str]]:
    created = client.post("/api/conversations", json={"lang": lang})
    assert created.status_code == 201, created.text
    body = created.json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def faq_reply(
    text: str, faq_id: str = "payoff-quote", title: str = "How do I get a payoff quote?"
) -> list[dict[str, Any]]:
    return [
        {
            "text": text,
            "custom": {
                "type": "faq_answer",
                "faq_id": faq_id,
                "title": title,
                "source": f"knowledge_base/faq/en/{faq_id}.md",
            },
        }
    ]


def handoff_reply(
    reason: str = "explicit_request", priority: str = "normal", lang: str = "en"
) -> list[dict[str, Any]]:
    turn = packet_turn("person please", {"intent": {"name": "request_human", "confidence": 0.97},
                                         "anger": {"score": 0.1, "cues": []}})
    packet = build_packet(
        conversation_id=None, reason=reason, trigger=None, priority=priority, lang=lang,
        summary="Borrower asked for a person.", turns=[turn], anger=anger_summary([turn]),
        faq_candidates=[{"id": "payoff-quote", "title": "Payoff", "score": 0.4,
                         "source": "knowledge_base/faq/en/payoff-quote.md"}],
    )
    return [{"text": "I'll connect you with a person."}, {"custom": {"type": "handoff", "packet": packet}}]
