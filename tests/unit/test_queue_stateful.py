"""Property test: random sequences of queue operations (hypothesis stateful) never leave the state
machine. After every step: conversation states and queue entries agree, at most one active entry per
conversation, no agent over capacity, audit rows only ever added; a refused operation changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agent_support import make_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.agents import chat, operations
from handoff.conversations.records import create_conversation
from handoff.errors import HandoffError
from handoff.infra import db
from handoff.infra.clock import FakeClock
from handoff.models import Agent, AuditEvent, Base, Conversation, QueueEntry
from handoff.queue import entries, sla
from handoff.states import ConversationState, IllegalTransition, QueueStatus

SETTINGS = make_settings(SLA_FIRST_REPLY_S=120, AGENT_RESPONSE_TARGET_S=180, AGENT_PRESENCE_TIMEOUT_S=600,
                         CALLBACK_OFFER_AFTER_S=60)
EXPECTED_ENTRY = {
    ConversationState.QUEUED: {QueueStatus.WAITING},
    ConversationState.ASSIGNED: {QueueStatus.ASSIGNED},
    ConversationState.BOT: {None, QueueStatus.CALLBACK},
    ConversationState.CLOSED: {None},
}


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.engine = db.make_engine(f"sqlite:///{Path(self.dir.name) / 'q.db'}")
        Base.metadata.create_all(self.engine)
        self.clock = FakeClock()
        self.conversations: list[str] = []
        self.audit_count = 0
        with db.session_scope(self.engine) as session:
            self.agents = []
            for i, (langs, cap, role) in enumerate([("en", 2, "agent"), ("en,zh", 1, "agent"), ("zh", 3, "supervisor")]):
                agent = Agent(username=f"a{i}", password_hash="-", display_name=f"A{i}", role=role, languages=langs,
                              max_concurrent=cap, status="online", last_seen_at=self.clock.now())
                session.add(agent)
                session.flush()
                self.agents.append(agent)

    def teardown(self) -> None:
        self.engine.dispose()
        self.dir.cleanup()

    def snapshot(self) -> Any:
        with db.session_scope(self.engine, write=False) as s:
            rows = sorted((e.id, e.status, e.assigned_agent_id, e.priority) for e in s.scalars(select(QueueEntry)))
            convs = sorted((c.id, c.state, c.assigned_agent_id, c.last_seq) for c in s.scalars(select(Conversation)))
            return rows, convs, s.scalar(select(func.count()).select_from(AuditEvent))

    def attempt(self, work: Any) -> None:
        """Run one operation; if it is refused, nothing at all may have changed."""
        before = self.snapshot()
        try:
            with db.session_scope(self.engine) as session:
                work(session)
        except (HandoffError, IllegalTransition):
            assert self.snapshot() == before

    def conv(self, data: st.DataObject) -> str | None:
        return data.draw(st.sampled_from(self.conversations)) if self.conversations else None

    def entry_id(self, session: Session, conversation_id: str) -> int:
        found = session.scalars(select(QueueEntry.id).where(QueueEntry.conversation_id == conversation_id)
                                .order_by(QueueEntry.id.desc())).first()
        return found or 10_000

    @rule(lang=st.sampled_from(["en", "zh"]), priority=st.sampled_from(["urgent", "high", "normal"]))
    def new_handoff(self, lang: str, priority: str) -> None:
        def work(session: Session) -> None:
            conversation, _ = create_conversation(session, secret_key="k" * 20, lang=lang)
            entries.enqueue(session, conversation=conversation, packet={}, reason="anger", priority=priority,
                          lang=lang, summary="", clock=self.clock)
            self.conversations.append(conversation.id)

        self.attempt(work)

    @rule(data=st.data())
    def enqueue_again(self, data: st.DataObject) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: entries.enqueue(s, conversation=s.get(Conversation, cid), packet={}, reason="anger",
                                                 priority="normal", lang="en", summary="", clock=self.clock))

    @rule(data=st.data(), agent=st.integers(0, 2))
    def claim(self, data: st.DataObject, agent: int) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: operations.claim_chat(s, entry_id=self.entry_id(s, cid), agent=self.agents[agent],
                                                            clock=self.clock))

    @rule(agent=st.integers(0, 2))
    def take_next(self, agent: int) -> None:
        self.attempt(lambda s: operations.take_next_chat(s, agent=self.agents[agent], clock=self.clock))

    @rule(data=st.data(), agent=st.integers(0, 2))
    def release(self, data: st.DataObject, agent: int) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: operations.release_chat(s, conversation_id=cid, agent=self.agents[agent],
                                                              clock=self.clock))

    @rule(data=st.data(), agent=st.integers(0, 2), to=st.integers(0, 2))
    def transfer(self, data: st.DataObject, agent: int, to: int) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: operations.assign_chat(s, entry_id=self.entry_id(s, cid),
                                                             to_agent_id=self.agents[to].id,
                                                             actor=self.agents[agent], clock=self.clock))

    @rule(data=st.data(), agent=st.integers(0, 2), code=st.sampled_from(["resolved", "other", "bogus"]))
    def close(self, data: st.DataObject, agent: int, code: str) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: operations.close_chat(s, conversation_id=cid, agent=self.agents[agent],
                                                            resolution_code=code, clock=self.clock))

    @rule(data=st.data(), agent=st.integers(0, 2))
    def hand_back(self, data: st.DataObject, agent: int) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: operations.hand_back_chat(s, conversation_id=cid, agent=self.agents[agent],
                                                                note="n", clock=self.clock))

    @rule(data=st.data(), agent=st.integers(0, 2))
    def reply(self, data: st.DataObject, agent: int) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: chat.reply(s, conversation_id=cid, agent=self.agents[agent], text="hi",
                                                    clock=self.clock))

    @rule(data=st.data())
    def borrower_leaves(self, data: st.DataObject) -> None:
        if (cid := self.conv(data)) is not None:
            def work(session: Session) -> None:
                conversation = session.get(Conversation, cid)
                if conversation.state in (ConversationState.QUEUED, ConversationState.ASSIGNED):
                    entries.leave_queue(session, conversation=conversation, actor_type="borrower", actor_id=None)

            self.attempt(work)

    @rule(data=st.data())
    def callback(self, data: st.DataObject) -> None:
        if (cid := self.conv(data)) is not None:
            def work(session: Session) -> None:
                conversation = session.get(Conversation, cid)
                if conversation.state == ConversationState.QUEUED:
                    entries.create_callback(session, conversation=conversation, contact_method="phone",
                                          contact="[PHONE]", preferred_time="", clock=self.clock)

            self.attempt(work)

    @rule(data=st.data(), agent=st.integers(0, 2))
    def callback_done(self, data: st.DataObject, agent: int) -> None:
        if (cid := self.conv(data)) is not None:
            self.attempt(lambda s: operations.complete_callback(s, entry_id=self.entry_id(s, cid),
                                                                   agent=self.agents[agent], clock=self.clock))

    @rule(seconds=st.integers(1, 400))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

        def work(session: Session) -> None:
            for agent in session.scalars(select(Agent)):
                agent.last_seen_at = self.clock.now()  # still online; idleness is about replies
            sla.check(session, clock=self.clock, settings=SETTINGS)

        self.attempt(work)

    @invariant()
    def states_agree(self) -> None:
        with db.session_scope(self.engine, write=False) as s:
            for conversation in s.scalars(select(Conversation)):
                assert conversation.state in set(ConversationState)
                active = s.scalars(select(QueueEntry).where(
                    QueueEntry.conversation_id == conversation.id,
                    QueueEntry.status.in_([str(x) for x in entries.ACTIVE_STATUSES]))).all()
                assert len(active) <= 1
                status = active[0].status if active else None
                assert status in EXPECTED_ENTRY[ConversationState(conversation.state)], (conversation.state, status)
                if conversation.state == ConversationState.ASSIGNED:
                    assert conversation.assigned_agent_id == active[0].assigned_agent_id is not None
                else:
                    assert conversation.assigned_agent_id is None
            for entry in s.scalars(select(QueueEntry)):
                assert entry.status in set(QueueStatus)
                assert (entry.assigned_agent_id is not None) == (entry.status == QueueStatus.ASSIGNED) or (
                    entry.status == QueueStatus.DONE)
            for agent in s.scalars(select(Agent)):
                load = s.scalar(select(func.count()).select_from(QueueEntry).where(
                    QueueEntry.assigned_agent_id == agent.id, QueueEntry.status == QueueStatus.ASSIGNED))
                assert load <= agent.max_concurrent
            count = s.scalar(select(func.count()).select_from(AuditEvent))
            assert count >= self.audit_count
            self.audit_count = count


QueueMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueStateMachine = QueueMachine.TestCase
