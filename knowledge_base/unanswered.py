"""The questions the bot did not answer well, read from the conversation service's database.

A question counts when its turn ended in `none`, `clarify` or `fallback`, when the borrower said the answer
did not help, or when the turn handed off after the knowledge base had been tried (a nearest FAQ was
recorded). The service stores each turn's outcome in its `turn_outcomes` table, the borrower's text already
masked; this module reads that table by name with plain SQL (it does not import the service). The command
line (`collect`) and the editors' report in the console (`read`, on the service's own connection) share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from knowledge_base.errors import KBError

SINCE_RE = re.compile(r"^(\d+)([dh])$")
QUERY = text("""
    SELECT question, lang, kind, faq_id, MAX(score), MIN(at), COUNT(*) FROM turn_outcomes
    WHERE at >= :since AND at < :until AND question <> '' AND question NOT LIKE '/%' AND (
        kind IN ('none', 'clarify', 'fallback')
        OR (kind = 'feedback' AND helped = :no)
        OR (kind = 'handoff' AND faq_id IS NOT NULL))
    GROUP BY question, lang, kind, faq_id, CASE WHEN at < :midpoint THEN 0 ELSE 1 END
    ORDER BY MIN(at), MIN(id)
""").bindparams(bindparam("no", False))



@dataclass(frozen=True)
class Asked:
    """An unanswered question: masked text, language, how the turn ended, what the bot had found. `count`
    times in the same half of the window (`read` adds up identical ones in the database: a month holds a
    hundred thousand, mostly the same few hundred wordings); `at` is the first time, `score` the best."""

    question: str
    lang: str
    kind: str
    faq_id: str | None
    score: float | None
    at: datetime
    count: int = 1


def parse_since(value: str, *, now: datetime) -> datetime:
    """`7d` or `12h` before `now`."""
    match = SINCE_RE.match(value.strip())
    if match is None:
        raise KBError(f"--since {value!r}: write a number of days or hours, like 7d or 12h")
    amount, unit = int(match.group(1)), match.group(2)
    return now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read(conn: Connection, *, since: datetime, until: datetime) -> list[Asked]:
    """The unanswered questions asked in [since, until), oldest first, on an open connection; identical
    ones in the same half of the window come as one with their count (the clusters' trend compares halves)."""
    # In UTC, as the rows are stored: SQLite compares the text of the times.
    bounds = {"since": since.astimezone(UTC), "until": until.astimezone(UTC),
              "midpoint": (since + (until - since) / 2).astimezone(UTC)}
    rows = conn.execute(QUERY, bounds).all()
    return [Asked(question=str(q), lang=str(lang), kind=str(kind), faq_id=faq, score=None if s is None else float(s),
                  at=_utc(at), count=int(n)) for q, lang, kind, faq, s, at, n in rows]


def collect(database_url: str, *, since: datetime, until: datetime) -> list[Asked]:
    """Every unanswered question asked in [since, until), oldest first (KBError when the database cannot be
    read)."""
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1) if database_url.startswith(
        "postgresql://") else database_url
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise KBError(f"--database-url: {exc}") from None
    try:
        with engine.connect() as conn:
            return read(conn, since=since, until=until)
    except SQLAlchemyError as exc:
        reason = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()[0]
        raise KBError(f"cannot read turn_outcomes from the service database ({reason}); is the service migrated?") \
            from None
    finally:
        engine.dispose()
