"""Issue 16: no reminder twice - not after a crash in the middle of a batch, not with two schedulers on one
database (two PostgreSQL connections pools when TEST_DATABASE_URL is set), not from a leader that lost its
lease; and the frequency cap defers reminders (never drops a fresh one)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from agent_support import make_settings, tx
from gateway_support import Gateway, notifier_settings, services
from reminder_support import expected, seed_loans
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from handoff.conversations.records import create_conversation
from handoff.infra import db, notifier
from handoff.infra.clock import FakeClock
from handoff.infra.leader import LostLeadership, make_leader
from handoff.loans.reference import ReferenceLoanSystem
from handoff.loans.tables import LoanAccount
from handoff.models import Message, Notification, Reminder
from handoff.reminder_settings import ReminderSettings
from handoff.reminders import scheduler, templates
from handoff.reminders.kinds import idempotency_key
from handoff.services import Services
from knowledge_base.reminder_templates import ReminderTemplate, ReminderTemplates

START = date(2026, 12, 1)
LOANS = 150
INSTANTS = [datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=3 * i) for i in range(8 * 5)]  # five days


@dataclass(frozen=True)
class CrashingTemplates(ReminderTemplates):
    """The real templates, but the process 'dies' (raises) while rendering the n-th reminder: inside its
    transaction, after the reminder was claimed and before anything was committed."""

    crash_at: int = 0
    calls: list[int] | None = None

    def get(self, kind: str, lang: str) -> ReminderTemplate:
        assert self.calls is not None
        self.calls.append(1)
        if len(self.calls) == self.crash_at:
            raise RuntimeError("power cut")
        return super().get(kind, lang)


def _chats(engine: Engine) -> None:
    def work(session: Session) -> None:
        for n in range(LOANS):
            conversation, _token = create_conversation(session, secret_key="k")
            conversation.borrower_id = f"b-{n:04d}"
    tx(engine, work)


def _svc(engine: Engine, clock: FakeClock, gateway: Gateway, **reminders: Any) -> Services:
    return services(engine, clock, make_settings(), notifier=notifier_settings(gateway.url),
                    reminders=ReminderSettings(REMINDER_MAX_PER_DAY=6, REMINDER_BATCH=25, **reminders),
                    loans=ReferenceLoanSystem(engine))


def _assert_each_sent_once(engine: Engine, gateway: Gateway, keys: set[str]) -> None:
    rows = tx(engine, lambda s: s.scalars(select(Reminder)).all())
    sent = {r.id for r in rows if r.status == "sent"}
    assert {r.idempotency_key for r in rows if r.status == "sent"} == keys
    in_chat = Counter(p["custom"]["reminder_id"] for p in tx(engine, lambda s: s.scalars(select(Message.payload)).all())
                      if p and (p.get("custom") or {}).get("type") == "reminder")
    assert set(in_chat) == sent and set(in_chat.values()) == {1}
    notified = Counter(n.payload["data"]["reminder_id"] for n in tx(engine, lambda s: s.scalars(select(Notification)).all()))
    assert set(notified) == sent and set(notified.values()) == {1}
    at_gateway = Counter(a["body"]["data"]["reminder_id"] for a in gateway.accepted)
    assert set(at_gateway) == sent and set(at_gateway.values()) == {1} and gateway.bad_signatures == 0


@pytest.mark.db
async def test_a_crash_in_the_middle_of_a_batch_sends_nothing_twice(engine: Engine) -> None:
    facts = seed_loans(engine, count=LOANS, start=START)
    _chats(engine)
    clock = FakeClock(INSTANTS[0])
    gateway = Gateway()
    real = templates.load()
    try:
        for step, at in enumerate(INSTANTS):
            clock.set(at)
            if step in (0, 8):  # two passes die part-way; the service restarts (new clients) and goes on
                doomed = _svc(engine, clock, gateway)
                crashing = CrashingTemplates(real.templates, [], 0, crash_at=5, calls=[])
                with pytest.raises(RuntimeError, match="power cut"):
                    await scheduler.run_once(doomed, templates=crashing)
                await doomed.http.aclose()
                assert len(crashing.calls or []) == 5  # it did die half-way through a batch:
                left = Counter(tx(engine, lambda s: s.scalars(select(Reminder.status)).all()))
                assert left["sent"] >= 2 and left["planned"] >= 1, left  # some out, the rest still waiting
            svc = _svc(engine, clock, gateway)
            await scheduler.run_once(svc, templates=real)
            await notifier.deliver_due(svc)
            await svc.http.aclose()
    finally:
        gateway.close()
    _planned, sent = expected(facts, INSTANTS)
    _assert_each_sent_once(engine, gateway, sent)


@pytest.mark.db
async def test_two_schedulers_at_once_on_one_database_send_each_reminder_once(engine: Engine, database_url: str
                                                                               ) -> None:
    facts = seed_loans(engine, count=LOANS, start=START)
    _chats(engine)
    other = db.make_engine(database_url)  # the second replica: its own connection pool
    clock = FakeClock(INSTANTS[0])
    gateway = Gateway()
    found = templates.load()
    first, second = _svc(engine, clock, gateway), _svc(other, clock, gateway)
    try:
        for at in INSTANTS:
            clock.set(at)
            # Worst case: both believe they lead (no fence); the unique key and the conditional claim decide.
            await asyncio.gather(scheduler.run_once(first, templates=found),
                                 scheduler.run_once(second, templates=found))
            await asyncio.gather(notifier.deliver_due(first), notifier.deliver_due(second))
    finally:
        await first.http.aclose()
        await second.http.aclose()
        other.dispose()
        gateway.close()
    _planned, sent = expected(facts, INSTANTS)
    _assert_each_sent_once(engine, gateway, sent)


@pytest.mark.db
async def test_a_leader_that_lost_its_lease_sends_nothing(engine: Engine, database_url: str) -> None:
    seed_loans(engine, count=20, start=START)
    other = db.make_engine(database_url)
    clock = FakeClock(datetime(2026, 12, 1, 18, tzinfo=UTC))
    gateway = Gateway()
    old, new = make_leader(engine, retry_s=0.05), make_leader(other, retry_s=0.05)
    stale_svc, svc = _svc(engine, clock, gateway), _svc(other, clock, gateway)
    found = templates.load()
    try:
        old._elected()  # type: ignore[attr-defined]  # the leader that will be overtaken
        new._elected()  # type: ignore[attr-defined]  # took over (a newer fencing token)
        with pytest.raises(LostLeadership):
            await scheduler.run_once(stale_svc, templates=found, fence=old.fence)
        assert tx(engine, lambda s: s.scalars(select(Reminder)).all()) == []
        report = await scheduler.run_once(svc, templates=found, fence=new.fence)
        assert report.planned > 0
    finally:
        await stale_svc.http.aclose()
        await svc.http.aclose()
        other.dispose()
        gateway.close()


async def test_the_frequency_cap_defers_and_a_deferred_reminder_goes_out_when_it_fits(engine: Engine) -> None:
    (loan,) = seed_loans(engine, count=1, start=START)
    clock = FakeClock(datetime(2026, 12, 1, 12, tzinfo=UTC))
    today = clock.now().date()

    def two_due(session: Session) -> None:  # autopay failed today, and a payment missed since yesterday
        account = session.get(LoanAccount, loan.loan_id)
        assert account is not None
        account.next_due_date, account.autopay = today + timedelta(days=20), True
        account.past_due_since, account.autopay_failed_on = today - timedelta(days=1), today
    tx(engine, two_due)
    gateway = Gateway()
    svc = _svc(engine, clock, gateway)
    svc.reminders = ReminderSettings(REMINDER_MAX_PER_DAY=1, REMINDER_QUIET_START="00:00", REMINDER_QUIET_END="00:00")
    found = templates.load()
    try:
        await scheduler.run_once(svc, templates=found)
        rows = {r.kind: r for r in tx(engine, lambda s: s.scalars(select(Reminder)).all())}
        assert set(rows) == {"autopay_failed", "missed_1"}
        (first,) = [r for r in rows.values() if r.status == "sent"]
        (waiting,) = [r for r in rows.values() if r.status == "planned"]
        assert waiting.reason == "frequency_cap"
        clock.advance(23 * 3600)
        await scheduler.run_once(svc, templates=found)
        assert tx(engine, lambda s: s.get(Reminder, waiting.id)).status == "planned"  # 23 h: still capped
        clock.advance(3600 + 60)
        await scheduler.run_once(svc, templates=found)
        later = tx(engine, lambda s: s.get(Reminder, waiting.id))
    finally:
        await svc.http.aclose()
        gateway.close()
    assert later.status == "sent" and later.sent_at is not None and first.sent_at is not None
    assert later.sent_at - first.sent_at >= timedelta(hours=24)
    assert later.idempotency_key == idempotency_key(loan.loan_id, later.due_on, later.kind)
