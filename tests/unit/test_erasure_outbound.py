"""Issue 16, privacy of what goes out: erasing a conversation takes its push devices, scrubs its gateway
notifications (an undelivered one is never sent, even one in flight) and leaves of its reminders key-only
rows, so the erased borrower is not reminded twice of the same due date; retention deletes finished
reminders and notifications after RETENTION_MESSAGES_DAYS, but no reminder key that could be planned again."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from agent_support import make_settings, tx
from gateway_support import Gateway, notifier_settings, services
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_erasure import rows_referencing

from handoff.conversations.devices import DeviceFields, register_device
from handoff.conversations.pushes import AGENT_REPLY, PushContext, queue_live_push
from handoff.conversations.records import append_message, create_conversation
from handoff.infra import notifier
from handoff.infra.clock import FakeClock
from handoff.infra.db import session_scope
from handoff.infra.secretbox import SecretBox
from handoff.loans.demo import seed_demo_loans
from handoff.loans.reference import ReferenceLoanSystem
from handoff.loans.types import ReminderAccount
from handoff.models import Notification, PushDevice, Reminder
from handoff.privacy import outbound, retention
from handoff.privacy.erasure import erase_conversation
from handoff.reminder_settings import ReminderSettings
from handoff.reminders import kinds, scheduler, sender, templates
from handoff.services import Services
from knowledge_base.reminder_templates import KINDS as REMINDER_KINDS

TODAY = date(2026, 12, 1)
NOON_IN_CALIFORNIA = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # Jordan (Los Angeles) is due in 3 days
JORDAN = "demo-jordan"
IOS = "b2" * 32
# What a reminder or a live-chat push of Jordan carries: the masked loan number, the amount, the reply.
PERSONAL = ("0042", "965", "Jordan", "Lee", "balance is", IOS)


def _rig(engine: Engine, gateway: Gateway) -> tuple[Services, FakeClock]:
    seed_demo_loans(engine, today=TODAY)
    clock = FakeClock(NOON_IN_CALIFORNIA)
    svc = services(engine, clock, make_settings(), notifier=notifier_settings(gateway.url),
                   reminders=ReminderSettings(), loans=ReferenceLoanSystem(engine, today=lambda: clock.now().date()))
    return svc, clock


def _jordans_chat(engine: Engine, svc: Services, clock: FakeClock, *, push: bool = True) -> str:
    """Jordan signed in, with a phone registered and (when `push`) an agent's reply pushed to it."""
    settings = make_settings()

    def work(session: Session) -> str:
        conversation, _token = create_conversation(session, secret_key=settings.SECRET_KEY)
        conversation.borrower_id = JORDAN
        register_device(session, conversation_id=conversation.id, box=SecretBox(settings.contact_keys),
                        secret_key=settings.SECRET_KEY, now=clock.now(),
                        fields=DeviceFields(platform="ios", push_token=IOS, app_version="2.1.0"))
        if push:
            reply = append_message(session, conversation_id=conversation.id, sender="agent",
                                   text="Jordan Lee, your balance is settled")
            context = PushContext(notifier=svc.notifier, clock=clock, enabled=True, preview_chars=80)
            assert queue_live_push(session, push=context, conversation_id=conversation.id, event=AGENT_REPLY,
                                   agent_name="Ann", message=reply)
        return conversation.id

    return tx(engine, work)


async def _scheduler_pass(svc: Services) -> dict[str, Any]:
    return scheduler.describe(await scheduler.run_once(svc, templates=templates.load()))


def _dump(engine: Engine) -> str:
    """Jordan's reminders, every notification and device, as text."""
    def work(session: Session) -> str:
        rows = [*session.scalars(select(Reminder).where(Reminder.borrower_id == JORDAN)),
                *session.scalars(select(Notification)),
                *session.scalars(select(PushDevice))]
        return json.dumps([{c.name: str(getattr(r, c.name)) for c in r.__table__.columns} for r in rows],
                          ensure_ascii=False)
    return tx(engine, work)


