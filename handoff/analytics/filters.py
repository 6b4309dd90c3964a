"""What a dashboard query looks at: a time range, optionally one language and one channel, and the time
zone that "hour of the week" is counted in."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, cast, func

from handoff.models import Conversation

UTC_ZONE: Final = ZoneInfo("UTC")


@dataclass(frozen=True)
class Filters:
    start: datetime  # inclusive, timezone-aware
    end: datetime  # exclusive
    lang: str | None = None
    channel: str | None = None
    tz: ZoneInfo = UTC_ZONE

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
