"""What a dashboard query looks at: a time range, optionally one language, one channel and one team, and the
time zone that "hour of the week" is counted in.

A team is the agents' (`Agent.team`): a chat counts for the team of the agent who holds or held it, a rating
for the team of the agent it rates, a callback or complaint for the team that handled its conversation or
owns it. What happens before any person is involved (the bot's figures, the queue's live counter,
borrowers who left the queue) belongs to no team; `TEAM_SCOPED` lists the figures a team narrows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, cast, func, or_, select

from handoff.models import Agent, CallbackTicket, Complaint, Conversation, QueueEntry, SurveyResponse

UTC_ZONE: Final = ZoneInfo("UTC")
TEAM_SCOPED: Final = ("handoffs_by_reason", "first_response", "callbacks", "complaints", "satisfaction", "hours",
                      "agents")


@dataclass(frozen=True)
class Filters:
    start: datetime  # inclusive, timezone-aware
    end: datetime  # exclusive
    lang: str | None = None
    channel: str | None = None
    tz: ZoneInfo = UTC_ZONE
    team: str | None = None

    def conversation_terms(self) -> list[ColumnElement[bool]]:
        """WHERE terms on `Conversation` for the language and channel filters."""
        terms: list[ColumnElement[bool]] = []
        if self.lang:
            terms.append(Conversation.lang == self.lang)
        if self.channel:
            terms.append(Conversation.channel == self.channel)
        return terms

    def between(self, column: Any) -> list[ColumnElement[bool]]:
        return [column >= self.start, column < self.end]

    def scope(self, query: Any, model: Any) -> Any:  # any Select; SQLAlchemy types each column list apart
        """`query` over `model`, narrowed to the language and channel filters: on the model's own `lang` /
        `channel` columns where it has them (a queue entry's language is the one it was handed off in), and
        through a join to its conversation only for what it lacks - the join to 100,000 conversations is
        the expensive part of most figures, and without filters there is none."""
        terms, joined = [], False
        for name in ("lang", "channel"):
            wanted = getattr(self, name)
            if not wanted:
                continue
            own = getattr(model, name, None)
            if own is None:
                joined = True
            terms.append((own if own is not None else getattr(Conversation, name)) == wanted)
        if joined:
            query = query.join(Conversation, Conversation.id == model.conversation_id)
        return query.where(*terms)


    def team_agents(self) -> Any:
        """The ids of the team's agents, as a subquery (every account when there is no team filter)."""
        query = select(Agent.id)
        return query.where(Agent.team == self.team) if self.team else query

    def by_team(self, query: Any, model: Any) -> Any:
        """`query` over `model` narrowed to the team filter (unchanged without one): `IN` a subquery of the
        few agents' ids, which both databases run as a hashed semi-join."""
        if not self.team:
            return query
        ids = self.team_agents()
        if model is QueueEntry:
            return query.where(QueueEntry.assigned_agent_id.in_(ids))
        if model is SurveyResponse:
            return query.where(SurveyResponse.agent_id.in_(ids))
        owner = {CallbackTicket: CallbackTicket.worked_by_agent_id, Complaint: Complaint.owner_agent_id}[model]
        handled = select(QueueEntry.conversation_id).where(QueueEntry.assigned_agent_id.in_(ids))
        return query.where(or_(model.conversation_id.in_(handled), owner.in_(ids)))


def epoch_seconds(column: Any) -> Any:
    """SQL for a timestamp as seconds since 1970 (float) on SQLite and PostgreSQL: differences are taken in
    the database, so a month of rows crosses the wire as one number each instead of datetimes to parse."""
    return cast(func.extract("epoch", column), Float)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (the value at rank ceil(q * n) of the sorted values): what a person computes
    by hand from a list, and never a value that did not occur."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