async def test_erasure_scrubs_reminders_and_notifications_and_takes_the_devices(engine: Engine) -> None:
    gateway = Gateway()
    svc, clock = _rig(engine, gateway)
    try:
        cid = _jordans_chat(engine, svc, clock)
        report = await _scheduler_pass(svc)
        assert report["sent"] == 1  # Jordan's due_soon, into the chat and out as a push
        before = tx(engine, lambda s: rows_referencing(s, cid))
        assert {"reminders", "notifications", "push_devices"} <= set(before)
        assert all(word in _dump(engine) for word in ("0042", "965"))
        (reminder_before,) = tx(engine, lambda s: s.scalars(select(Reminder).where(Reminder.borrower_id == JORDAN)
                                                            .where(Reminder.status == "sent")).all())

        erased = tx(engine, lambda s: erase_conversation(s, conversation_id=cid))

        assert tx(engine, lambda s: rows_referencing(s, cid)) == {}
        dump = _dump(engine)
        assert [word for word in PERSONAL if word in dump] == []
        kept = tx(engine, lambda s: s.get(Reminder, reminder_before.id))
        assert (kept.idempotency_key, kept.status, kept.data, kept.reason, kept.conversation_id) == (
            reminder_before.idempotency_key, "sent", {}, "erased", None)
        notes = tx(engine, lambda s: s.scalars(select(Notification).order_by(Notification.id)).all())
        assert [(n.status, n.last_error, n.payload, n.borrower_id) for n in notes] == [
            ("skipped", "erased", {"erased": True}, None)] * 2
        assert erased.scrubbed == {"reminders": 1, "notifications": 2}

        # Nothing goes out any more, and the same reminder is neither planned nor sent again, in the chat or
        # in the conversation Jordan signs in to next.
        assert await notifier.deliver_due(svc) == 0 and gateway.requests == 0
        again = await _scheduler_pass(svc)
        assert again.get("sent", 0) == 0
        assert tx(engine, lambda s: s.scalars(select(Reminder.idempotency_key).where(
            Reminder.idempotency_key == kept.idempotency_key)).all()) == [kept.idempotency_key]
        new_cid = _jordans_chat(engine, svc, clock, push=False)
        assert tx(engine, lambda s: sender.deliver_pending(s, borrower_id=JORDAN, conversation_id=new_cid,
                                                           now=clock.now(), templates=templates.load())) == 0
    finally:
        await svc.http.aclose()
        gateway.close()


async def test_a_push_in_flight_while_its_conversation_is_erased_stays_scrubbed(engine: Engine) -> None:
    erased: list[str] = []

    def answer(_n: int) -> int:  # the gateway takes its time: the conversation is erased meanwhile
        erased.append(tx(engine, lambda s: erase_conversation(s, conversation_id=cid)).pseudonym)
        return 204

    gateway = Gateway(answer)
    svc, clock = _rig(engine, gateway)
    try:
        cid = _jordans_chat(engine, svc, clock)
        assert await notifier.deliver_due(svc) == 1 and erased
    finally:
        await svc.http.aclose()
        gateway.close()
    (row,) = tx(engine, lambda s: s.scalars(select(Notification)).all())
    assert (row.status, row.payload, row.conversation_id, row.attempts) == ("skipped", {"erased": True}, None, 0)


def _reminder(n: int, *, status: str, planned_days_ago: float, about_days_ago: int, now: datetime) -> Reminder:
    about = (now - timedelta(days=about_days_ago)).date()
    planned = now - timedelta(days=planned_days_ago)
    return Reminder(idempotency_key=f"L-{n}:{about.isoformat()}:missed_1", borrower_id=f"b-{n}", loan_id=f"L-{n}",
                    kind="missed_1", due_on=about, data={"loan": "****0042", "amount_past_due": "965.00"},
                    status=status, planned_at=planned, not_before=planned, expires_at=planned + timedelta(days=6),
                    sent_at=planned if status == "sent" else None)


def _notification(n: int, *, status: str, days_ago: float, now: datetime) -> Notification:
    at = now - timedelta(days=days_ago)
    return Notification(event="reminder.missed_1", borrower_id=f"b-{n}", payload={"data": {"loan": "****0042"}},
                        status=status, created_at=at, next_attempt_at=at,
                        sent_at=at if status == "sent" else None, dead_at=at if status == "dead" else None)


