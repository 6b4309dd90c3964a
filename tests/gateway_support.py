"""A real HTTP gateway for the borrower notifier's tests: it checks every request's signature itself (as a
lender's push/SMS/WeChat gateway would), answers with the statuses it is told, and keeps what it accepted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from handoff.infra.bus import InProcessBus
from handoff.infra.clock import Clock
from handoff.infra.locks import TurnLocks
from handoff.infra.notifier import verify_signature
from handoff.infra.ratelimit import RateLimiter
from handoff.rasa.client import RasaClient
from handoff.reminder_settings import NotifierSettings, ReminderSettings
from handoff.services import Services

GATEWAY_SECRET = "gateway-secret-for-tests-0123456789"


class Gateway:
    """`answer(n)` gives the HTTP status of the n-th request (1-based); default: always 204."""

    def __init__(self, answer: Callable[[int], int] = lambda _n: 204, *, secret: str = GATEWAY_SECRET) -> None:
        self.answer = answer
        self.requests = 0
        self.accepted: list[dict[str, Any]] = []  # bodies of 2xx answers, with their headers
        self.bad_signatures = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway would

            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with outer.lock:
                    outer.requests += 1
                    n = outer.requests
                    if not verify_signature(secret, headers.get("x-handoff-timestamp", ""), body,
                                            headers.get("x-handoff-signature", "")):
                        outer.bad_signatures += 1
                        status = 401
                    else:
                        status = outer.answer(n)
                        if 200 <= status < 300:
                            outer.accepted.append({"headers": headers, "body": json.loads(body)})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def notifier_settings(url: str | None, **overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {"NOTIFY_GATEWAY_URL": url, "NOTIFY_GATEWAY_SECRET": GATEWAY_SECRET, **overrides}
    return NotifierSettings(**values)


def services(engine: Any, clock: Clock, settings: Any, *, notifier: NotifierSettings | None = None,
             reminders: ReminderSettings | None = None, loans: Any = None) -> Services:
    """Services for calling periodic work directly (no app); close `svc.http` afterwards."""
    return Services(
        settings=settings, engine=engine, bus=InProcessBus(), clock=clock, http=httpx.AsyncClient(trust_env=False),
        rasa=RasaClient(base_urls=["http://127.0.0.1:9"], token="t", timeout_s=1.0),
        locks=TurnLocks(redis=None, hold_s=5, wait_s=5), limiter=RateLimiter(None), loans=loans,
        notifier=notifier or NotifierSettings.model_construct(),
        reminders=reminders or ReminderSettings.model_construct(),
    )
