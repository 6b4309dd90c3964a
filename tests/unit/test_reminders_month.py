"""Issue 16, "Show it": a month of due dates for 1,000 loans, with an injected clock. The reminders are exactly
the ones worked out independently (tests/reminder_support.py), none goes out in the borrower's quiet hours,
none after an opt-out, each reaches the chat once and the gateway (a real HTTP server that checks every
signature) once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from agent_support import make_settings, tx
from gateway_support import Gateway, notifier_settings, services
from reminder_support import expected, quiet, seed_loans
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from handoff.conversations.records import create_conversation
from handoff.infra import notifier
from handoff.infra.clock import FakeClock, as_utc
from handoff.loans.reference import ReferenceLoanSystem
from handoff.models import Conversation, Message, Notification, Reminder
from handoff.reminder_settings import ReminderSettings
from handoff.reminders import consent, scheduler, templates

START = date(2026, 12, 1)
DAYS = 31
STEP_H = 3


def _conversations(engine: Engine, with_chat: range) -> None:
    def work(session: Session) -> None:
        for n in with_chat:
            conversation, _token = create_conversation(session, secret_key="k", lang="en")
            conversation.borrower_id = f"b-{n:04d}"
    tx(engine, work)


def _opt_out(engine: Engine, at: datetime, opted_out: range) -> None:
    def work(session: Session) -> None:
        for n in opted_out:
            for channel in ("chat", "push"):
                consent.set_consent(session, borrower_id=f"b-{n:04d}", channel=channel, granted=False,
                                    source="borrower_api", now=at)
    tx(engine, work)


@pytest.mark.db
@pytest.mark.parametrize("loans", [pytest.param(1000, marks=pytest.mark.slow), 120])
async def test_a_month_of_reminders(engine: Engine, loans: int) -> None:
    with_chat = range(0, loans, 4)  # a quarter of the borrowers have an open, signed-in conversation
    opted_out = range(1, loans, 20)  # these opt out of every channel half-way through
    facts = seed_loans(engine, count=loans, start=START)
    _conversations(engine, with_chat)
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    gateway = Gateway()
    svc = services(engine, clock, make_settings(), notifier=notifier_settings(gateway.url),
                   reminders=ReminderSettings(REMINDER_MAX_PER_DAY=6),  # one loan each: at most 6 ever, no cap
                   loans=ReferenceLoanSystem(engine, today=lambda: clock.now().date()))
    found = templates.load()
    instants = [clock.now() + timedelta(hours=STEP_H * i) for i in range(DAYS * 24 // STEP_H)]
    opt_out_at = instants[len(instants) // 2] - timedelta(minutes=30)
    try:
        for at in instants:
            if instants[0] < opt_out_at <= at and clock.now() < opt_out_at:
                clock.set(opt_out_at)
                _opt_out(engine, opt_out_at, opted_out)
            clock.set(at)
            await scheduler.run_once(svc, templates=found)
            await notifier.deliver_due(svc)
    finally:
        await svc.http.aclose()
        gateway.close()

    rows = tx(engine, lambda s: s.scalars(select(Reminder)).all())
    planned, sent = expected(facts, instants)
    assert len(sent) > loans * 1.5  # the month is not trivially empty
    assert {r.idempotency_key for r in rows} == planned
    by_status: dict[str, set[str]] = {}
    for r in rows:
        by_status.setdefault(r.status, set()).add(r.idempotency_key)
    opted = {f"b-{n:04d}" for n in opted_out}
    suppressed = [r for r in rows if r.status == "suppressed"]
    assert suppressed and all(r.borrower_id in opted and r.reason == "opted_out" for r in suppressed)
    assert by_status.get("sent", set()) | by_status.get("suppressed", set()) == sent
    # Planned but never sent: every pass on a day it was due fell in quiet hours (it waits, or lapsed).
    assert by_status.get("planned", set()) | by_status.get("expired", set()) == planned - sent
    assert set(by_status) <= {"sent", "suppressed", "expired", "planned"}

    zones = {f.borrower_id: f.zone for f in facts}
    for r in rows:
        if r.status == "sent":
            assert r.sent_at is not None
            at = as_utc(r.sent_at)
            assert not quiet(at, zones[r.borrower_id]), (r.idempotency_key, at.astimezone(ZoneInfo(r.time_zone)))
            assert not (r.borrower_id in opted and at >= opt_out_at), r.idempotency_key

    # The chat: one message per sent reminder of a borrower with a conversation, in that conversation.
    messages = tx(engine, lambda s: s.execute(
        select(Message.payload, Conversation.borrower_id).join(Conversation, Conversation.id == Message.conversation_id)
    ).all())
    in_chat = Counter(p["custom"]["reminder_id"] for p, _b in messages if p and p.get("custom", {}).get("type") == "reminder")
    chat_borrowers = {f"b-{n:04d}" for n in with_chat}
    should = {r.id for r in rows if r.status == "sent" and r.borrower_id in chat_borrowers}
    assert set(in_chat) == should and max(in_chat.values()) == 1

    # The gateway: each sent reminder once, signed, with its words in the borrower's language.
    assert gateway.bad_signatures == 0
    got = Counter(a["body"]["data"]["reminder_id"] for a in gateway.accepted)
    assert set(got) == {r.id for r in rows if r.status == "sent"} and max(got.values()) == 1
    assert len({a["headers"]["x-handoff-delivery"] for a in gateway.accepted}) == len(gateway.accepted)
    statuses = tx(engine, lambda s: Counter(s.scalars(select(Notification.status)).all()))
    assert statuses == Counter({"sent": len(got)})
    for borrower, lang, word in (("b-0002", "en", "loan"), ("b-0003", "zh", "贷款")):  # n % 3 == 0: zh
        sample = next(a["body"] for a in gateway.accepted if a["body"]["borrower_id"] == borrower)
        assert sample["message"]["lang"] == lang and word in sample["message"]["body"]
        assert f"****{borrower[-4:]}" in sample["message"]["body"] and sample["channels"] == ["push"]
