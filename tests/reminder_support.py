"""Many fictional loans for the reminder tests, and what the reminders for them must be, worked out here from
the rules of docs/borrower-api.md ("Repayment reminders") without the scheduler's code."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handoff.loans.tables import LoanAccount, LoanBorrower, LoanLetterRequest

ZONES = ("America/Los_Angeles", "Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York")
QUIET_START_H, QUIET_END_H = 21, 8  # the default quiet hours, 21:00-08:00 local


@dataclass(frozen=True)
class LoanFacts:
    loan_id: str
    borrower_id: str
    zone: str
    due: date
    autopay: bool
    past_due_since: date | None
    autopay_failed_on: date | None
    letter_on: date | None


def seed_loans(engine: Engine, *, count: int, start: date, seed: int = 16) -> list[LoanFacts]:
    """`count` borrowers with one open loan each: due dates spread over a month and a few days either side,
    half on autopay, some past due, some failed debits, some payoff letters issued."""
    rng = random.Random(seed)
    facts = []
    with Session(engine) as session, session.begin():
        for n in range(count):
            zone = ZONES[n % len(ZONES)]
            borrower_id, loan_id = f"b-{n:04d}", f"L-{n:05d}"
            due = start + timedelta(days=rng.randint(-2, 34))
            autopay = rng.random() < 0.5
            past_due = start + timedelta(days=rng.randint(-12, 26)) if rng.random() < 0.3 else None
            failed = start + timedelta(days=rng.randint(-3, 30)) if autopay and rng.random() < 0.2 else None
            letter = start + timedelta(days=rng.randint(-8, 30)) if rng.random() < 0.08 else None
            session.add(LoanBorrower(borrower_id=borrower_id, name=f"Borrower {n}", language="zh" if n % 3 == 0 else "en",
                                     tier="standard", time_zone=zone))
            session.flush()
            session.add(LoanAccount(
                loan_id=loan_id, borrower_id=borrower_id, number=f"NW-2026-{n:08d}", currency="USD",
                principal=Decimal("10000.00"), rate=Decimal("5.000"), interest_paid_to=start, fees=Decimal(0),
                next_due_date=due, next_due_amount=Decimal("321.00"), days_past_due=0,
                amount_past_due=Decimal("321.00") if past_due else Decimal(0), autopay=autopay, status="active",
                past_due_since=past_due, autopay_failed_on=failed,
            ))
            session.flush()
            if letter is not None:
                session.add(LoanLetterRequest(
                    request_id=f"r-{n}", loan_id=loan_id, borrower_id=borrower_id, kind="payoff", status="sent",
                    idempotency_key=f"letter-{n}", requested_at=datetime.combine(letter, datetime.min.time(), UTC),
                    ready_on=letter))
            facts.append(LoanFacts(loan_id, borrower_id, zone, due, autopay, past_due, failed, letter))
    return facts


def windows(f: LoanFacts, *, due_soon_days: int = 3) -> dict[str, tuple[date, date, date]]:
    """key -> (day it is about, first local day, first local day it is stale), per the rules table."""
    out: dict[str, tuple[date, date, date]] = {}

    def add(kind: str, about: date, first: int, stale: int) -> None:
        out[f"{f.loan_id}:{about.isoformat()}:{kind}"] = (about, about + timedelta(days=first),
                                                           about + timedelta(days=stale))

    add("due_soon", f.due, -due_soon_days, 0)
    if not f.autopay:
        add("due_today", f.due, 0, 1)
    if f.autopay and f.autopay_failed_on:
        add("autopay_failed", f.autopay_failed_on, 0, 3)
    if f.past_due_since:
        add("missed_1", f.past_due_since, 1, 7)
        add("missed_7", f.past_due_since, 7, 14)
    if f.letter_on:
        add("payoff_letter_ready", f.letter_on, 0, 7)
    return out


def quiet(at: datetime, zone: str) -> bool:
    hour = at.astimezone(ZoneInfo(zone)).hour
    return hour >= QUIET_START_H or hour < QUIET_END_H


def expected(facts: list[LoanFacts], instants: list[datetime]) -> tuple[set[str], set[str]]:
    """(keys planned, keys sent) when the scheduler passes at `instants`: planned at the first pass on a
    local day of its window; sent at the first pass on such a day outside quiet hours."""
    planned: set[str] = set()
    sent: set[str] = set()
    for f in facts:
        zone = ZoneInfo(f.zone)
        for key, (_about, first, stale) in windows(f).items():
            days = [(t, t.astimezone(zone).date()) for t in instants]
            inside = [t for t, day in days if first <= day < stale]
            if inside:
                planned.add(key)
            if any(not quiet(t, f.zone) for t in inside):
                sent.add(key)
    return planned, sent
