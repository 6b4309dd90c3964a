"""The borrower notifier: signed notifications to the lender's push / SMS / WeChat gateway, stored and retried.

Public API (stable; used by repayment reminders and by live-chat pushes):

    queue_notification(session, *, settings, clock, event, borrower_id, data, message=None,
                       channels=(), conversation_id=None) -> Notification | None
        Store one notification in the caller's transaction (so it exists exactly when the change it
        reports does); None, and nothing stored, when NOTIFY_GATEWAY_URL is not set.
    deliver_due(svc, *, fence=None, prepare=None) -> int
        Send what is due (`svc.notifier`: NotifierSettings, `svc.http`, `svc.clock`, `svc.db`); returns how
        many the gateway accepted. `fence(session)` (the leader's) is called first in the lease transaction.
        `await prepare(svc, event, payload)`, before each attempt, returns the payload to send (filled in at
        send time, never stored: the live-chat pushes' device tokens) or a reason not to send it now or ever
        (status `skipped`, the reason in `last_error`: the borrower's socket is open).
    run_forever(svc, *, fence=None, prepare=None)   the loop the leader runs (NOTIFY_INTERVAL_S)
    status_counts(session, *, since=None) -> dict[str, int]     per status, for the dashboard
    STATUSES: queued (not tried yet) -> sent (2xx) | failed (retrying, exponential back-off) -> dead;
              skipped (`prepare` said no, or its conversation was erased: `handoff.privacy.outbound`)
    sign / verify_signature                  the same as handoff.infra.webhooks

Each request is a JSON POST to NOTIFY_GATEWAY_URL with the headers of the supervisor webhooks:

    X-Handoff-Event: reminder.due_soon     X-Handoff-Delivery: 42   (the notification's id: dedupe on it)
    X-Handoff-Timestamp: 1767607200        X-Handoff-Signature: sha256=<hex HMAC-SHA256>

signed with HMAC-SHA256(NOTIFY_GATEWAY_SECRET, f"{timestamp}." + body). The body is
`{"id", "event", "at", "borrower_id", "conversation_id", "channels", "message": {"lang", "title", "body"},
"data"}`. A 2xx is "sent"; 408, 429, 5xx and network errors are retried after NOTIFY_FIRST_BACKOFF_S,
doubling up to NOTIFY_MAX_BACKOFF_S; after NOTIFY_MAX_ATTEMPTS, or at once on any other 4xx (the gateway
refused it for good), the notification is "dead" (the dead letter: kept, with its last error). Delivery is at
least once: a crash between the gateway's answer and its record sends it again with the same delivery id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.infra.clock import Clock
from handoff.infra.leader import LostLeadership
from handoff.infra.webhooks import sign, verify_signature
from handoff.models import Notification
from handoff.reminder_settings import NotifierSettings

log = logging.getLogger(__name__)

__all__ = [
    "STATUSES", "deliver_due", "queue_notification", "run_forever", "sign", "status_counts", "verify_signature",
]

QUEUED, SENT, FAILED, DEAD, SKIPPED = "queued", "sent", "failed", "dead", "skipped"
STATUSES: tuple[str, ...] = (QUEUED, SENT, FAILED, DEAD, SKIPPED)
BATCH = 50
LEASE_S = 60  # a notification being sent is not picked up again (by this or another replica) meanwhile
RETRIED_CLIENT_ERRORS = frozenset({408, 425, 429})
Fence = Callable[[Session], None]
Prepare = Callable[[Any, str, dict[str, Any]], Awaitable[dict[str, Any] | str]]


def queue_notification(
    session: Session, *, settings: NotifierSettings, clock: Clock, event: str, borrower_id: str | None,
    data: dict[str, Any], message: dict[str, str] | None = None, channels: Sequence[str] = (),
    conversation_id: str | None = None,
) -> Notification | None:
    """Store a notification for the gateway (None when no gateway is configured)."""
    if not settings.NOTIFY_GATEWAY_URL:
        return None
    now = clock.now()
    row = Notification(
        event=event, borrower_id=borrower_id, conversation_id=conversation_id, status=QUEUED, attempts=0,
        created_at=now, next_attempt_at=now,
        payload={"event": event, "at": now.isoformat(), "borrower_id": borrower_id,
                 "conversation_id": conversation_id, "channels": list(channels), "message": message, "data": data},
    )
    session.add(row)
    session.flush()  # the id is the delivery id the gateway dedupes on; callers may keep it
    return row


def backoff_s(settings: NotifierSettings, attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt."""
    return float(min(settings.NOTIFY_MAX_BACKOFF_S, settings.NOTIFY_FIRST_BACKOFF_S * 2 ** max(0, attempts - 1)))


