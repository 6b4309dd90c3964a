"""Outbound supervisor notifications: a signed JSON POST that chat or e-mail gateways can consume.

`queue_webhook` stores the notification in the same transaction as the change it reports (so nothing is
announced that did not happen, and nothing that happened is lost on a crash); `deliver_due` sends what is
due, retrying failures with exponential back-off up to WEBHOOK_MAX_ATTEMPTS. Each request carries

    X-Handoff-Event: sla_breach            X-Handoff-Delivery: 42
    X-Handoff-Timestamp: 1767607200        X-Handoff-Signature: sha256=<hex HMAC-SHA256>

where the signature is HMAC-SHA256(SUPERVISOR_WEBHOOK_SECRET, f"{timestamp}." + body). A receiver checks
it with `verify_signature` (or the same two lines in its own language) and rejects old timestamps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.infra.clock import Clock
from handoff.models import WebhookDelivery

log = logging.getLogger(__name__)

BATCH = 20
LEASE_S = 60  # a delivery being sent is not picked up again (by this or another replica) meanwhile
MAX_BACKOFF_S = 3600
FIRST_BACKOFF_S = 5
REQUEST_TIMEOUT_S = 5.0
DEFAULT_INTERVAL_S = 2.0


def queue_webhook(session: Session, *, settings: Any, clock: Clock, event: str, data: dict[str, Any]) -> None:
    """Store a notification for the supervisors' webhook (a no-op when none is configured)."""
    if not settings.SUPERVISOR_WEBHOOK_URL:
        return
    now = clock.now()
    session.add(WebhookDelivery(
        event=event, payload={"event": event, "at": now.isoformat(), "data": data}, created_at=now,
        next_attempt_at=now,
    ))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def backoff_s(attempts: int) -> float:
    return float(min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** max(0, attempts - 1)))


def _lease_due(session: Session, *, now: datetime) -> list[tuple[int, str, dict[str, Any]]]:
    due = session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.delivered_at.is_(None), WebhookDelivery.failed_at.is_(None),
            WebhookDelivery.next_attempt_at <= now,
        ).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH).with_for_update(skip_locked=True)
    ).all()
    for row in due:
        row.next_attempt_at = now + timedelta(seconds=LEASE_S)
    return [(row.id, row.event, row.payload) for row in due]


def _record(session: Session, *, delivery_id: int, error: str | None, now: datetime, max_attempts: int) -> None:
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        return
    row.attempts += 1
    if error is None:
        row.delivered_at = now
        row.last_error = None
        return
    row.last_error = error[:200]
    if row.attempts >= max_attempts:
        row.failed_at = now
        log.warning("webhook delivery %s (%s) given up after %s attempts: %s", row.id, row.event, row.attempts,
                    error)
    else:
        row.next_attempt_at = now + timedelta(seconds=backoff_s(row.attempts))


async def _post(http: httpx.AsyncClient, settings: Any, clock: Clock, delivery: tuple[int, str, dict[str, Any]]
                ) -> str | None:
    delivery_id, event, payload = delivery
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(clock.now().timestamp())
    headers = {
        "content-type": "application/json", "x-handoff-event": event, "x-handoff-delivery": str(delivery_id),
        "x-handoff-timestamp": str(timestamp),
        "x-handoff-signature": sign(settings.SUPERVISOR_WEBHOOK_SECRET, timestamp, body),
    }
    try:
        resp = await http.post(settings.SUPERVISOR_WEBHOOK_URL, content=body, headers=headers,
                               timeout=REQUEST_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None if 200 <= resp.status_code < 300 else f"HTTP {resp.status_code}"


async def deliver_due(svc: Any) -> int:
    """Send every due notification once; returns how many were delivered."""
    settings = svc.settings
    if not settings.SUPERVISOR_WEBHOOK_URL:
        return 0
    due = await svc.db(lambda s: _lease_due(s, now=svc.clock.now()))
    delivered = 0
    for delivery in due:
        error = await _post(svc.http, settings, svc.clock, delivery)
        delivered += error is None
        await svc.db(lambda s, d=delivery, e=error: _record(
            s, delivery_id=d[0], error=e, now=svc.clock.now(), max_attempts=settings.WEBHOOK_MAX_ATTEMPTS))
    return delivered


async def run_forever(svc: Any, *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
    while True:
        try:
            await deliver_due(svc)
        except asyncio.CancelledError:
            raise
        except DATABASE_DOWN_ERRORS as exc:
            log.warning("webhook pass skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:  # one bad pass must not stop deliveries; the next one retries
            log.exception("webhook pass failed")
        await asyncio.sleep(interval_s)
