"""The dashboard's repayment reminders: sent, delivered (into the chat, or accepted by the lender's gateway),
failed (the gateway gave up and the chat had no conversation for it), replies, those held back (opted out,
stale, cancelled), and how many were followed by a payment within N days (payments from the loan system)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters
from handoff.infra.clock import as_utc
from handoff.loans.types import PostedPayment
from handoff.models import Notification, Reminder
from handoff.reminders import context, timing
from knowledge_base.reminder_templates import KINDS

HELD_BACK = ("suppressed", "expired", "cancelled")


def _empty() -> dict[str, Any]:
    return {"sent": 0, "delivered": 0, "in_chat": 0, "gateway_sent": 0, "failed": 0, "replied": 0,
            "paid_within": 0, "held_back": 0}


def payment_days(payments: Sequence[PostedPayment]) -> dict[str, list[date]]:
    days: dict[str, list[date]] = defaultdict(list)
    for payment in payments:
        days[payment.loan_id].append(payment.posted_on)
    return days


def reminder_figures(session: Session, *, filters: Filters, payments: Sequence[PostedPayment] | None,
                     window_days: int) -> dict[str, Any]:
    """Per kind and in total, for reminders planned or sent in the range (language filter on the reminder's).
    `payments` None: the loan system did not answer; `paid_within` is then None."""
    query = select(Reminder, Notification.status).outerjoin(Notification, Notification.id == Reminder.notification_id)
    query = query.where(*filters.between(Reminder.planned_at))
    if filters.lang:
        query = query.where(Reminder.lang == filters.lang)
    paid = payment_days(payments or [])
    kinds: dict[str, dict[str, Any]] = {kind: _empty() for kind in KINDS}
    found = session.execute(query).all()
    answered = context.replied(session, [row for row, _gateway in found if row.status == "sent"])
    for row, gateway in found:
        figures = kinds.setdefault(row.kind, _empty())
        if row.status in HELD_BACK:
            figures["held_back"] += 1
        if row.status != "sent" or row.sent_at is None:
            continue
        figures["sent"] += 1
        in_chat = row.message_seq is not None  # also once the conversation was erased (its id is unset)
        figures["in_chat"] += in_chat
        figures["gateway_sent"] += gateway == "sent"
        figures["delivered"] += in_chat or gateway == "sent"
        figures["failed"] += gateway == "dead" and not in_chat
        figures["replied"] += row.id in answered
        sent_day = timing.local_day(as_utc(row.sent_at), row.time_zone)
        last = sent_day + timedelta(days=window_days)
        figures["paid_within"] += any(sent_day <= day <= last for day in paid.get(row.loan_id, ()))
    total = _empty()
    for figures in kinds.values():
        for key, value in figures.items():
            total[key] += value
    rows = [{"kind": kind, **figures} for kind, figures in kinds.items()]
    if payments is None:
        for figures in [total, *rows]:
            figures["paid_within"] = None
    return {"window_days": window_days, "total": total, "kinds": rows, "payments_known": payments is not None}
