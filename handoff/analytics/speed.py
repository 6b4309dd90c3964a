"""How fast people answer: first response against the SLA, breaches, and the per-agent table."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters, epoch_seconds, percentile, share
from handoff.models import Agent, QueueEntry, SurveyResponse


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def first_response(session: Session, *, filters: Filters, sla_s: int) -> dict[str, Any]:
    """Seconds from the handoff to a person's first reply (`answered_at`, kept when the chat is requeued or
    transferred later), for the entries created in the range that got one; p50/p90 (nearest rank), how many
    replies came within the SLA, and the entries the SLA clock found in breach (`first_breach_at`, answered
    or not)."""
    wait = epoch_seconds(QueueEntry.answered_at) - epoch_seconds(QueueEntry.enqueued_at)
    query = select(wait, QueueEntry.first_breach_at.is_not(None)).where(*filters.between(QueueEntry.enqueued_at))
    rows = session.execute(filters.by_team(filters.scope(query, QueueEntry), QueueEntry)).all()
    waits = [float(w) for w, _ in rows if w is not None]
    within = sum(1 for w in waits if w <= sla_s)
    return {
        "sla_s": sla_s,
        "answered": len(waits),
        "p50_s": _round(percentile(waits, 0.5)),
        "p90_s": _round(percentile(waits, 0.9)),
        "within_sla": within,
        "within_sla_rate": share(within, len(waits)),
        "breaches": sum(1 for _, breached in rows if breached),
    }


def per_agent(session: Session, *, filters: Filters) -> list[dict[str, Any]]:
    """One row per agent who took a chat in the range (by `assigned_at`): chats, median first response
    (from taking the chat to the first reply), median handle time (taking to closing), and the average
    satisfaction of the ratings given in the range. Fastest median first response first."""
    taken = epoch_seconds(QueueEntry.assigned_at)
    query = select(QueueEntry.assigned_agent_id, epoch_seconds(QueueEntry.first_agent_reply_at) - taken,
                   epoch_seconds(QueueEntry.closed_at) - taken).where(
        QueueEntry.assigned_agent_id.is_not(None), QueueEntry.assigned_at.is_not(None),
        *filters.between(QueueEntry.assigned_at))
    rows = session.execute(filters.by_team(filters.scope(query, QueueEntry), QueueEntry)).all()
    firsts: dict[int, list[float]] = defaultdict(list)
    handles: dict[int, list[float]] = defaultdict(list)
    chats: dict[int, int] = defaultdict(int)
    for agent_id, first, closed in rows:
        chats[agent_id] += 1
        if first is not None:
            firsts[agent_id].append(max(0.0, float(first)))
        if closed is not None:
            handles[agent_id].append(max(0.0, float(closed)))
    ratings = {
        agent_id: (float(avg), int(n))
        for agent_id, avg, n in session.execute(filters.by_team(filters.scope(
            select(SurveyResponse.agent_id, func.avg(SurveyResponse.rating), func.count())
            .where(SurveyResponse.agent_id.is_not(None), *filters.between(SurveyResponse.at)), SurveyResponse),
            SurveyResponse).group_by(SurveyResponse.agent_id)
        ).all()
    }
    ids = sorted(set(chats) | set(ratings))
    names = dict(session.execute(select(Agent.id, Agent.display_name).where(Agent.id.in_(ids))).all()) if ids else {}
    table = [
        {
            "agent_id": agent_id, "name": names.get(agent_id, str(agent_id)), "chats": chats.get(agent_id, 0),
            "first_response_p50_s": _round(percentile(firsts[agent_id], 0.5)),
            "handle_time_p50_s": _round(percentile(handles[agent_id], 0.5)),
            "satisfaction": round(ratings[agent_id][0], 2) if agent_id in ratings else None,
            "ratings": ratings[agent_id][1] if agent_id in ratings else 0,
        }
        for agent_id in ids
    ]
    return sorted(table, key=lambda r: (r["first_response_p50_s"] is None, r["first_response_p50_s"] or 0,
                                        r["name"]))
