"""What borrowers said about the help they got: satisfaction ratings and "did this help?" per FAQ."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from contract.codes import TurnOutcomeKind
from handoff.analytics.filters import Filters, share
from handoff.models import SurveyResponse, TurnOutcome

TOP_FAQS = 20


def satisfaction(session: Session, *, filters: Filters) -> dict[str, Any]:
    """Ratings given in the range: count, average, and how many of each 1-5."""
    query = select(SurveyResponse.rating, func.count()).where(*filters.between(SurveyResponse.at))
    rows = session.execute(
        filters.by_team(filters.scope(query, SurveyResponse), SurveyResponse).group_by(SurveyResponse.rating)).all()
    counts = {int(rating): int(n) for rating, n in rows}
    total = sum(counts.values())
    average = sum(r * n for r, n in counts.items()) / total if total else None
    return {"responses": total, "average": None if average is None else round(average, 2),
            "distribution": [{"rating": r, "count": counts.get(r, 0)} for r in range(1, 6)]}


def helpfulness(session: Session, *, filters: Filters) -> dict[str, Any]:
    """"Did this help?" answers given in the range: overall share of yes, and per FAQ (most answers first)."""
    helped = func.coalesce(func.sum(case((TurnOutcome.helped.is_(True), 1), else_=0)), 0)
    query = select(TurnOutcome.faq_id, func.count(), helped).where(
        TurnOutcome.kind == TurnOutcomeKind.FEEDBACK, *filters.between(TurnOutcome.at))
    rows = session.execute(
        filters.scope(query, TurnOutcome)
        .group_by(TurnOutcome.faq_id)
        .order_by(func.count().desc(), TurnOutcome.faq_id)
    ).all()
    total = sum(int(n) for _, n, _ in rows)
    yes = sum(int(h) for *_, h in rows)
    return {
        "answers": total, "helped": yes, "rate": share(yes, total),
        "faqs": [{"faq_id": faq_id or "(clarify)", "answers": int(n), "helped": int(h), "rate": share(int(h), int(n))}
                 for faq_id, n, h in rows[:TOP_FAQS]],
    }


def bot_outcomes(session: Session, *, filters: Filters) -> list[dict[str, Any]]:
    """Bot turns in the range per outcome kind (answer, clarify, none, ...), feedback excluded."""
    query = select(TurnOutcome.kind, func.count()).where(
        TurnOutcome.kind != TurnOutcomeKind.FEEDBACK, *filters.between(TurnOutcome.at))
    rows = session.execute(
        filters.scope(query, TurnOutcome)
        .group_by(TurnOutcome.kind)
        .order_by(func.count().desc(), TurnOutcome.kind)
    ).all()
    return [{"kind": kind, "count": int(n)} for kind, n in rows]
