"""The SLA clock with an injected clock: warning, breach escalation, idle/offline agent requeue,
the no-agent callback offer; and business-hours parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from agent_support import make_agent, make_settings, tx, waiting_chat
from sqlalchemy import Engine, select

from handoff.agents import chat, operations
from handoff.infra.clock import FakeClock
from handoff.models import Agent, Conversation, Message, QueueEntry
from handoff.queue import sla
from handoff.queue.hours import BusinessHoursError, parse_business_hours

SETTINGS = make_settings(SLA_FIRST_REPLY_S=120, SLA_WARNING_FRACTION=0.75, AGENT_RESPONSE_TARGET_S=180,
                         AGENT_PRESENCE_TIMEOUT_S=90, CALLBACK_OFFER_AFTER_S=60)


class RecordingBus:
    """Collects what the transaction publishes after commit."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish_threadsafe(self, topic: str, event: dict[str, Any]) -> None:
        self.events.append((topic, event))


def run_check(engine: Engine, clock: FakeClock, settings: Any = SETTINGS) -> tuple[sla.SlaReport, RecordingBus]:
    bus = RecordingBus()
    report = tx(engine, lambda s: sla.check(s, clock=clock, settings=settings), bus=bus)
    return report, bus


def system_texts(engine: Engine, conv_id: str) -> list[str]:
    return tx(engine, lambda s: s.scalars(
        select(Message.text).where(Message.conversation_id == conv_id, Message.sender == "system")).all())


def keep_seen(engine: Engine, clock: FakeClock, *agents: Agent) -> None:
    def work(session: Any) -> None:
        for agent in agents:
            session.get(Agent, agent.id).last_seen_at = clock.now()

    tx(engine, work)


def test_warning_then_breach_escalates_priority_and_tells_borrower(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock, lang="zh")
    make_agent(engine, clock, "ann")
    clock.advance(60)
    report, _ = run_check(engine, clock)
    assert not report.warned and not report.breached
    clock.advance(31)  # 91 s > 0.75 * 120
    report, bus = run_check(engine, clock)
    assert report.warned == [conv_id]
    sent = [e for topic, e in bus.events if topic == "agents" and e["type"] == "sla"]
    assert [(e["level"], e["conversation_id"], e["entry_id"], e["lang"]) for e in sent] == [
        ("warning", conv_id, entry_id, "zh")]
    assert run_check(engine, clock)[0].warned == []  # warned once
    clock.advance(30)  # 121 s
    report, bus = run_check(engine, clock)
    assert report.breached == [conv_id]
    entry = tx(engine, lambda s: s.get(QueueEntry, entry_id))
    assert entry.priority == "high" and entry.priority_rank == 1 and entry.sla_breached_at is not None
    assert any(e[1].get("level") == "breach" for e in bus.events)
    assert any(e == ("agents", {"type": "queue_changed"}) for e in bus.events)
    assert any(e[0] == f"conversation:{conv_id}" and e[1]["type"] == "state" for e in bus.events)
    assert any("主管" in t for t in system_texts(engine, conv_id))  # told in their language
    assert run_check(engine, clock)[0].breached == []  # escalated once


def test_first_reply_stops_the_sla_clock(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    clock.advance(30)
    tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="Hello", clock=clock))
    clock.advance(200)
    keep_seen(engine, clock, ann)
    report, _ = run_check(engine, clock)
    assert not report.breached and not report.requeued