@pytest.mark.parametrize("days", [30, 1])
def test_retention_deletes_finished_reminders_and_notifications_but_keeps_live_keys(engine: Engine, days: int) -> None:
    now = datetime.now(UTC)
    old = days + 20  # planned (and about a date) this many days ago: past the period and the key window

    def seed(session: Session) -> None:
        session.add_all([
            _reminder(1, status="sent", planned_days_ago=old, about_days_ago=old, now=now),
            _reminder(2, status="expired", planned_days_ago=old, about_days_ago=old, now=now),
            _reminder(3, status="planned", planned_days_ago=old, about_days_ago=old, now=now),  # not finished
            _reminder(4, status="sent", planned_days_ago=days / 2, about_days_ago=0, now=now),  # recent
            # past the period, but missed_7 of that date could still be planned: the key stays
            _reminder(5, status="sent", planned_days_ago=days + 0.5, about_days_ago=kinds.KEY_WINDOW_DAYS - 1,
                      now=now),
            _notification(1, status="sent", days_ago=old, now=now),
            _notification(2, status="dead", days_ago=old, now=now),
            _notification(3, status="skipped", days_ago=old, now=now),
            _notification(4, status="failed", days_ago=old, now=now),  # still being delivered
            _notification(5, status="sent", days_ago=days / 2, now=now),
        ])

    tx(engine, seed)
    assert not tx(engine, lambda s: retention.purge(s, clock=FakeClock(now), settings=make_settings())).changed
    report = tx(engine, lambda s: retention.purge(s, clock=FakeClock(now),
                                                  settings=make_settings(RETENTION_MESSAGES_DAYS=days)))
    assert tx(engine, lambda s: sorted(s.scalars(select(Reminder.borrower_id)))) == ["b-3", "b-4", "b-5"]
    assert tx(engine, lambda s: sorted(s.scalars(select(Notification.borrower_id)))) == ["b-4", "b-5"]
    assert (report.reminders_deleted, report.notifications_deleted) == (2, 3)


def test_no_reminder_is_due_once_its_key_date_is_a_key_window_old() -> None:
    about = date(2026, 11, 2)
    account = ReminderAccount(
        loan_id="L-1", borrower_id="b-1", masked_number="****0001", currency="USD", language="en", time_zone="UTC",
        next_due_date=about, next_due_amount=Decimal(10), autopay=True, past_due_since=about,
        amount_past_due=Decimal(10), autopay_failed_on=about, payoff_letter_ready_on=about)
    every_kind = frozenset(REMINDER_KINDS)

    def due(day: date) -> list[kinds.DueReminder]:
        return [d for d in kinds.due_reminders(account, today=day, due_soon_days=30, kinds=every_kind)
                if d.about == about]

    assert due(about + timedelta(days=kinds.KEY_WINDOW_DAYS - 1))  # the window is no wider than needed
    assert all(not due(about + timedelta(days=n)) for n in range(kinds.KEY_WINDOW_DAYS, 60))
    assert outbound.key_floor(datetime(2026, 12, 1, tzinfo=UTC)) < date(2026, 12, 1) - timedelta(
        days=kinds.KEY_WINDOW_DAYS)


def test_a_reminder_sent_while_its_conversation_is_erased_waits_and_then_finds_none(engine: Engine) -> None:
    """PostgreSQL (SQLite has one writer): the sender locks the borrower's open conversation before it claims
    the reminder, the erasure's order, so it waits for the erasure and then sends the reminder for the next
    sign-in instead of failing on the conversation that vanished under it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def seed(session: Session) -> tuple[str, int]:
        conversation, _token = create_conversation(session, secret_key="k" * 20)
        conversation.borrower_id = "b-9"
        row = Reminder(idempotency_key="L-9:2026-12-04:due_soon", borrower_id="b-9", loan_id="L-9", kind="due_soon",
                       due_on=date(2026, 12, 4), data={"loan": "****0042", "amount": "965.00", "currency": "USD",
                                                       "due_date": "2026-12-04"},
                       status="planned", planned_at=now, not_before=now, expires_at=now + timedelta(days=3))
        session.add(row)
        session.flush()
        return conversation.id, row.id

    cid, reminder_id = tx(engine, seed)
    outcome: list[str | BaseException] = []

    def send() -> None:
        try:
            outcome.append(tx(engine, lambda s: sender.send_one(
                s, reminder_id=reminder_id, now=now, settings=ReminderSettings(),
                gateway=notifier_settings(None), templates=templates.load(), clock=FakeClock(now))))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            outcome.append(exc)

    with session_scope(engine) as eraser:
        erase_conversation(eraser, conversation_id=cid)
        eraser.flush()
        thread = threading.Thread(target=send)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive() and not outcome  # waiting for the conversation's row lock
    thread.join(10)
    assert outcome == ["sent"]
    row = tx(engine, lambda s: s.get(Reminder, reminder_id))
    assert (row.status, row.conversation_id, row.message_seq) == ("sent", None, None)  # for the next sign-in
