"""Replies by SMS reach the chat: the real service process, the real Rasa server and action server, and a real
HTTP gateway (tests/gateway_support.py) that checks the notifications' signatures. A demo borrower with no
conversation open gets a repayment reminder by SMS and answers it by SMS: the answer lands in a new
conversation of that borrower with the reminder in it, the bot answers "How do I pay?" with a payment FAQ
(the gateway gets the text to send back), a redelivered SMS is answered again without being stored twice,
"I can't pay this month" goes to a person with the reminder in the packet, the agent's join and reply go back
out by SMS in full, and the borrower finds the conversation on signing in on the web - in English and in
Chinese. Forged, stale and unknown replies are
refused."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gateway_support import GATEWAY_SECRET, Gateway
from rasa_stack import RasaStack
from service_process import ServiceProcess, create_agent, run_service
from sqlalchemy import select

from handoff.infra.db import make_engine, session_scope, upgrade
from handoff.infra.notifier import sign
from handoff.loans.demo import seed_demo_loans
from handoff.models import Conversation, Message, QueueEntry

pytestmark = pytest.mark.integration
PASSWORD = "gateway-agent-password"
PAYMENT_FAQS = {"payment-methods", "pay-online", "pay-by-phone", "pay-by-mail", "payment-methods-zh"}


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    yield running
    running.close()


@pytest.fixture(scope="module")
def service(stack: RasaStack, gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("service")
    engine = make_engine(f"sqlite:///{work / 'handoff.db'}")
    upgrade(engine)
    seed_demo_loans(engine)
    engine.dispose()
    with run_service(work, RASA_URL=stack.rasa_url, RASA_TOKEN=stack.rasa_token, REMINDER_ENABLED="false",
                     NOTIFY_GATEWAY_URL=gateway.url, NOTIFY_GATEWAY_SECRET=GATEWAY_SECRET, NOTIFY_INTERVAL_S="0.2",
                     REMINDER_DEFAULT_CHANNELS="chat,sms") as running:
        create_agent(running, username="mei", password=PASSWORD, display_name="Mei")
        yield running


def _sms_notification(service: ServiceProcess, gateway: Gateway, borrower_id: str, kind: str) -> int:
    """Send the borrower a demo reminder; the gateway's copy of it (the SMS) by its delivery id."""
    resp = httpx.post(f"{service.url}/api/dev/reminders", json={"borrower_id": borrower_id, "kind": kind},
                      trust_env=False)
    assert resp.status_code == 201, resp.text
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for got in list(gateway.accepted):
            body = got["body"]
            if body["borrower_id"] == borrower_id and body["event"] == f"reminder.{kind}":
                assert "sms" in body["channels"] and body["conversation_id"] is None
                return int(got["headers"]["x-handoff-delivery"])
        time.sleep(0.1)
    raise AssertionError(f"the gateway never got the {kind} reminder of {borrower_id}")