def test_idle_agent_loses_the_chat(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    clock.advance(170)
    keep_seen(engine, clock, ann)
    assert run_check(engine, clock)[0].requeued == []
    clock.advance(11)
    keep_seen(engine, clock, ann)
    report, _ = run_check(engine, clock)
    assert report.requeued == [conv_id]
    entry = tx(engine, lambda s: s.get(QueueEntry, entry_id))
    assert entry.status == "waiting" and entry.assigned_agent_id is None and entry.requeue_count == 1
    assert tx(engine, lambda s: s.get(Conversation, conv_id).state) == "queued"
    assert any("back in the queue" in t for t in system_texts(engine, conv_id))


def test_agent_who_stops_answering_the_borrower_loses_the_chat(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    clock.advance(10)
    tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="Hi", clock=clock))
    clock.advance(100)

    def borrower_writes(session: Any) -> None:
        session.get(QueueEntry, entry_id).last_borrower_msg_at = clock.now()

    tx(engine, borrower_writes)
    clock.advance(179)
    keep_seen(engine, clock, ann)
    assert run_check(engine, clock)[0].requeued == []
    clock.advance(2)
    keep_seen(engine, clock, ann)
    assert run_check(engine, clock)[0].requeued == [conv_id]


def test_offline_agent_loses_chats_at_once(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    clock.advance(91)  # not seen for longer than the presence timeout
    report, _ = run_check(engine, clock)
    assert report.agents_gone == [ann.id] and report.requeued == [conv_id]
    assert tx(engine, lambda s: s.get(Agent, ann.id).status) == "offline"


def test_no_agent_on_shift_offers_a_callback_once(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, _entry_id = waiting_chat(engine, clock)
    clock.advance(59)
    assert run_check(engine, clock)[0].callback_offered == []
    clock.advance(2)
    report, _ = run_check(engine, clock)
    assert report.callback_offered == [conv_id]
    offer = tx(engine, lambda s: s.scalars(select(Message).where(
        Message.conversation_id == conv_id, Message.sender == "system").order_by(Message.seq.desc())).first())
    assert offer.payload["buttons"][0]["action"] == "callback"
    assert run_check(engine, clock)[0].callback_offered == []


def test_outside_business_hours_offers_callback_even_with_agents_online(engine: Engine) -> None:
    clock = FakeClock(datetime(2026, 1, 4, 12, 0, tzinfo=UTC))  # a Sunday
    settings = make_settings(BUSINESS_HOURS="mon-fri 08:00-20:00, sat 09:00-13:00", BUSINESS_TZ="UTC",
                             CALLBACK_OFFER_AFTER_S=0)
    conv_id, _ = waiting_chat(engine, clock)
    make_agent(engine, clock, "ann")
    assert run_check(engine, clock, settings)[0].callback_offered == [conv_id]


def test_business_hours_parsing() -> None:
    hours = parse_business_hours("mon-fri 08:00-20:00, sat 09:00-13:00", "Asia/Shanghai")
    monday_9_shanghai = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert hours.is_open(monday_9_shanghai)
    assert not hours.is_open(datetime(2026, 1, 5, 12, 30, tzinfo=UTC))  # 20:30 in Shanghai
    assert hours.is_open(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))  # Saturday 10:00
    assert not hours.is_open(datetime(2026, 1, 11, 2, 0, tzinfo=UTC))  # Sunday
    assert parse_business_hours("always").is_open(datetime(2026, 1, 11, 2, 0, tzinfo=UTC))
    for bad in ("mon-fri", "mon-xyz 08:00-10:00", "fri-mon 08:00-10:00", "mon 10:00-08:00", "mon 8h-9h"):
        with pytest.raises(BusinessHoursError):
            parse_business_hours(bad)


def test_business_hours_are_described_in_the_borrowers_language() -> None:
    from handoff.queue.hours import describe_business_hours

    spec = "mon-fri 08:00-20:00, sat 09:00-13:00"
    # Issue 13: the time zone in words in both languages (was the IANA name).
    assert describe_business_hours(spec, "Asia/Shanghai", "zh") == "周一至周五 08:00-20:00，周六 09:00-13:00（北京时间）"
    assert describe_business_hours(spec, "America/New_York", "en") == (
        "Mon-Fri 08:00-20:00, Sat 09:00-13:00 (Eastern Time, US)"
    )
    assert describe_business_hours(spec, "America/New_York", "zh").endswith("（美国东部时间）")
    assert describe_business_hours(spec, "Europe/Paris", "en").endswith("(Europe/Paris)")
    assert describe_business_hours("always", "UTC", "en") == "24/7"
