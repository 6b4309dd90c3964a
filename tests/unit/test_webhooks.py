"""Issue 13, item 5: supervisors are notified outside the console by a signed outbound webhook with retries,
tested against a small real HTTP server that fails twice, then accepts."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from agent_support import make_agent, make_settings, tx, waiting_chat
from sqlalchemy import Engine, select

from handoff.infra import webhooks
from handoff.infra.bus import InProcessBus
from handoff.infra.clock import FakeClock
from handoff.infra.locks import TurnLocks
from handoff.infra.ratelimit import RateLimiter
from handoff.models import WebhookDelivery
from handoff.queue import sla
from handoff.rasa.client import RasaClient
from handoff.services import Services

SECRET = "webhook-secret-for-tests"


class Receiver:
    """Answers 503 to the first `failures` requests, then 204; keeps what it got."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.append({"headers": dict(self.headers), "body": body})
                status = 503 if len(outer.received) <= outer.failures else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Any:
    running = Receiver(failures=2)
    yield running
    running.close()


def _services(engine: Engine, clock: FakeClock, **overrides: Any) -> Services:
    settings = make_settings(SUPERVISOR_WEBHOOK_SECRET=SECRET, SLA_FIRST_REPLY_S=120, **overrides)
    return Services(settings=settings, engine=engine, bus=InProcessBus(), clock=clock,
                    http=httpx.AsyncClient(trust_env=False),
                    rasa=RasaClient(base_urls=["http://127.0.0.1:9"], token="t", timeout_s=1.0),
                    locks=TurnLocks(redis=None, hold_s=5, wait_s=5), limiter=RateLimiter(None))


def _rows(engine: Engine) -> list[WebhookDelivery]:
    return tx(engine, lambda s: s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all())


async def test_sla_breach_is_posted_signed_and_retried_until_accepted(engine: Engine, receiver: Receiver) -> None:
    clock = FakeClock()
    svc = _services(engine, clock, SUPERVISOR_WEBHOOK_URL=receiver.url)
    conv_id, entry_id = waiting_chat(engine, clock, summary="wants a payoff quote")
    make_agent(engine, clock, "ann")
    clock.advance(121)
    tx(engine, lambda s: sla.check(s, clock=clock, settings=svc.settings))
    assert [r.event for r in _rows(engine)] == ["sla_breach"]  # the warning was never due on its own
    try:
        assert await webhooks.deliver_due(svc) == 0  # 503
        assert await webhooks.deliver_due(svc) == 0  # not due again yet: back-off
        clock.advance(webhooks.backoff_s(1))
        assert await webhooks.deliver_due(svc) == 0  # 503 again
        clock.advance(webhooks.backoff_s(2))
        assert await webhooks.deliver_due(svc) == 1
    finally:
        await svc.http.aclose()
    assert len(receiver.received) == 3
    row = _rows(engine)[0]
    assert row.delivered_at is not None and row.attempts == 3
    last = receiver.received[-1]
    headers = {k.lower(): v for k, v in last["headers"].items()}
    assert headers["x-handoff-event"] == "sla_breach" and headers["x-handoff-delivery"] == str(row.id)
    assert webhooks.verify_signature(SECRET, headers["x-handoff-timestamp"], last["body"],
                                     headers["x-handoff-signature"])
    assert not webhooks.verify_signature("another-secret", headers["x-handoff-timestamp"], last["body"],
                                         headers["x-handoff-signature"])
    payload = json.loads(last["body"])
    assert payload["event"] == "sla_breach" and payload["data"]["conversation_id"] == conv_id
    assert payload["data"]["label"] == f"#{entry_id} · en · explicit_request"


async def test_a_receiver_that_never_accepts_is_given_up_after_the_attempts(engine: Engine) -> None:
    never = Receiver(failures=10_000)
    clock = FakeClock()
    svc = _services(engine, clock, SUPERVISOR_WEBHOOK_URL=never.url, WEBHOOK_MAX_ATTEMPTS=3)
    tx(engine, lambda s: webhooks.queue_webhook(s, settings=svc.settings, clock=clock, event="complaint_overdue",
                                                data={"reference": "CP-X"}))
    try:
        for attempt in range(1, 5):
            await webhooks.deliver_due(svc)
            clock.advance(webhooks.backoff_s(attempt) + webhooks.LEASE_S)
    finally:
        await svc.http.aclose()
        never.close()
    row = _rows(engine)[0]
    assert row.attempts == 3 and row.failed_at is not None and row.last_error == "HTTP 503"
    assert len(never.received) == 3


def test_nothing_is_stored_without_a_webhook_url(engine: Engine) -> None:
    clock = FakeClock()
    waiting_chat(engine, clock)
    clock.advance(500)
    tx(engine, lambda s: sla.check(s, clock=clock, settings=make_settings()))
    assert _rows(engine) == []
    assert asyncio.run(webhooks.deliver_due(_services(engine, clock))) == 0
