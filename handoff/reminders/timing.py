"""When a reminder may go out: quiet hours in the borrower's own time zone, and the frequency cap.

A reminder that falls in quiet hours or over the cap is deferred (its `not_before` moves), never dropped;
it only lapses when it becomes stale (`kinds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CAP_WINDOW = timedelta(hours=24)


def zone(name: str) -> ZoneInfo:
    """The borrower's time zone; UTC when the loan system sent a name we do not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(zone(tz)).date()


def start_of_day(day: date, tz: str) -> datetime:
    """The borrower's local midnight starting `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def in_quiet_hours(at: datetime, tz: str, *, start: time, end: time) -> bool:
    """Quiet from `start` to `end` local time; the window may wrap midnight (21:00-08:00)."""
    now = at.astimezone(zone(tz)).time()
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_until(at: datetime, tz: str, *, start: time, end: time) -> datetime:
    """`at` when it is outside quiet hours, else the end of the quiet hours it is in (UTC)."""
    if not in_quiet_hours(at, tz, start=start, end=end):
        return at
    local = at.astimezone(zone(tz))
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone(tz)).astimezone(UTC)


def cap_until(sent: Sequence[datetime], *, now: datetime, max_per_day: int) -> datetime | None:
    """None when one more reminder fits in the last 24 hours; else when the oldest of them leaves the window."""
    recent = sorted(at for at in sent if now - at < CAP_WINDOW)
    if len(recent) < max_per_day:
        return None
    return recent[len(recent) - max_per_day] + CAP_WINDOW
