"""Synthetic traffic for the dashboard: days of conversations with bot outcomes, handoffs, waits, agents'
shifts, ratings and callbacks, written straight into a service database, then every dashboard query timed.

    python benchmarks/dashboard_day.py --database-url sqlite:///var/dash.db --conversations 3000 --days 7
    python benchmarks/dashboard_day.py --database-url postgresql+psycopg://... --conversations 100000 \\
        --messages-per-conversation 10 --days 28 --time   # the 1M-message benchmark

The wordings are the real evaluation questions (benchmarks/eval), out-of-scope ones for the turns the bot
could not answer, so the unanswered-questions report has something true to cluster. Nothing here goes
through the HTTP API: it fills a database with weeks of history in seconds; the dashboard then reads it.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from handoff.analytics import dashboard, unanswered
from handoff.analytics.filters import TEAM_SCOPED
from handoff.infra import db
from handoff.models import (
    Agent,
    AuditEvent,
    CallbackTicket,
    Conversation,
    Message,
    QueueEntry,
    SurveyResponse,
    TurnOutcome,
)

EVAL = Path(__file__).resolve().parent / "eval"
REASONS = [("explicit_request", 45), ("low_confidence", 14), ("repeated_fallback", 12), ("negative_feedback", 10),
           ("anger", 9), ("sensitive_topic", 8), ("bot_unavailable", 2)]
HOURLY = [1, 1, 1, 1, 1, 2, 3, 6, 10, 14, 16, 15, 12, 13, 14, 13, 12, 11, 12, 14, 13, 9, 5, 2]  # arrivals by hour
WEEKDAY = [1.0, 0.95, 0.9, 0.9, 1.0, 0.55, 0.45]
AGENTS = [("li.na", "Li Na", "zh,en", (8, 16)), ("wang.wei", "Wang Wei", "zh", (8, 16)),
          ("maria", "Maria Lopez", "en", (8, 16)), ("sam", "Sam Carter", "en,zh", (9, 17)),
          ("zhang.min", "Zhang Min", "zh,en", (13, 21)), ("olivia", "Olivia Chen", "en,zh", (13, 21)),
          ("james", "James Park", "en", (14, 22)), ("chen.jie", "Chen Jie", "zh", (14, 22))]
TEAMS = {8: "early", 9: "early", 13: "late", 14: "late"}  # by the hour a shift starts
CHUNK = 5000


def _questions() -> dict[str, dict[str, list[tuple[str, str | None]]]]:
    found: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    for lang in ("en", "zh"):
        known = [tuple(line.split("\t")) for line in (EVAL / f"{lang}.tsv").read_text("utf-8").splitlines() if "\t" in line]
        unknown = [(line.strip(), None) for line in (EVAL / f"oos_{lang}.txt").read_text("utf-8").splitlines() if line.strip()]
        found[lang] = {"known": [(q, f) for q, f in known], "unknown": unknown}
    return found


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _arrival(rng: random.Random, start: date, days: int) -> datetime:
    while True:
        day = start + timedelta(days=rng.randrange(days))
        hour = rng.choices(range(24), weights=HOURLY)[0]
        if rng.random() <= WEEKDAY[day.weekday()]:
            return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(seconds=rng.randrange(3600))


def _on_shift(agent: tuple[str, str, str, tuple[int, int]], moment: datetime) -> bool:
    first, last = agent[3]
    weekend = moment.weekday() >= 5
    return first <= moment.hour < last and (not weekend or agent[0] in ("li.na", "maria", "olivia"))


class Writer:
    """Buffers rows per table and inserts them in chunks (Core inserts: fast on both databases)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, model: Any, **row: Any) -> None:
        self.rows.setdefault(model, []).append(row)
        if len(self.rows[model]) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Every buffer, parents first (the foreign keys hold at every step)."""
        order = [Agent, Conversation, QueueEntry, Message, TurnOutcome, SurveyResponse, CallbackTicket, AuditEvent]
        for table in order:
            batch = self.rows.pop(table, [])
            if batch:
                with self.engine.begin() as conn:
                    conn.execute(insert(table.__table__), batch)
                self.counts[table.__tablename__] = self.counts.get(table.__tablename__, 0) + len(batch)


def _shifts(writer: Writer, agent_ids: dict[str, int], start: date, days: int) -> None:
    for offset in range(days):
        day = start + timedelta(days=offset)
        for agent in AGENTS:
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            if not _on_shift(agent, noon.replace(hour=agent[3][0])):
                continue
            begin = datetime(day.year, day.month, day.day, agent[3][0], tzinfo=UTC)
            end = datetime(day.year, day.month, day.day, agent[3][1] - 1, 59, tzinfo=UTC)
            writer.add(AuditEvent, at=begin, actor_type="agent", actor_id=str(agent_ids[agent[0]]), action="login")
            writer.add(AuditEvent, at=end, actor_type="agent", actor_id=str(agent_ids[agent[0]]), action="logout")


def _conversation(writer: Writer, rng: random.Random, *, n: int, created: datetime, agents: dict[str, int],
                  questions: dict[str, Any], messages: int, now: datetime, next_entry: Iterator[int]) -> None:
    cid = f"{n:032x}"
    lang = "zh" if rng.random() < 0.4 else "en"
    channel = "app" if rng.random() < 0.3 else "web"
    at = created
    turns = rng.choice([1, 1, 2, 2, 3, 4])
    handed = rng.random() < 0.3
    reason = _pick(rng, REASONS) if handed else None
    outcomes: list[dict[str, Any]] = []
    out = lambda **row: outcomes.append(row)
    seq = 0
    for turn in range(turns):
        seq += 1
        at += timedelta(seconds=rng.randrange(10, 90))
        unknown = rng.random() < (0.45 if handed else 0.2)
        question, faq = rng.choice(questions[lang]["unknown" if unknown else "known"])
        base = {"conversation_id": cid, "borrower_seq": seq, "at": at, "lang": lang, "channel": channel,
                "question": question, "options": None, "reason": None, "helped": None}
        if unknown:
            kind = "none" if rng.random() < 0.8 else "fallback"
            out(**base, kind=kind, faq_id=None, score=round(rng.uniform(0.2, 0.45), 3))
        elif rng.random() < 0.15:
            out(**{**base, "options": {"faq_ids": [faq]}}, kind="clarify", faq_id=faq,
                       score=round(rng.uniform(0.45, 0.6), 3))
        else:
            out(**base, kind="answer", faq_id=faq, score=round(rng.uniform(0.6, 0.95), 3))
            if rng.random() < 0.45:
                seq += 1
                at += timedelta(seconds=rng.randrange(5, 40))
                out(**{**base, "borrower_seq": seq, "at": at, "helped": rng.random() < 0.74},
                           kind="feedback", faq_id=faq, score=None)
        if handed and turn == turns - 1:
            out(**{**base, "reason": reason}, kind="handoff", faq_id=faq, score=None)

    last_seq = max(seq * 2, messages)
    writer.add(Conversation, id=cid, token_hash="0" * 64, lang=lang, channel=channel, state="closed", last_seq=last_seq,
               assigned_agent_id=None, agent_helped=False, client_addr=None, created_at=created, updated_at=at)
    for row in outcomes:
        writer.add(TurnOutcome, **row)
    for m in range(1, last_seq + 1):
        sender = "borrower" if m % 2 else ("bot" if m < last_seq - 2 or not handed else "agent")
        writer.add(Message, conversation_id=cid, seq=m, sender=sender, text="…", payload=None,
                   client_message_id=None, reply_to_seq=m, agent_id=None, created_at=created + timedelta(seconds=m))
    if handed:
        _handoff(writer, rng, cid=cid, lang=lang, reason=str(reason), queued=at + timedelta(seconds=20),
                 agents=agents, now=now, entry_id=next(next_entry))


def _handoff(writer: Writer, rng: random.Random, *, cid: str, lang: str, reason: str, queued: datetime,
             agents: dict[str, int], now: datetime, entry_id: int) -> None:
    on = [a for a in AGENTS if _on_shift(a, queued) and lang in a[2]] or []
    busy = 1.0 + 3.0 * (HOURLY[queued.hour] / max(HOURLY))
    wait = rng.expovariate(1 / (45 * busy)) if on else rng.uniform(1800, 7200)
    entry: dict[str, Any] = {
        "id": entry_id, "conversation_id": cid, "status": "done", "reason": reason, "priority": "normal",
        "priority_rank": 2, "lang": lang, "summary": "", "packet": {}, "enqueued_at": queued,
        "assigned_agent_id": None, "assigned_at": None, "first_agent_reply_at": None, "answered_at": None,
        "last_agent_reply_at": None, "last_borrower_msg_at": None, "sla_warned_at": None, "sla_breached_at": None,
        "first_breach_at": None, "requeue_count": 0,
        "closed_at": None, "resolution_code": None, "version": 0,
    }
    if queued + timedelta(seconds=wait) > now:  # still waiting when the day ends: the live counter
        entry.update(status="waiting")
    elif rng.random() < 0.08 + min(wait, 600) / 3000:
        entry.update(closed_at=queued + timedelta(seconds=wait), resolution_code="borrower_left")
    else:
        agent = rng.choice(on or AGENTS)
        taken = queued + timedelta(seconds=wait)
        speed = 1 + AGENTS.index(agent) * 0.25
        first = taken + timedelta(seconds=rng.uniform(8, 40) * speed)
        closed = first + timedelta(seconds=rng.uniform(180, 1200))
        entry.update(assigned_agent_id=agents[agent[0]], assigned_at=taken, first_agent_reply_at=first,
                     answered_at=first, last_agent_reply_at=first)
        if closed > now:
            entry.update(status="assigned", last_borrower_msg_at=now - timedelta(seconds=rng.randrange(5, 200)))
        else:
            entry.update(closed_at=closed, resolution_code="resolved")
            if rng.random() < 0.4:
                mood = 4.6 - AGENTS.index(agent) * 0.18 - (1.0 if reason == "anger" else 0.0)
                rating = max(1, min(5, round(rng.gauss(mood, 0.8))))
                writer.add(SurveyResponse, conversation_id=cid, queue_entry_id=entry_id, agent_id=agents[agent[0]],
                           rating=rating, comment="", lang=lang, at=closed + timedelta(seconds=30))
    if (first_reply := entry["first_agent_reply_at"] or (now if entry["status"] == "waiting" else None)) and \
            (first_reply - queued).total_seconds() > 120:
        entry["sla_breached_at"] = entry["first_breach_at"] = queued + timedelta(seconds=120)
    writer.add(QueueEntry, **entry)
    if rng.random() < 0.05:
        writer.add(CallbackTicket, conversation_id=cid, queue_entry_id=entry_id, contact_method="phone",
                   contact="***", preferred_time="", lang=lang, status="open" if rng.random() < 0.4 else "done",
                   created_at=queued + timedelta(seconds=60))


def seed(engine: Engine, *, conversations: int, days: int, end: datetime, messages: int, seed_value: int,
         waiting_ages: tuple[int, ...] = ()) -> dict[str, int]:
    rng = random.Random(seed_value)
    writer = Writer(engine)
    start = end.date() - timedelta(days=days - 1)  # the last `days` calendar days, today up to `end`
    with Session(engine) as session:
        for username, name, langs, shift in AGENTS:
            session.add(Agent(username=username, password_hash="!", display_name=name, role="agent",
                              languages=langs, max_concurrent=3, status="offline", team=TEAMS[shift[0]]))
        session.commit()
        agent_ids = {a.username: a.id for a in session.query(Agent).all()}
    _shifts(writer, agent_ids, start, days)
    questions = _questions()
    entry_ids = iter(range(1, conversations + 1))
    for n in range(1, conversations + 1):
        created = _arrival(rng, start, days)
        while created >= end - timedelta(minutes=10):  # today's traffic so far only
            created = _arrival(rng, start, days)
        _conversation(writer, rng, n=n, created=created, agents=agent_ids, questions=questions, messages=messages,
                      now=end, next_entry=entry_ids)
    for k, age in enumerate(waiting_ages):  # borrowers still waiting at the end: the live counter
        n = conversations + 1 + k
        cid = f"{n:032x}"
        queued = end - timedelta(seconds=age)
        writer.add(Conversation, id=cid, token_hash="0" * 64, lang="zh" if k % 2 else "en", channel="web",
                   state="queued", last_seq=2, assigned_agent_id=None, agent_helped=False, client_addr=None,
                   created_at=queued - timedelta(seconds=60), updated_at=queued)
        _handoff(writer, random.Random(k), cid=cid, lang="zh" if k % 2 else "en", reason="explicit_request",
                 queued=queued, agents=agent_ids, now=queued, entry_id=n)
    writer.flush()
    _live_states(engine)
    return writer.counts


def _live_states(engine: Engine) -> None:
    """Conversations still in the queue or with an agent at the end are in that state (the rest are closed),
    so that a service started on the database (screenshots) finds what its SLA clock expects."""
    with engine.begin() as conn:
        conn.execute(update(Conversation).where(Conversation.id.in_(
            select(QueueEntry.conversation_id).where(QueueEntry.status == "waiting"))).values(state="queued"))
        conn.execute(update(Conversation).where(Conversation.id.in_(
            select(QueueEntry.conversation_id).where(QueueEntry.status == "assigned"))).values(
            state="assigned", assigned_agent_id=select(QueueEntry.assigned_agent_id).where(
                QueueEntry.conversation_id == Conversation.id, QueueEntry.status == "assigned").scalar_subquery()))


def time_queries(engine: Engine, *, end: datetime, days: int, repeat: int = 3,
                 team: str | None = None) -> dict[str, float]:
    """Milliseconds (best of `repeat`) for each dashboard figure over the whole seeded range (with `team`:
    the figures a team narrows, and the editors' read of the unanswered questions, instead)."""
    filters = dashboard.make_filters(start=end.date() - timedelta(days=days - 1), end=end.date(), lang=None,
                                     channel=None, tz="UTC", today=end.date(), team=team)
    figures: dict[str, Any] = {
        "waiting": lambda s: dashboard.live.unanswered(s, filters=filters, now=end),
        "containment": lambda s: dashboard.flow.containment(s, filters=filters),
        "handoffs_by_reason": lambda s: dashboard.flow.handoffs_by_reason(s, filters=filters),
        "first_response": lambda s: dashboard.speed.first_response(s, filters=filters, sla_s=120),
        "abandonment": lambda s: dashboard.flow.abandonment(s, filters=filters),
        "callbacks": lambda s: dashboard.flow.callbacks(s, filters=filters, now=end),
        "satisfaction": lambda s: dashboard.quality.satisfaction(s, filters=filters),
        "helpfulness": lambda s: dashboard.quality.helpfulness(s, filters=filters),
        "bot_outcomes": lambda s: dashboard.quality.bot_outcomes(s, filters=filters),
        "hours": lambda s: dashboard.staffing.by_hour_of_week(s, filters=filters, now=end),
        "complaints": lambda s: dashboard.flow.complaints(s, filters=filters, now=end),
        "agents": lambda s: dashboard.speed.per_agent(s, filters=filters),
        "unanswered_rows": lambda s: unanswered.questions(s, filters=filters, now=end),
    }
    if team:
        figures = {name: work for name, work in figures.items() if name in TEAM_SCOPED}
    timings = {}
    for name, work in figures.items():
        best = float("inf")
        for _ in range(repeat):
            with Session(engine) as session:
                began = time.perf_counter()
                work(session)
                best = min(best, time.perf_counter() - began)
        timings[name] = round(best * 1000, 1)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--conversations", type=int, default=3000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--messages-per-conversation", type=int, default=0)
    parser.add_argument("--end", default=None, help="ISO time the traffic ends (default: now, UTC)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--waiting", default="", help="ages in seconds of borrowers still waiting at the end, e.g. 40,150,290")
    parser.add_argument("--time", action="store_true", help="time every dashboard query afterwards")
    parser.add_argument("--time-only", action="store_true", help="time the queries of an already seeded database")
    parser.add_argument("--time-days", type=int, default=None, help="range of the timings (default --days)")
    args = parser.parse_args()
    end = datetime.fromisoformat(args.end) if args.end else datetime.now(UTC).replace(microsecond=0)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    engine = db.make_engine(args.database_url)
    db.upgrade(engine)
    began = time.perf_counter()
    report: dict[str, Any] = {"end": end.isoformat()}
    if not args.time_only:
        report["rows"] = seed(engine, conversations=args.conversations, days=args.days, end=end,
                              messages=args.messages_per_conversation, seed_value=args.seed,
                              waiting_ages=tuple(int(a) for a in args.waiting.split(",") if a))
        report["seed_s"] = round(time.perf_counter() - began, 1)
    if args.time or args.time_only:
        days = args.time_days or args.days
        report["query_ms"] = time_queries(engine, end=end, days=days, repeat=5)
        report["team_query_ms"] = time_queries(engine, end=end, days=days, repeat=5, team="early")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
