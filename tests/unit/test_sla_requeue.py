"""Issue 11.4: a chat that goes back to the queue (released by its agent, or requeued because the agent
went idle) is clocked again: it gets its first-reply warning and breach like a fresh one."""

from __future__ import annotations

from agent_support import make_agent, tx, waiting_chat
from sqlalchemy import Engine
from test_sla import SETTINGS, keep_seen, run_check

from handoff.agents import chat, operations
from handoff.infra.clock import FakeClock
from handoff.models import QueueEntry


def test_released_chat_after_one_reply_gets_warning_and_breach(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    clock.advance(20)
    tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="One moment", clock=clock))
    clock.advance(10)
    tx(engine, lambda s: operations.release_chat(s, conversation_id=conv_id, agent=ann, clock=clock))
    keep_seen(engine, clock, ann)
    assert run_check(engine, clock)[0].warned == []  # the clock restarted at the release
    clock.advance(SETTINGS.SLA_FIRST_REPLY_S * SETTINGS.SLA_WARNING_FRACTION + 1)
    keep_seen(engine, clock, ann)
    assert run_check(engine, clock)[0].warned == [conv_id]
    clock.advance(SETTINGS.SLA_FIRST_REPLY_S)  # 6 minutes in all against a 120 s SLA
    keep_seen(engine, clock, ann)
    assert run_check(engine, clock)[0].breached == [conv_id]
    entry = tx(engine, lambda s: s.get(QueueEntry, entry_id))
    assert entry.status == "waiting" and entry.sla_breached_at is not None and entry.requeue_count == 1


def test_idle_requeue_after_a_reply_restarts_the_clock(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock, lang="zh")
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    clock.advance(10)
    tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="您好", clock=clock))

    def borrower_writes(session: object) -> None:
        session.get(QueueEntry, entry_id).last_borrower_msg_at = clock.now()  # type: ignore[attr-defined]

    clock.advance(5)
    tx(engine, borrower_writes)
    clock.advance(SETTINGS.AGENT_RESPONSE_TARGET_S + 1)
    keep_seen(engine, clock, ann)
    report, _ = run_check(engine, clock)
    assert report.requeued == [conv_id] and report.warned == []
    clock.advance(SETTINGS.SLA_FIRST_REPLY_S + 1)
    keep_seen(engine, clock, ann)
    report, _ = run_check(engine, clock)
    assert report.breached == [conv_id]
