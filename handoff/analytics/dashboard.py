"""The supervisor dashboard: every figure for one set of filters, and its tables as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.analytics import flow, live, quality, speed, staffing
from handoff.analytics.filters import TEAM_SCOPED, Filters
from handoff.errors import InvalidInputError
from handoff.models import Agent

DEFAULT_DAYS: Final = 7
MAX_DAYS: Final = 366


def make_filters(
    *, start: date | None, end: date | None, lang: str | None, channel: str | None, tz: str, today: date,
    team: str | None = None,
) -> Filters:
    """Whole days in the business time zone, `end` inclusive (default: the last seven days up to today)."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInputError("from: the start date must not be after the end date")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInputError(f"from/to: at most {MAX_DAYS} days at a time")
    zone = ZoneInfo(tz)
    return Filters(
        start=datetime.combine(start, time(), zone), end=datetime.combine(end + timedelta(days=1), time(), zone),
        lang=lang or None, channel=channel or None, tz=zone, team=team or None,
    )


def teams(session: Session) -> list[str]:
    """The teams agents are in, for the filter's choices."""
    return list(session.scalars(select(Agent.team).where(Agent.team.is_not(None)).distinct().order_by(Agent.team)))


def overview(session: Session, *, filters: Filters, now: datetime, sla_s: int) -> dict[str, Any]:
    return {
        "range": {"from": filters.start.isoformat(), "to": filters.end.isoformat(), "tz": str(filters.tz),
                  "lang": filters.lang, "channel": filters.channel, "team": filters.team},
        "teams": teams(session),
        "team_scoped": list(TEAM_SCOPED),
        "waiting": live.unanswered(session, filters=filters, now=now),
        "containment": flow.containment(session, filters=filters),
        "handoffs_by_reason": flow.handoffs_by_reason(session, filters=filters),
        "first_response": speed.first_response(session, filters=filters, sla_s=sla_s),
        "abandonment": flow.abandonment(session, filters=filters),
        "callbacks": flow.callbacks(session, filters=filters, now=now),
        "complaints": flow.complaints(session, filters=filters, now=now),
        "satisfaction": quality.satisfaction(session, filters=filters),
        "helpfulness": quality.helpfulness(session, filters=filters),
        "bot_outcomes": quality.bot_outcomes(session, filters=filters),
        "hours": staffing.by_hour_of_week(session, filters=filters, now=now),
        "agents": speed.per_agent(session, filters=filters),
    }


Table = Callable[[Session, Filters, datetime], list[dict[str, Any]]]
TABLES: Final[dict[str, Table]] = {
    "reasons": lambda s, f, now: flow.handoffs_by_reason(s, filters=f),
    "agents": lambda s, f, now: speed.per_agent(s, filters=f),
    "hours": lambda s, f, now: staffing.by_hour_of_week(s, filters=f, now=now),
    "faqs": lambda s, f, now: quality.helpfulness(s, filters=f)["faqs"],
    "outcomes": lambda s, f, now: quality.bot_outcomes(s, filters=f),
    "satisfaction": lambda s, f, now: quality.satisfaction(s, filters=f)["distribution"],
}


def table_csv(session: Session, *, name: str, filters: Filters, now: datetime) -> str:
    """One dashboard table as CSV (a header row of its field names; empty cells for no value)."""
    if name not in TABLES:
        raise InvalidInputError(f"table must be one of {', '.join(TABLES)}")
    rows = TABLES[name](session, filters, now)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()
