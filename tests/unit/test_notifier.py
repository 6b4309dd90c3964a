"""Issue 16, the notifier: signed notifications to a lender's gateway (a real HTTP server that checks the
signatures), retried with exponential back-off, dead-lettered after NOTIFY_MAX_ATTEMPTS or a refusal, and
each notification's status recorded."""

from __future__ import annotations

from typing import Any

import pytest
from agent_support import make_settings, tx
from gateway_support import Gateway, notifier_settings, services
from sqlalchemy import Engine, select

from handoff.infra import notifier
from handoff.infra.clock import FakeClock
from handoff.infra.leader import LostLeadership
from handoff.models import Notification
from handoff.reminder_settings import NotifierSettings


def _queue(engine: Engine, clock: FakeClock, settings: NotifierSettings, **extra: Any) -> int | None:
    def work(session: Any) -> int | None:
        row = notifier.queue_notification(
            session, settings=settings, clock=clock, event="reminder.due_soon", borrower_id="b-1",
            data={"loan": "****3456", "lang": "en"}, message={"lang": "en", "title": "Payment due", "body": "Hi"},
            channels=["push"], **extra)
        return row.id if row is not None else None
    return tx(engine, work)


def _row(engine: Engine, notification_id: int) -> Notification:
    return tx(engine, lambda s: s.get(Notification, notification_id))


async def test_accepted_on_the_third_attempt_with_backoff_and_valid_signatures(engine: Engine) -> None:
    gateway = Gateway(lambda n: 503 if n <= 2 else 202)
    clock = FakeClock()
    settings = notifier_settings(gateway.url, NOTIFY_MAX_ATTEMPTS=5)
    svc = services(engine, clock, make_settings(), notifier=settings)
    notification_id = _queue(engine, clock, settings)
    assert notification_id is not None and _row(engine, notification_id).status == "queued"
    try:
        assert await notifier.deliver_due(svc) == 0
        assert _row(engine, notification_id).status == "failed"
        assert await notifier.deliver_due(svc) == 0 and gateway.requests == 1  # backing off
        clock.advance(notifier.backoff_s(settings, 1))
        assert await notifier.deliver_due(svc) == 0 and gateway.requests == 2
        clock.advance(notifier.backoff_s(settings, 2) - 1)
        assert await notifier.deliver_due(svc) == 0 and gateway.requests == 2  # 10 s, not yet
        clock.advance(1)
        assert await notifier.deliver_due(svc) == 1
    finally:
        await svc.http.aclose()
        gateway.close()
    row = _row(engine, notification_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert gateway.bad_signatures == 0 and len(gateway.accepted) == 1
    got = gateway.accepted[0]
    assert got["headers"]["x-handoff-delivery"] == str(notification_id)
    assert got["headers"]["x-handoff-event"] == "reminder.due_soon"
    assert got["body"]["id"] == notification_id and got["body"]["channels"] == ["push"]
    assert got["body"]["message"]["title"] == "Payment due" and got["body"]["borrower_id"] == "b-1"
    assert notifier.backoff_s(settings, 1) == 5 and notifier.backoff_s(settings, 3) == 20


async def test_a_gateway_that_never_accepts_leaves_a_dead_letter(engine: Engine) -> None:
    gateway = Gateway(lambda _n: 500)
    clock = FakeClock()
    settings = notifier_settings(gateway.url, NOTIFY_MAX_ATTEMPTS=3)
    svc = services(engine, clock, make_settings(), notifier=settings)
    notification_id = _queue(engine, clock, settings)
    assert notification_id is not None
    try:
        for _ in range(6):
            await notifier.deliver_due(svc)
            clock.advance(settings.NOTIFY_MAX_BACKOFF_S + notifier.LEASE_S)
    finally:
        await svc.http.aclose()
        gateway.close()
    row = _row(engine, notification_id)
    assert (row.status, row.attempts, row.last_error) == ("dead", 3, "HTTP 500") and row.dead_at is not None
    assert gateway.requests == 3
    counts = tx(engine, lambda s: notifier.status_counts(s))
    assert counts == {"queued": 0, "sent": 0, "failed": 0, "dead": 1, "skipped": 0}


@pytest.mark.parametrize(("status", "expected"), [(400, "dead"), (410, "dead"), (429, "failed"), (408, "failed")])
async def test_a_refusal_is_final_but_throttling_is_retried(engine: Engine, status: int, expected: str) -> None:
    gateway = Gateway(lambda _n: status)
    clock = FakeClock()
    settings = notifier_settings(gateway.url)
    svc = services(engine, clock, make_settings(), notifier=settings)
    notification_id = _queue(engine, clock, settings)
    assert notification_id is not None
    try:
        await notifier.deliver_due(svc)
    finally:
        await svc.http.aclose()
        gateway.close()
    assert _row(engine, notification_id).status == expected


async def test_a_gateway_with_another_secret_rejects_every_request(engine: Engine) -> None:
    gateway = Gateway(secret="not-the-secret-the-service-signs-with")
    clock = FakeClock()
    settings = notifier_settings(gateway.url)
    svc = services(engine, clock, make_settings(), notifier=settings)
    notification_id = _queue(engine, clock, settings)
    assert notification_id is not None
    try:
        assert await notifier.deliver_due(svc) == 0
    finally:
        await svc.http.aclose()
        gateway.close()
    assert gateway.bad_signatures == 1 and _row(engine, notification_id).status == "dead"  # 401: refused


def test_without_a_gateway_nothing_is_stored(engine: Engine) -> None:
    clock = FakeClock()
    assert _queue(engine, clock, notifier_settings(None)) is None
    assert tx(engine, lambda s: s.scalars(select(Notification)).all()) == []


async def test_a_fenced_out_leader_sends_nothing(engine: Engine) -> None:
    gateway = Gateway()
    clock = FakeClock()
    settings = notifier_settings(gateway.url)
    svc = services(engine, clock, make_settings(), notifier=settings)
    _queue(engine, clock, settings)

    def fence(_session: Any) -> None:
        raise LostLeadership("another replica leads")

    try:
        with pytest.raises(LostLeadership):
            await notifier.deliver_due(svc, fence=fence)
    finally:
        await svc.http.aclose()
        gateway.close()
    assert gateway.requests == 0


def test_production_refuses_the_placeholder_secret() -> None:
    with pytest.raises(ValueError, match="NOTIFY_GATEWAY_SECRET"):
        NotifierSettings(APP_ENV="production", NOTIFY_GATEWAY_URL="https://gw.example/notify")
