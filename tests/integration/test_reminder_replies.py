"""Issue 16, replies to a repayment reminder end to end: the real service process, the real Rasa server and
action server. A signed-in demo borrower gets a reminder in the chat (the development trigger), answers it
there; "How do I pay?" gets a payment FAQ, "I can't pay this month" goes to a person as hardship with the
reminder in the handoff packet - in English and in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rasa_stack import RasaStack
from service_process import ServiceProcess, run_service
from sqlalchemy import select

from handoff.infra.db import make_engine, session_scope, upgrade
from handoff.loans.demo import seed_demo_loans
from handoff.models import QueueEntry

pytestmark = pytest.mark.integration
PAYMENT_FAQS = {"payment-methods", "pay-online", "pay-by-phone", "pay-by-mail", "payment-methods-zh"}


@pytest.fixture(scope="module")
def service(stack: RasaStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The session's Rasa stack (each test's conversation is a new one) behind a service of this module."""
    work = tmp_path_factory.mktemp("service")
    engine = make_engine(f"sqlite:///{work / 'handoff.db'}")
    upgrade(engine)
    seed_demo_loans(engine)
    engine.dispose()
    with run_service(work, RASA_URL=stack.rasa_url, RASA_TOKEN=stack.rasa_token, REMINDER_ENABLED="false") as running:
        yield running


def _start(service: ServiceProcess, lang: str, borrower_id: str) -> tuple[str, dict[str, str]]:
    token = httpx.post(f"{service.url}/api/identity/demo/token", json={"borrower_id": borrower_id},
                       trust_env=False).json()["token"]
    created = httpx.post(f"{service.url}/api/conversations", json={"lang": lang, "identity_token": token},
                         trust_env=False)
    assert created.status_code == 201, created.text
    return created.json()["id"], {"Authorization": f"Bearer {created.json()['token']}"}


def _remind(service: ServiceProcess, borrower_id: str, kind: str) -> None:
    resp = httpx.post(f"{service.url}/api/dev/reminders", json={"borrower_id": borrower_id, "kind": kind},
                      trust_env=False)
    assert resp.status_code == 201, resp.text


def _say(service: ServiceProcess, cid: str, auth: dict[str, str], text: str) -> dict[str, Any]:
    resp = httpx.post(f"{service.url}/api/conversations/{cid}/messages", json={"text": text}, headers=auth,
                      timeout=60, trust_env=False)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _faq_ids(turn: dict[str, Any]) -> set[str]:
    return {((m.get("payload") or {}).get("custom") or {}).get("faq_id") for m in turn["messages"]} - {None}


def _packet(service: ServiceProcess, cid: str) -> dict[str, Any]:
    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            return dict(session.scalars(select(QueueEntry.packet).where(QueueEntry.conversation_id == cid)).one())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("lang", "borrower", "kind", "how", "cannot"), [
    ("en", "demo-alex", "due_soon", "How do I pay?", "I can't pay this month"),
    ("zh", "demo-wang", "missed_1", "怎么还款？", "这个月还不上"),
])
def test_a_reminder_is_answered_in_the_chat_by_the_bot_and_hardship_goes_to_a_person_with_it(
        service: ServiceProcess, lang: str, borrower: str, kind: str, how: str, cannot: str) -> None:
    cid, auth = _start(service, lang, borrower)
    _remind(service, borrower, kind)
    messages = httpx.get(f"{service.url}/api/conversations/{cid}/messages", headers=auth, trust_env=False).json()
    reminders = [m for m in messages["messages"] if ((m.get("payload") or {}).get("custom") or {}).get("type")
                 == "reminder"]
    assert len(reminders) == 1 and reminders[0]["sender"] == "bot"

    answered = _say(service, cid, auth, how)
    assert answered["state"] == "bot" and _faq_ids(answered) & PAYMENT_FAQS, answered["messages"]

    handed = _say(service, cid, auth, cannot)
    assert handed["state"] == "queued", handed["messages"]
    packet = _packet(service, cid)
    assert packet["reason"] == "sensitive_topic" and "hardship" in packet["topics"]
    assert packet["reminder"]["kind"] == kind and packet["reminder"]["replied"] is True
    assert packet["reminder"]["message_seq"] == reminders[0]["seq"]
