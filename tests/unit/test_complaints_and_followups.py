"""Issue 13, items 5, 7 and 10: complaint records (reference, 15/30-day deadline, owner, status, outcome,
supervisors' open/overdue lists, webhook when overdue), chats of borrowers who left closed as abandoned,
and the sweeper that finishes a stored message whose bot turn died."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.borrower import presence, sweeper
from handoff.conversations.records import append_message, create_conversation
from handoff.infra.bus import InProcessBus
from handoff.infra.clock import FakeClock
from handoff.infra.locks import TurnLocks
from handoff.infra.ratelimit import RateLimiter
from handoff.models import Conversation, Message, QueueEntry, WebhookDelivery
from handoff.queue import followups
from handoff.rasa.client import RasaClient
from handoff.services import Services
from handoff.states import Sender


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = make_settings(DATABASE_URL=str(engine.url), SUPERVISOR_WEBHOOK_URL="http://127.0.0.1:9/hook")
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def _login(api: TestClient, username: str) -> dict[str, str]:
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    api.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _complain(api: TestClient, text: str, lang: str = "en") -> str:
    created = api.post("/api/conversations", json={"lang": lang}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    api.post(f"/api/conversations/{created['id']}/handoff", headers=auth)
    api.post(f"/api/conversations/{created['id']}/messages", headers=auth, json={"text": text})
    return str(created["id"])


def test_supervisors_list_assign_and_resolve_complaints(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    cid = _complain(api, "I dispute this late fee and want to file a complaint")
    make_agent(engine, clock, "sue", role="supervisor")
    ann = make_agent(engine, clock, "ann")
    sup, agent = _login(api, "sue"), _login(api, "ann")
    assert api.get("/api/agent/supervisor/complaints", headers=agent).status_code == 403
    open_ = api.get("/api/agent/supervisor/complaints", headers=sup).json()["complaints"]
    assert [c["conversation_id"] for c in open_] == [cid] and open_[0]["reference"].startswith("CP-")
    complaint_id = open_[0]["id"]
    assert api.get("/api/agent/supervisor/complaints?which=overdue", headers=sup).json()["complaints"] == []
    changed = api.patch(f"/api/agent/supervisor/complaints/{complaint_id}", headers=sup,
                        json={"owner_agent_id": ann.id, "complex": True, "status": "in_progress"}).json()
    assert changed["owner_agent_id"] == ann.id and changed["status"] == "in_progress"
    assert changed["due_at"] == clock.now().replace(microsecond=0).isoformat().replace(
        clock.now().strftime("%Y-%m-%d"), "2026-02-04")  # 30 days for a complex case
    refused = api.patch(f"/api/agent/supervisor/complaints/{complaint_id}", headers=sup, json={"status": "resolved"})
    assert refused.status_code == 422 and "outcome" in refused.json()["error"]["message"]
    clock.advance(31 * 86400)
    sup = _login(api, "sue")  # the session ran out meanwhile
    overdue = api.get("/api/agent/supervisor/complaints?which=overdue", headers=sup).json()["complaints"]
    assert [c["id"] for c in overdue] == [complaint_id] and overdue[0]["overdue"] is True
    settings = make_settings(SUPERVISOR_WEBHOOK_URL="http://127.0.0.1:9/hook")
    assert tx(engine, lambda s: followups.check(s, clock=clock, settings=settings)).complaints_overdue == [complaint_id]
    events = tx(engine, lambda s: s.scalars(select(WebhookDelivery.event)).all())
    # (the app's own SLA loop may also have reported the chat's breach meanwhile)
    assert [e for e in events if e.startswith("complaint")] == ["complaint_opened", "complaint_overdue"]
    resolved = api.patch(f"/api/agent/supervisor/complaints/{complaint_id}", headers=sup,
                         json={"outcome": "Late fee refunded; apology sent.", "status": "resolved"}).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert api.get("/api/agent/supervisor/complaints", headers=sup).json()["complaints"] == []


def test_a_waiting_chat_whose_borrower_left_is_closed_as_abandoned(engine: Engine, clock: FakeClock) -> None:
    settings = make_settings(BORROWER_ABANDON_AFTER_S=1800)
    gone, _ = waiting_chat(engine, clock)
    present, _ = waiting_chat(engine, clock)
    clock.advance(1700)
    svc = _services(engine, clock, settings)
    asyncio.run(presence.seen(svc, conversation_id=present))  # its page still polls
    clock.advance(200)
    report = tx(engine, lambda s: followups.check(s, clock=clock, settings=settings))
    assert report.abandoned == [gone]
    states = tx(engine, lambda s: {c.id: c.state for c in s.scalars(select(Conversation))})
    assert states == {gone: "closed", present: "queued"}
    entry = tx(engine, lambda s: s.scalars(select(QueueEntry).where(QueueEntry.conversation_id == gone)).one())
    assert entry.status == "done" and entry.resolution_code == "abandoned"


def _services(engine: Engine, clock: FakeClock, settings: Any) -> Services:
    return Services(settings=settings, engine=engine, bus=InProcessBus(), clock=clock,
                    http=httpx.AsyncClient(trust_env=False),
                    rasa=RasaClient(base_urls=["http://127.0.0.1:9"], token="t", timeout_s=1.0),
                    locks=TurnLocks(redis=None, hold_s=5, wait_s=5), limiter=RateLimiter(None))


@pytest.mark.parametrize(("lang", "text", "state"), [("en", "What is the late fee?", "bot"), ("zh", "转人工", "queued")])
async def test_the_sweeper_finishes_a_message_whose_bot_turn_died(
    engine: Engine, clock: FakeClock, lang: str, text: str, state: str
) -> None:
    clock.set(datetime.now(UTC))  # messages are stamped by the database layer's own clock
    svc = _services(engine, clock, make_settings(STUCK_TURN_AFTER_S=30))

    def crash_after_storing(session: Any) -> str:
        conversation, _token = create_conversation(session, secret_key="k" * 20, lang=lang)
        append_message(session, conversation_id=conversation.id, sender=Sender.BORROWER, text=text)
        return conversation.id

    cid = tx(engine, crash_after_storing)
    assert await sweeper.sweep_once(svc) == 0  # young: its turn may still be running
    clock.advance(31)
    assert await sweeper.sweep_once(svc) == 1
    assert await sweeper.sweep_once(svc) == 0  # finished once
    await svc.http.aclose()
    rows = tx(engine, lambda s: s.scalars(select(Message).where(Message.conversation_id == cid)
                                          .order_by(Message.seq)).all())
    assert rows[0].reply_to_seq == rows[-1].seq and rows[-1].sender == "system"
    assert tx(engine, lambda s: s.get(Conversation, cid).state) == state
