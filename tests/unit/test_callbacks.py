"""Issue 13, item 4: callbacks can be called back. The contact is stored encrypted (Fernet), shown in full
only to the agent working the callback (audited), masked elsewhere and purged after completion plus the
retention period; due times in business hours, escalation when overdue, outcomes, a reference and a
confirmation in the borrower's language, and no second offer once asked; key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.infra.secretbox import SecretBox, SecretBoxError
from handoff.models import AuditEvent, CallbackTicket, Message
from handoff.queue import callbacks, followups, sla

PHONE = "+1 (212) 555-0188"
HOURS = "mon-fri 08:00-20:00, sat 09:00-13:00"
MONDAY_10_NY = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10_NY)


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = make_settings(DATABASE_URL=str(engine.url), BUSINESS_HOURS=HOURS, BUSINESS_TZ="America/New_York",
                             CALLBACK_DUE_BUSINESS_HOURS=4, CALLBACK_RETENTION_DAYS=30)
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def _login(api: TestClient, username: str) -> dict[str, str]:
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    api.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _request_callback(api: TestClient, lang: str = "en") -> tuple[str, dict[str, str], dict[str, Any]]:
    created = api.post("/api/conversations", json={"lang": lang}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    api.post(f"/api/conversations/{created['id']}/handoff", headers=auth)
    ticket = api.post(f"/api/conversations/{created['id']}/callback", headers=auth,
                      json={"contact_method": "phone", "contact": PHONE, "preferred_time": "after 5pm"})
    assert ticket.status_code == 201, ticket.text
    return created["id"], auth, ticket.json()


def test_contact_is_encrypted_at_rest_and_the_borrower_gets_a_reference(api: TestClient, engine: Engine) -> None:
    cid, auth, ticket = _request_callback(api)
    assert ticket["reference"].startswith("CB-") and ticket["contact"] == "121****0188"
    assert ticket["due_at"] == "2026-01-05T19:00:00+00:00"  # 4 business hours after Monday 10:00 New York
    stored = tx(engine, lambda s: s.execute(text(
        "SELECT contact, contact_encrypted FROM callback_tickets")).one())
    assert stored.contact == "121****0188" and "555" not in stored.contact_encrypted
    confirmation = api.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"][-1]["text"]
    assert ticket["reference"] in confirmation and "Monday 5 Jan 14:00 (Eastern Time, US)" in confirmation
    view = api.get(f"/api/conversations/{cid}", headers=auth).json()
    assert view["callback_requested"] is True and view["callback_reference"] == ticket["reference"]
    again = api.post(f"/api/conversations/{cid}/callback", headers=auth,
                     json={"contact_method": "email", "contact": "x@example.com"}).json()
    assert again["ticket_id"] == ticket["ticket_id"]  # the same request, not a second one
    assert tx(engine, lambda s: len(s.scalars(select(CallbackTicket)).all())) == 1


def test_chinese_confirmation(api: TestClient) -> None:
    cid, auth, ticket = _request_callback(api, "zh")
    text_zh = api.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"][-1]["text"]
    assert f"您的回电编号是 {ticket['reference']}" in text_zh and "（美国东部时间）" in text_zh


def test_full_contact_only_for_the_agent_working_it_and_audited(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    cid, _auth, ticket = _request_callback(api)
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob")
    ann, bob = _login(api, "ann"), _login(api, "bob")
    listed = api.get("/api/agent/callbacks", headers=ann).json()["callbacks"]
    assert [c["contact"] for c in listed] == ["121****0188"]
    queue = api.get("/api/agent/queue", headers=ann).json()["entries"]
    assert queue[0]["callback"]["contact"] == "121****0188" and queue[0]["callback"]["reference"]
    tid = ticket["ticket_id"]
    started = api.post(f"/api/agent/callbacks/{tid}/start", headers=ann).json()
    assert started["contact"] == PHONE and started["contact_full"] is True
    assert api.get(f"/api/agent/callbacks/{tid}", headers=ann).json()["contact"] == PHONE
    assert api.get(f"/api/agent/callbacks/{tid}", headers=bob).json()["contact"] == "121****0188"
    assert api.post(f"/api/agent/callbacks/{tid}/start", headers=bob).status_code == 409
    assert api.get(f"/api/agent/conversations/{cid}", headers=ann).json()["messages"]  # the transcript
    reveals = tx(engine, lambda s: s.scalars(select(AuditEvent.actor_id).where(
        AuditEvent.action == "callback_contact_revealed")).all())
    assert len(reveals) == 2 and set(reveals) == {str(started["worked_by_agent_id"])}


def test_outcomes_retry_escalation_and_purge(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    _cid, _auth, ticket = _request_callback(api)
    make_agent(engine, clock, "ann")
    ann = _login(api, "ann")
    tid = ticket["ticket_id"]
    api.post(f"/api/agent/callbacks/{tid}/start", headers=ann)
    retry = api.post(f"/api/agent/callbacks/{tid}/outcome", headers=ann, json={"outcome": "no_answer"}).json()
    assert retry["status"] == "open" and retry["attempts"] == 1 and retry["due_at"] == "2026-01-05T17:00:00+00:00"
    assert api.post(f"/api/agent/callbacks/{tid}/outcome", headers=ann,
                    json={"outcome": "reached"}).status_code == 403  # not being worked now
    settings = make_settings(CALLBACK_RETENTION_DAYS=30)
    clock.set(datetime(2026, 1, 5, 17, 0, 1, tzinfo=UTC))
    report = tx(engine, lambda s: followups.check(s, clock=clock, settings=settings))
    assert report.callbacks_overdue == [tid]
    assert tx(engine, lambda s: followups.check(s, clock=clock, settings=settings)).callbacks_overdue == []
    api.post(f"/api/agent/callbacks/{tid}/start", headers=ann)
    done = api.post(f"/api/agent/callbacks/{tid}/outcome", headers=ann, json={"outcome": "reached"}).json()
    assert done["status"] == "done" and done["outcome"] == "reached"
    assert api.get("/api/agent/callbacks", headers=ann).json()["callbacks"] == []
    clock.advance(29 * 86400)
    assert tx(engine, lambda s: followups.check(s, clock=clock, settings=settings)).contacts_purged == 0
    clock.advance(2 * 86400)
    assert tx(engine, lambda s: followups.check(s, clock=clock, settings=settings)).contacts_purged == 1
    row = tx(engine, lambda s: s.get(CallbackTicket, tid))
    assert row.contact_encrypted is None and row.purged_at is not None and row.contact == "121****0188"


def test_key_rotation_re_encrypts_with_the_new_key(engine: Engine, api: TestClient) -> None:
    _request_callback(api)
    old_key = make_settings().contact_keys[0]
    new_key = Fernet.generate_key().decode()
    both = SecretBox([new_key, old_key])
    assert tx(engine, lambda s: callbacks.rotate_keys(s, box=both)) == 1
    token = tx(engine, lambda s: s.scalars(select(CallbackTicket.contact_encrypted)).one())
    assert SecretBox([new_key]).decrypt(token) == PHONE
    with pytest.raises(SecretBoxError):
        SecretBox([old_key]).decrypt(token)
    with pytest.raises(SecretBoxError, match="CONTACT_KEYS"):
        SecretBox(["not-a-key"])


def test_no_callback_offer_after_one_was_made(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    cid, auth, _ticket = _request_callback(api)
    api.post(f"/api/conversations/{cid}/handoff", headers=auth)  # waits again, the ticket stays open
    clock.advance(3600)
    tx(engine, lambda s: sla.check(s, clock=clock, settings=make_settings(CALLBACK_OFFER_AFTER_S=60)))
    offers = tx(engine, lambda s: s.scalars(select(Message.payload).where(Message.conversation_id == cid)).all())
    assert not any((p or {}).get("custom", {}).get("type") == "callback_offer" for p in offers)


def test_the_console_work_item_outcomes(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    """What the console's callback panel relies on: the queue card and the chat view stay masked even for the
    agent working it (only GET /callbacks/{id} is full), the attempts show on the card, a retry puts it back
    masked, and a wrong number finishes it and its queue entry, with the note in the audit trail."""
    cid, _auth, ticket = _request_callback(api)
    make_agent(engine, clock, "ann")
    ann = _login(api, "ann")
    tid = ticket["ticket_id"]
    assert api.post(f"/api/agent/callbacks/{tid}/start", headers=ann).json()["contact"] == PHONE
    detail = api.get(f"/api/agent/conversations/{cid}", headers=ann).json()
    assert detail["entry"]["callback"]["contact"] == "121****0188" and PHONE not in str(detail)
    retry = api.post(f"/api/agent/callbacks/{tid}/outcome", headers=ann, json={"outcome": "retry", "note": "busy"})
    assert retry.json()["contact"] == "121****0188" and retry.json()["contact_full"] is False
    card = api.get("/api/agent/queue", headers=ann).json()["entries"][0]["callback"]
    assert (card["status"], card["attempts"], card["outcome"], card["worked_by_agent_id"]) == ("open", 1, "retry", None)
    assert api.post(f"/api/agent/callbacks/{tid}/outcome", headers=ann,
                    json={"outcome": "hung_up"}).status_code == 422  # only the four outcomes
    api.post(f"/api/agent/callbacks/{tid}/start", headers=ann)
    done = api.post(f"/api/agent/callbacks/{tid}/outcome", headers=ann,
                    json={"outcome": "wrong_number", "note": "a bakery answered"}).json()
    assert (done["status"], done["outcome"], done["attempts"]) == ("done", "wrong_number", 2)
    assert api.get("/api/agent/queue", headers=ann).json()["entries"] == []  # the work item left the queue
    notes = tx(engine, lambda s: [(e.detail or {}).get("note") for e in s.scalars(
        select(AuditEvent).where(AuditEvent.action == "callback_outcome").order_by(AuditEvent.id))])
    assert notes == ["busy", "a bakery answered"]
