"""Staffing by hour of the week (in the business time zone): arrivals, the average queue depth, and the
average number of agents online, so that shifts can follow the peaks.

Averages are per occurrence of that hour in the range: with a two-week range, Monday 09:00 occurs twice,
and 6 arrivals in those two hours average 3.0. Queue depth and agents online are time-weighted (a borrower
waiting 30 minutes of an hour adds 0.5 to that hour)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters, epoch_seconds
from handoff.conversations.place import STAFF_ROLES
from handoff.infra.clock import as_utc
from handoff.models import Agent, AuditEvent, QueueEntry

HOUR: Final = timedelta(hours=1)
STATUS_ACTIONS: Final = ("login", "logout", "agent_status")
Slot = tuple[int, int]  # (weekday 0 = Monday, hour 0-23)


class _Clock:
    """Hour-of-week arithmetic on epoch seconds: the zone's offset is looked up once per UTC hour, so a
    month of 30,000 waits costs arithmetic, not 100,000 time-zone conversions."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, float] = {}

    def offset(self, t: float) -> float:
        hour = int(t // 3600)
        if hour not in self._offsets:
            moment = datetime.fromtimestamp(hour * 3600, UTC)
            self._offsets[hour] = (self.tz.utcoffset(moment) or timedelta()).total_seconds()
        return self._offsets[hour]

    def slot(self, t: float) -> Slot:
        local = t + self.offset(t)
        return (int(local // 86400) + 3) % 7, int(local % 86400 // 3600)  # 1970-01-01 was a Thursday

    def next_hour(self, t: float) -> float:
        return t - (t + self.offset(t)) % 3600 + 3600

    def offsets(self, times: np.ndarray) -> np.ndarray:
        hours, where = np.unique(np.floor(times / 3600), return_inverse=True)
        return np.array([self.offset(h * 3600) for h in hours], dtype=np.float64)[where].reshape(times.shape)

    def slots(self, times: np.ndarray) -> np.ndarray:
        """Flat slot numbers (weekday * 24 + hour) of epoch seconds."""
        local = np.floor((times + self.offsets(times)) / 3600).astype(np.int64)
        slots: np.ndarray = ((local // 24 + 3) % 7) * 24 + local % 24
        return slots


def _pieces(start: float, stop: float, filters: Filters, clock: _Clock) -> Iterator[tuple[Slot, float]]:
    """(slot, seconds) of the interval [start, stop) in epoch seconds, clipped to the range, hour by hour."""
    cursor, stop = max(start, filters.start.timestamp()), min(stop, filters.end.timestamp())
    while cursor < stop:
        boundary = min(clock.next_hour(cursor), stop)
        yield clock.slot(cursor), boundary - cursor
        cursor = boundary


def occurrences(filters: Filters, clock: _Clock) -> dict[Slot, float]:
    """How many hours of each slot the range holds (fractions at its edges)."""
    found: dict[Slot, float] = defaultdict(float)
    for slot, secs in _pieces(filters.start.timestamp(), filters.end.timestamp(), filters, clock):
        found[slot] += secs / 3600
    return found


def _waits(session: Session, filters: Filters, clock: _Clock, now: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals per slot and waiting seconds per slot (168 each, slot = weekday * 24 + hour). Vectorised:
    a month holds tens of thousands of waits, nearly all inside one hour; the few longer ones go hour by hour."""
    query = select(epoch_seconds(QueueEntry.enqueued_at), epoch_seconds(QueueEntry.assigned_at), epoch_seconds(QueueEntry.closed_at)).where(
        QueueEntry.enqueued_at < filters.end,
        or_(QueueEntry.closed_at.is_(None), QueueEntry.closed_at >= filters.start))
    rows = session.execute(filters.by_team(filters.scope(query, QueueEntry), QueueEntry)).all()
    arrivals, waiting = np.zeros(168), np.zeros(168)
    if not rows:
        return arrivals, waiting
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64)
    lo, hi = filters.start.timestamp(), filters.end.timestamp()
    queued = data[:, 0]
    ends = np.fmin(data[:, 1], data[:, 2])
    ends = np.where(np.isnan(ends), now.timestamp(), ends)
    arrived = (queued >= lo) & (queued < hi)
    np.add.at(arrivals, clock.slots(queued[arrived]), 1)
    start, stop = np.maximum(queued, lo), np.minimum(ends, hi)
    keep = start < stop
    start, stop = start[keep], stop[keep]
    offsets = clock.offsets(start)
    first, last = np.floor((start + offsets) / 3600), np.floor((stop + offsets - 1e-6) / 3600)
    one = first == last
    np.add.at(waiting, clock.slots(start[one]), (stop - start)[one])
    for begin, end in zip(start[~one], stop[~one], strict=True):
        for (day, hour), secs in _pieces(float(begin), float(end), filters, clock):
            waiting[day * 24 + hour] += secs
    return arrivals, waiting


def _online_intervals(session: Session, *, filters: Filters) -> list[tuple[datetime, datetime]]:
    """Intervals agents were online in the range, from the login/logout/status audit trail. An agent whose
    first event in the range moves them *from* online counts as online since the range began. Only accounts
    that take chats count (agents and supervisors, not admins or editors), and with a team filter only the
    team's."""
    staff = {str(i) for i in session.scalars(
        filters.team_agents().where(Agent.role.in_([str(r) for r in STAFF_ROLES])))}
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
        if agent not in staff:
            continue
        at = as_utc(at)
        if agent not in since:
            since[agent] = filters.start if detail.get("from") == "online" else None
        goes_online = action == "login" or (action == "agent_status" and detail.get("to") == "online")
        if goes_online:
            since[agent] = since[agent] or at
        elif (began := since[agent]) is not None and (action == "logout" or detail.get("to") in ("away", "offline")):
            intervals.append((began, at))
            since[agent] = None
    intervals.extend((start, filters.end) for start in since.values() if start is not None)
    return intervals


def by_hour_of_week(session: Session, *, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    """168 rows (Monday 00:00 first) with the hours of the range in that slot, arrivals (total and per
    hour), average queue depth and average agents online (with a team filter: the chats the team took and
    the team's agents). A chat waits from its handoff until it is taken
    (`assigned_at`) or ends (`closed_at`), or until now."""
    clock = _Clock(filters.tz)
    arrivals, waiting = _waits(session, filters, clock, now)
    online: dict[Slot, float] = defaultdict(float)
    for start, end in _online_intervals(session, filters=filters):
        for slot, secs in _pieces(start.timestamp(), end.timestamp(), filters, clock):
            online[slot] += secs
    hours = occurrences(filters, clock)
    table = []
    for day in range(7):
        for hour in range(24):
            slot = (day, hour)
            n = hours.get(slot, 0.0)
            came, waited = int(arrivals[day * 24 + hour]), float(waiting[day * 24 + hour])
            table.append({
                "weekday": day, "hour": hour, "hours": round(n, 3), "arrivals": came,
                "arrivals_per_hour": round(came / n, 2) if n else None,
                "queue_depth": round(waited / 3600 / n, 2) if n else None,
                "agents_online": round(online.get(slot, 0.0) / 3600 / n, 2) if n else None,
            })
    return table
