"""The editors' report: the questions the bot did not answer well in a date range, grouped by meaning (the
clustering is the knowledge base's, `handoff/agents/kb.py`), and which of them editors already filed as test
questions of an FAQ. The rows are read with the command line's own query (`knowledge_base.unanswered`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.analytics.filters import Filters
from handoff.models import TurnOutcome
from knowledge_base.clusters import Cluster
from knowledge_base.question_set import QuestionCase
from knowledge_base.unanswered import Asked, read

MAX_WORDINGS_SHOWN = 30  # per cluster in the console (the count covers them all)
MAX_MARK = 200  # wordings one "answered by" may file


def questions(session: Session, *, filters: Filters, now: datetime) -> list[Asked]:
    """The unanswered questions of the range (up to now), in the language of the filter if any."""
    asked = read(session.connection(), since=filters.start, until=min(filters.end, now))
    return [a for a in asked if not filters.lang or a.lang == filters.lang]


def cluster_id(c: Cluster) -> str:
    """A short name of a cluster that stays the same while its most asked wording does."""
    return hashlib.sha256(f"{c.lang}\n{c.wordings[0]}".encode()).hexdigest()[:12]


def report(clusters: Sequence[Cluster], *, asked: int, filed: Iterable[QuestionCase], filters: Filters,
           until: datetime) -> dict[str, Any]:
    """The report as the console shows it. A cluster is `answered_by` an FAQ when editors filed every one
    of its wordings as that FAQ's test questions; `filed` counts the wordings already in the file."""
    by_wording = {(q.question.casefold(), q.lang): q.faq_id for q in filed}
    rows = []
    for c in clusters:
        faqs = {by_wording.get((w.casefold(), c.lang)) for w in c.wordings}
        filed_count = sum(1 for w in c.wordings if (w.casefold(), c.lang) in by_wording)
        answered_by = next(iter(faqs)) if len(faqs) == 1 and None not in faqs else None
        rows.append({
            "id": cluster_id(c), "lang": c.lang, "count": c.count, "trend": c.trend, "earlier": c.earlier,
            "later": c.later, "nearest_faq": c.nearest_faq, "nearest_score": c.nearest_score, "kinds": c.kinds,
            "examples": list(c.examples), "wordings": list(c.wordings[:MAX_WORDINGS_SHOWN]),
            "distinct_wordings": len(c.wordings), "filed": filed_count, "answered_by": answered_by,
        })
    return {"range": {"from": filters.start.isoformat(), "to": until.isoformat(), "lang": filters.lang},
            "questions": asked, "clusters": rows}


def asked_wordings(session: Session, *, lang: str, wordings: Sequence[str]) -> list[str]:
    """Those of `wordings` that borrowers really asked in `lang` (as stored: masked), in the given order:
    an editor files what the report showed, not free text."""
    wanted = list(dict.fromkeys(w for w in wordings if w))[:MAX_MARK]
    if not wanted:
        return []
    found = set(session.scalars(select(TurnOutcome.question).where(
        TurnOutcome.lang == lang, TurnOutcome.question.in_(wanted)).distinct()))
    return [w for w in wanted if w in found]
