"""Issue 16, delivery and replies through the service: a reminder lands in the signed-in borrower's chat (or,
without an open conversation, in the one they sign in to next), the borrower answers it there, the answer
goes to the bot with the reminder counted as replied, and a handoff carries the reminder in its packet;
consent per channel through the borrower API; the development trigger."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx
from borrower_helpers import ScriptedRasa, faq_reply, handoff_reply, start
from fastapi.testclient import TestClient
from gateway_support import Gateway, notifier_settings
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from handoff.app import create_app
from handoff.infra import notifier
from handoff.infra.clock import FakeClock
from handoff.loans.demo import seed_demo_loans
from handoff.loans.reference import ReferenceLoanSystem
from handoff.loans.tables import LoanPayment
from handoff.models import QueueEntry, Reminder
from handoff.reminder_settings import ReminderSettings
from handoff.reminders import scheduler

TODAY = date(2026, 12, 1)
NOON_IN_CALIFORNIA = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # 12:00 Los Angeles, 04:00 (Dec 2) Shanghai


@pytest.fixture
def rig(engine: Engine, scripted_rasa: ScriptedRasa) -> Iterator[tuple[TestClient, FakeClock, ScriptedRasa]]:
    seed_demo_loans(engine, today=TODAY)
    clock = FakeClock(NOON_IN_CALIFORNIA)
    app = create_app(make_settings(DATABASE_URL=str(engine.url), RASA_URL=scripted_rasa.url), engine, clock=clock,
                     loans=ReferenceLoanSystem(engine, today=lambda: clock.now().date()),
                     reminder_settings=ReminderSettings(REMINDER_ENABLED=False))
    with TestClient(app) as client:
        yield client, clock, scripted_rasa


def _pass(client: TestClient) -> dict[str, Any]:
    svc = client.app.state.services  # type: ignore[attr-defined]
    report = client.portal.call(functools.partial(scheduler.run_once, svc, templates=svc.reminder_templates))  # type: ignore[union-attr]
    return scheduler.describe(report)


def _sign_in(client: TestClient, borrower_id: str, lang: str = "en") -> tuple[str, dict[str, str]]:
    cid, auth = start(client, lang)
    token = client.post("/api/identity/demo/token", json={"borrower_id": borrower_id}).json()["token"]
    resp = client.post(f"/api/conversations/{cid}/identity", json={"token": token}, headers=auth)
    assert resp.status_code == 200, resp.text
    return cid, auth


def _messages(client: TestClient, cid: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    resp = client.get(f"/api/conversations/{cid}/messages", headers=auth)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["messages"])


def _reminders(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if ((m.get("payload") or {}).get("custom") or {}).get("type") == "reminder"]


def test_a_reminder_in_the_chat_is_answered_there_and_travels_with_the_handoff(
        rig: tuple[TestClient, FakeClock, ScriptedRasa], engine: Engine) -> None:
    client, _clock, rasa = rig
    cid, auth = _sign_in(client, "demo-jordan")  # due in 3 days, on autopay
    report = _pass(client)
    assert report["sent"] == 1 and report["planned"] == 2  # Jordan's due_soon; 王小明's missed_7 waits (quiet)
    (reminder,) = _reminders(_messages(client, cid, auth))
    assert reminder["sender"] == "bot" and "due on December 4, 2026" in reminder["text"]
    assert "$965.00" in reminder["text"] and "****0042" in reminder["text"] and "0100042" not in reminder["text"]
    assert [b["title"] for b in reminder["payload"]["buttons"]] == ["How do I pay?", "I can't pay this month"]
    assert _pass(client)["planned"] == 0  # the next pass finds the key: nothing twice

    rasa.script = lambda body: (200, faq_reply("Pay online, in the app or by phone.", "payment-methods",
                                               "How can I make a payment?"), 0.0)
    resp = client.post(f"/api/conversations/{cid}/messages", json={"text": "How do I pay?"}, headers=auth)
    assert resp.status_code == 200 and "Pay online" in resp.json()["messages"][-1]["text"]
    assert rasa.messages()[-1] == "How do I pay?"
    row = tx(engine, lambda s: s.scalars(select(Reminder).where(Reminder.borrower_id == "demo-jordan")).one())
    assert row.conversation_id == cid

    rasa.script = lambda body: (200, handoff_reply(reason="sensitive_topic", priority="high"), 0.0)
    resp = client.post(f"/api/conversations/{cid}/messages", json={"text": "I can't pay this month"}, headers=auth)
    assert resp.json()["state"] == "queued"
    packet = tx(engine, lambda s: s.scalars(select(QueueEntry.packet).where(QueueEntry.conversation_id == cid)).one())
    assert packet["reminder"] == {
        "id": row.id, "kind": "due_soon", "loan": "****0042", "due_on": "2026-12-04", "amount": "965.00",
        "currency": "USD", "sent_at": NOON_IN_CALIFORNIA.isoformat(), "message_seq": reminder["seq"],
        "replied": True,
    }
    assert any("due on December 4, 2026" in turn.get("text", "") for turn in packet["transcript"])


def test_a_borrower_without_an_open_chat_finds_the_reminder_where_they_sign_in_next(
        rig: tuple[TestClient, FakeClock, ScriptedRasa]) -> None:
    client, clock, _rasa = rig
    clock.set(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai: 王小明, 12 days past due
    report = _pass(client)
    assert report["sent"] == 2  # 王小明's missed_7 and Jordan's due_soon (18:00 in Los Angeles)
    cid, auth = _sign_in(client, "demo-wang", "zh")
    (reminder,) = _reminders(_messages(client, cid, auth))
    assert "逾期 7 天" in reminder["text"] and "2026年11月19日" in reminder["text"]
    assert [b["title"] for b in reminder["payload"]["buttons"]] == ["怎么还款？", "这个月还不上"]
    other, other_auth = _sign_in(client, "demo-wang", "zh")
    assert _reminders(_messages(client, other, other_auth)) == []  # delivered once, in the first one


def test_consent_per_channel_through_the_borrower_api(
        rig: tuple[TestClient, FakeClock, ScriptedRasa], engine: Engine) -> None:
    client, _clock, _rasa = rig
    anonymous, anon_auth = start(client)
    assert client.get(f"/api/conversations/{anonymous}/reminders/consent", headers=anon_auth).status_code == 403
    cid, auth = _sign_in(client, "demo-jordan")
    view = client.get(f"/api/conversations/{cid}/reminders/consent", headers=auth).json()
    assert {c["channel"]: (c["granted"], c["source"]) for c in view["channels"]} == {
        "chat": (True, "default"), "push": (True, "default"), "sms": (False, "default"),
        "wechat": (False, "default")}
    resp = client.put(f"/api/conversations/{cid}/reminders/consent/chat", json={"granted": False}, headers=auth)
    chat = next(c for c in resp.json()["channels"] if c["channel"] == "chat")
    assert (chat["granted"], chat["source"], chat["changed_at"]) == (False, "borrower_api",
                                                                      NOON_IN_CALIFORNIA.isoformat())
    assert client.put(f"/api/conversations/{cid}/reminders/consent/fax", json={"granted": True},
                      headers=auth).status_code == 422
    _pass(client)
    row = tx(engine, lambda s: s.scalars(select(Reminder).where(Reminder.borrower_id == "demo-jordan")).one())
    assert (row.status, row.reason) == ("suppressed", "no_channel")  # push allowed, but no gateway here
    assert _reminders(_messages(client, cid, auth)) == []


def test_the_development_trigger_sends_any_kind_at_once(rig: tuple[TestClient, FakeClock, ScriptedRasa]) -> None:
    client, clock, _rasa = rig
    clock.set(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))  # 23:00 in Los Angeles: quiet hours do not apply here
    cid, auth = _sign_in(client, "demo-alex")
    resp = client.post("/api/dev/reminders", json={"borrower_id": "demo-alex", "kind": "missed_1"})
    assert resp.status_code == 201, resp.text
    (reminder,) = _reminders(_messages(client, cid, auth))
    assert "We have not received" in reminder["text"]
    assert client.post("/api/dev/reminders", json={"borrower_id": "demo-alex", "kind": "due_soon"}).status_code == 201
    assert len(_reminders(_messages(client, cid, auth))) == 2
    assert client.post("/api/dev/reminders", json={"borrower_id": "nobody"}).status_code == 404


def test_the_dashboard_counts_sent_delivered_failed_replies_and_payments_after_a_reminder(
        engine: Engine, scripted_rasa: ScriptedRasa) -> None:
    seed_demo_loans(engine, today=TODAY)
    clock = FakeClock(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # 18:00 Los Angeles, 10:00 Shanghai
    gateway = Gateway(lambda _n: 503)  # the gateway is down: what found no chat fails
    app = create_app(make_settings(DATABASE_URL=str(engine.url), RASA_URL=scripted_rasa.url), engine, clock=clock,
                     loans=ReferenceLoanSystem(engine, today=lambda: clock.now().date()),
                     reminder_settings=ReminderSettings(REMINDER_ENABLED=False),
                     notifier_settings=notifier_settings(gateway.url, NOTIFY_MAX_ATTEMPTS=1))
    make_agent(engine, clock, "sam", role="supervisor")
    try:
        with TestClient(app) as client:
            cid, auth = _sign_in(client, "demo-jordan")
            assert _pass(client)["sent"] == 2  # Jordan (in the chat) and 王小明 (no conversation yet)
            svc = client.app.state.services  # type: ignore[attr-defined]
            client.portal.call(notifier.deliver_due, svc)  # type: ignore[union-attr]
            scripted_rasa.script = lambda body: (200, [{"text": "You can pay online."}], 0.0)
            client.post(f"/api/conversations/{cid}/messages", json={"text": "How do I pay?"}, headers=auth)

            def paid(session: Session) -> None:  # Jordan pays two days after the reminder
                session.add(LoanPayment(loan_id="L-JORDAN-1", posted_on=date(2026, 12, 3), amount=Decimal("965.00")))
            tx(engine, paid)
            token = client.post("/api/agent/login", json={"username": "sam", "password": PASSWORD}).json()["token"]
            client.cookies.clear()
            resp = client.get("/api/agent/dashboard/reminders", params={"from": "2026-12-01", "to": "2026-12-02"},
                              headers={"Authorization": f"Bearer {token}"})
            assert client.get("/api/agent/dashboard/reminders").status_code == 401
    finally:
        gateway.close()
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["window_days"] == 7 and body["payments_known"] is True
    assert {k: body["total"][k] for k in ("sent", "delivered", "in_chat", "failed", "replied", "paid_within")} == {
        "sent": 2, "delivered": 1, "in_chat": 1, "failed": 1, "replied": 1, "paid_within": 1}
    by_kind = {row["kind"]: row for row in body["kinds"]}
    assert (by_kind["due_soon"]["sent"], by_kind["due_soon"]["paid_within"]) == (1, 1)
    assert (by_kind["missed_7"]["sent"], by_kind["missed_7"]["failed"]) == (1, 1)
