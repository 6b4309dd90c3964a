"""Staffing by hour of the week (in the business time zone): arrivals, the average queue depth, and the
average number of agents online, so that shifts can follow the peaks.

Averages are per occurrence of that hour in the range: with a two-week range, Monday 09:00 occurs twice,
and 6 arrivals in those two hours average 3.0. Queue depth and agents online are time-weighted (a borrower
waiting 30 minutes of an hour adds 0.5 to that hour)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters
from handoff.infra.clock import as_utc
from handoff.models import AuditEvent, Conversation, QueueEntry

HOUR: Final = timedelta(hours=1)
STATUS_ACTIONS: Final = ("login", "logout", "agent_status")
Slot = tuple[int, int]  # (weekday 0 = Monday, hour 0-23)


def _hour_start(moment: datetime, filters: Filters) -> datetime:
    local = moment.astimezone(filters.tz)
    return local.replace(minute=0, second=0, microsecond=0)


def _slot(moment: datetime, filters: Filters) -> Slot:
    local = moment.astimezone(filters.tz)
    return local.weekday(), local.hour


def _pieces(start: datetime, end: datetime, filters: Filters) -> Iterator[tuple[Slot, float]]:
    """(slot, seconds) of the interval [start, end) clipped to the range, hour by hour."""
    start, end = max(start, filters.start), min(end, filters.end)
    cursor = start
    while cursor < end:
        boundary = min(_hour_start(cursor, filters) + HOUR, end)
        yield _slot(cursor, filters), (boundary - cursor).total_seconds()
        cursor = boundary


def occurrences(filters: Filters) -> dict[Slot, float]:
    """How many hours of each slot the range holds (fractions at its edges)."""
    found: dict[Slot, float] = defaultdict(float)
    for slot, secs in _pieces(filters.start, filters.end, filters):
        found[slot] += secs / 3600
    return found


def _online_intervals(session: Session, *, filters: Filters) -> list[tuple[datetime, datetime]]:
    """Intervals agents were online in the range, from the login/logout/status audit trail. An agent whose
    first event in the range moves them *from* online counts as online since the range began."""
    events = session.execute(
        select(AuditEvent.at, AuditEvent.actor_id, AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.action.in_(STATUS_ACTIONS), *filters.between(AuditEvent.at))
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    since: dict[str, datetime | None] = {}
    intervals = []
    for at, actor_id, action, detail in events:
        detail = detail or {}
        agent = str(detail.get("agent_id") or actor_id)
        at = as_utc(at)
        if agent not in since:
            since[agent] = filters.start if detail.get("from") == "online" else None
        goes_online = action == "login" or (action == "agent_status" and detail.get("to") == "online")
        if goes_online:
            since[agent] = since[agent] or at
        elif since[agent] is not None and (action == "logout" or detail.get("to") in ("away", "offline")):
            intervals.append((since[agent], at))
            since[agent] = None
    intervals.extend((start, filters.end) for start in since.values() if start is not None)
    return intervals


def by_hour_of_week(session: Session, *, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    """168 rows (Monday 00:00 first) with the hours of the range in that slot, arrivals (total and per
    hour), average queue depth and average agents online. A chat waits from its handoff until it is taken
    (`assigned_at`) or ends (`closed_at`), or until now."""
    rows = session.execute(
        select(QueueEntry.enqueued_at, QueueEntry.assigned_at, QueueEntry.closed_at)
        .join(Conversation, Conversation.id == QueueEntry.conversation_id)
        .where(QueueEntry.enqueued_at < filters.end,
               or_(QueueEntry.closed_at.is_(None), QueueEntry.closed_at >= filters.start),
               *filters.conversation_terms())
    ).all()
    arrivals: dict[Slot, int] = defaultdict(int)
    waiting: dict[Slot, float] = defaultdict(float)
    for queued, assigned, closed in rows:
        queued = as_utc(queued)
        if filters.start <= queued < filters.end:
            arrivals[_slot(queued, filters)] += 1
        ends = [as_utc(t) for t in (assigned, closed) if t is not None]
        for slot, secs in _pieces(queued, min(ends) if ends else now, filters):
            waiting[slot] += secs
    online: dict[Slot, float] = defaultdict(float)
    for start, end in _online_intervals(session, filters=filters):
        for slot, secs in _pieces(start, end, filters):
            online[slot] += secs
    hours = occurrences(filters)
    table = []
    for day in range(7):
        for hour in range(24):
            slot = (day, hour)
            n = hours.get(slot, 0.0)
            table.append({
                "weekday": day, "hour": hour, "hours": round(n, 3), "arrivals": arrivals.get(slot, 0),
                "arrivals_per_hour": round(arrivals.get(slot, 0) / n, 2) if n else None,
                "queue_depth": round(waiting.get(slot, 0.0) / 3600 / n, 2) if n else None,
                "agents_online": round(online.get(slot, 0.0) / 3600 / n, 2) if n else None,
            })
    return table