def _lease_due(session: Session, *, now: datetime, fence: Fence | None) -> list[tuple[int, str, dict[str, Any]]]:
    if fence is not None:
        fence(session)
    due = session.scalars(
        select(Notification)
        .where(Notification.status.in_((QUEUED, FAILED)), Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for row in due:
        row.next_attempt_at = now + timedelta(seconds=LEASE_S)
    return [(row.id, row.event, row.payload) for row in due]


def _record(session: Session, *, settings: NotifierSettings, notification_id: int, error: str | None,
            permanent: bool, now: datetime) -> None:
    row = session.get(Notification, notification_id)
    if row is None or row.status not in (QUEUED, FAILED):  # erased meanwhile (skipped), or already recorded
        return
    row.attempts += 1
    if error is None:
        row.status, row.sent_at, row.last_error = SENT, now, None
        return
    row.last_error = error[:200]
    if permanent or row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        row.status, row.dead_at = DEAD, now
        log.warning("notification %s (%s) dead after %s attempts: %s", row.id, row.event, row.attempts, error)
    else:
        row.status = FAILED
        row.next_attempt_at = now + timedelta(seconds=backoff_s(settings, row.attempts))


async def _post(http: httpx.AsyncClient, settings: NotifierSettings, clock: Clock,
                notification: tuple[int, str, dict[str, Any]]) -> tuple[str | None, bool]:
    """(error or None, whether the error is permanent)."""
    notification_id, event, payload = notification
    body = json.dumps({"id": notification_id, **payload}, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(clock.now().timestamp())
    headers = {
        "content-type": "application/json", "x-handoff-event": event,
        "x-handoff-delivery": str(notification_id), "x-handoff-timestamp": str(timestamp),
        "x-handoff-signature": sign(settings.NOTIFY_GATEWAY_SECRET, timestamp, body),
    }
    assert settings.NOTIFY_GATEWAY_URL is not None  # deliver_due checked
    try:
        resp = await http.post(settings.NOTIFY_GATEWAY_URL, content=body, headers=headers,
                               timeout=settings.NOTIFY_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return type(exc).__name__, False
    if 200 <= resp.status_code < 300:
        return None, False
    permanent = 400 <= resp.status_code < 500 and resp.status_code not in RETRIED_CLIENT_ERRORS
    return f"HTTP {resp.status_code}", permanent


def _skip(session: Session, *, notification_id: int, reason: str) -> None:
    row = session.get(Notification, notification_id)
    if row is not None and row.status in (QUEUED, FAILED):
        row.status, row.last_error = SKIPPED, reason[:200]


async def deliver_due(svc: Any, *, fence: Fence | None = None, prepare: Prepare | None = None) -> int:
    """Send every due notification once; returns how many the gateway accepted."""
    settings: NotifierSettings = svc.notifier
    if not settings.NOTIFY_GATEWAY_URL:
        return 0
    due = await svc.db(lambda s: _lease_due(s, now=svc.clock.now(), fence=fence))
    sent = 0
    for notification in due:
        if prepare is not None:
            prepared = await prepare(svc, notification[1], notification[2])
            if isinstance(prepared, str):
                await svc.db(lambda s, n=notification, r=prepared: _skip(s, notification_id=n[0], reason=r))
                continue
            notification = (notification[0], notification[1], prepared)
        error, permanent = await _post(svc.http, settings, svc.clock, notification)
        sent += error is None
        await svc.db(lambda s, n=notification, e=error, p=permanent: _record(
            s, settings=settings, notification_id=n[0], error=e, permanent=p, now=svc.clock.now()))
    return sent


def status_counts(session: Session, *, since: datetime | None = None, event_prefix: str | None = None
                  ) -> dict[str, int]:
    """How many notifications are in each status (created since `since`, of events starting with a prefix)."""
    query = select(Notification.status, func.count()).group_by(Notification.status)
    if since is not None:
        query = query.where(Notification.created_at >= since)
    if event_prefix is not None:
        query = query.where(Notification.event.startswith(event_prefix))
    found = {str(status): int(count) for status, count in session.execute(query).all()}
    return {status: found.get(status, 0) for status in STATUSES}


async def run_forever(svc: Any, *, fence: Fence | None = None, prepare: Prepare | None = None) -> None:
    while True:
        try:
            await deliver_due(svc, fence=fence, prepare=prepare)
        except (asyncio.CancelledError, LostLeadership):
            raise
        except DATABASE_DOWN_ERRORS as exc:
            log.warning("notifier pass skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:  # one bad pass must not stop deliveries; the next one retries
            log.exception("notifier pass failed")
        await asyncio.sleep(svc.notifier.NOTIFY_INTERVAL_S)