def _gateway_notices(gateway: Gateway, cid: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [got["body"] for got in list(gateway.accepted) if got["body"]["conversation_id"] == cid]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the gateway got {len(found)} notices of {cid}, not {count}")


def _post_reply(service: ServiceProcess, payload: dict[str, Any], *, secret: str = GATEWAY_SECRET,
                at: int | None = None) -> httpx.Response:
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if at is None else at
    return httpx.post(f"{service.url}/api/gateway/replies", content=body, timeout=60, trust_env=False, headers={
        "content-type": "application/json", "x-handoff-timestamp": str(timestamp),
        "x-handoff-signature": sign(secret, timestamp, body)})


def _reply(service: ServiceProcess, notification: int, message_id: str, text: str) -> dict[str, Any]:
    resp = _post_reply(service, {"in_reply_to": notification, "message_id": message_id, "channel": "sms",
                                 "text": text})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _stored(service: ServiceProcess, cid: str) -> tuple[Conversation, list[Message], Any]:
    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            conversation = session.get(Conversation, cid)
            messages = list(session.scalars(select(Message).where(Message.conversation_id == cid)
                                            .order_by(Message.seq)))
            packet = session.scalars(select(QueueEntry.packet).where(QueueEntry.conversation_id == cid)).first()
            session.expunge_all()
            return conversation, messages, packet
    finally:
        engine.dispose()


def _faq_ids(messages: list[Message]) -> set[str]:
    return {((m.payload or {}).get("custom") or {}).get("faq_id") for m in messages} - {None}


@pytest.mark.parametrize(("lang", "borrower", "kind", "how", "cannot"), [
    ("en", "demo-alex", "due_soon", "How do I pay?", "I can't pay this month"),
    ("zh", "demo-wang", "missed_1", "怎么还款？", "这个月还不上"),
])
def test_an_sms_reply_to_a_reminder_is_answered_in_a_chat_of_that_borrower(
        service: ServiceProcess, gateway: Gateway, lang: str, borrower: str, kind: str, how: str,
        cannot: str) -> None:
    notification = _sms_notification(service, gateway, borrower, kind)

    answered = _reply(service, notification, f"{borrower}-sms-1", how)
    cid = answered["conversation_id"]
    assert answered["state"] == "bot" and answered["lang"] == lang
    assert answered["replies"] and all(r["sender"] != "borrower" and r["text"] for r in answered["replies"])
    conversation, messages, _ = _stored(service, cid)
    assert conversation.borrower_id == borrower and conversation.channel == "sms"
    reminder, question, *bot = messages
    assert ((reminder.payload or {}).get("custom") or {}).get("type") == "reminder"
    assert question.sender == "borrower" and question.text == how
    assert _faq_ids(bot) & PAYMENT_FAQS, [m.text for m in bot]
    assert [r["text"] for r in answered["replies"]] == [m.text for m in bot]

    again = _reply(service, notification, f"{borrower}-sms-1", how)  # the gateway redelivers the same SMS
    assert again == answered
    assert len(_stored(service, cid)[1]) == len(messages)

    handed = _reply(service, notification, f"{borrower}-sms-2", cannot)
    assert handed["conversation_id"] == cid and handed["state"] == "queued", handed
    assert handed["replies"], "the borrower is told on SMS that a person will answer"
    packet = _stored(service, cid)[2]
    assert packet["reason"] == "sensitive_topic" and packet["reminder"]["kind"] == kind
    assert packet["reminder"]["replied"] is True and packet["reminder"]["message_seq"] == reminder.seq

    agent_reply = {"en": "I can set up a payment plan with you, starting on the 15th.",
                   "zh": "我可以帮您申请分期还款，从15号开始。"}[lang]
    with httpx.Client(base_url=service.url, timeout=30, trust_env=False) as agent:
        assert agent.post("/api/agent/login", json={"username": "mei", "password": PASSWORD}).status_code == 200
        entry = next(e for e in agent.get("/api/agent/queue").json()["entries"] if e["conversation_id"] == cid)
        assert agent.post(f"/api/agent/queue/{entry['id']}/claim").status_code == 200
        sent = agent.post(f"/api/agent/conversations/{cid}/messages",
                          json={"text": agent_reply, "client_message_id": uuid.uuid4().hex})
        assert sent.status_code == 200, sent.text
    notices = _gateway_notices(gateway, cid, 2)
    assert [n["event"] for n in notices] == ["chat.agent_joined", "chat.agent_reply"]
    assert all(n["channels"] == ["sms"] and n["borrower_id"] == borrower for n in notices)
    assert notices[1]["message"]["body"] == agent_reply and notices[1]["message"]["lang"] == lang

    token = httpx.post(f"{service.url}/api/identity/demo/token", json={"borrower_id": borrower},
                       trust_env=False).json()["token"]
    resumed = httpx.post(f"{service.url}/api/identity/resume", json={"token": token}, trust_env=False)
    assert resumed.status_code == 200 and resumed.json()["id"] == cid, resumed.text


def test_forged_stale_unknown_and_malformed_replies_are_refused(service: ServiceProcess, gateway: Gateway) -> None:
    notification = _sms_notification(service, gateway, "demo-jordan", "due_soon")
    good = {"in_reply_to": notification, "message_id": "refused-1", "channel": "sms", "text": "How do I pay?"}

    assert _post_reply(service, good, secret="not-the-gateway-secret-0123456789").status_code == 401
    assert _post_reply(service, good, at=int(time.time()) - 3600).status_code == 401
    unsigned = httpx.post(f"{service.url}/api/gateway/replies", json=good, trust_env=False)
    assert unsigned.status_code == 401
    unknown = _post_reply(service, {**good, "in_reply_to": 10**9})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert _post_reply(service, {**good, "channel": "email"}).status_code == 422
    assert _post_reply(service, {**good, "text": "   "}).status_code == 422
    assert _post_reply(service, {**good, "extra": 1}).status_code == 422
