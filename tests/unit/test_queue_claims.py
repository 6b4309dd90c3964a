"""Agents' operations on queue entries, called directly: claim, take next, release, transfer, close,
hand back, reply. Illegal moves are refused and change nothing."""

from __future__ import annotations

import pytest
from agent_support import make_agent, tx, waiting_chat
from sqlalchemy import Engine, func, select

from handoff.agents import chat, operations
from handoff.api.errors import status_of
from handoff.errors import ForbiddenError, InvalidInputError
from handoff.infra.clock import FakeClock
from handoff.models import Agent, AuditEvent, Conversation, Message, QueueEntry
from handoff.queue import claims, entries
from handoff.states import ConversationState, IllegalTransition


def snapshot(engine: Engine) -> tuple:
    def work(session):  # type: ignore[no-untyped-def]
        rows = [(e.id, e.status, e.assigned_agent_id, e.version) for e in session.scalars(select(QueueEntry))]
        convs = [(c.id, c.state, c.assigned_agent_id, c.last_seq) for c in session.scalars(select(Conversation))]
        audits = session.scalar(select(func.count()).select_from(AuditEvent))
        return sorted(rows), sorted(convs), audits

    return tx(engine, work)


def test_claim_assigns_and_second_claim_conflicts(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann, bob = make_agent(engine, clock, "ann"), make_agent(engine, clock, "bob")
    view = tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    assert view["status"] == "assigned" and view["assigned_agent"]["id"] == ann.id
    assert tx(engine, lambda s: s.get(Conversation, conv_id).state) == "assigned"
    before = snapshot(engine)
    with pytest.raises(claims.AlreadyClaimedError) as info:
        tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=bob, clock=clock))
    assert status_of(info.value) == 409
    assert snapshot(engine) == before
    # The borrower was told who joined.
    texts = tx(engine, lambda s: s.scalars(select(Message.text).where(Message.conversation_id == conv_id)).all())
    assert any("Ann has joined" in t for t in texts)


def test_take_next_respects_order_language_and_capacity(engine: Engine) -> None:
    clock = FakeClock()
    zh_chat, _ = waiting_chat(engine, clock, lang="zh")
    clock.advance(1)
    normal, _ = waiting_chat(engine, clock)
    clock.advance(1)
    urgent, _ = waiting_chat(engine, clock, priority="urgent", reason="anger")
    en_agent = make_agent(engine, clock, "ann", languages="en", max_concurrent=2)
    take = lambda agent: tx(engine, lambda s: operations.take_next_chat(s, agent=agent, clock=clock))
    assert take(en_agent)["conversation_id"] == urgent
    assert take(en_agent)["conversation_id"] == normal
    with pytest.raises(claims.AtCapacityError):
        take(en_agent)
    other_en = make_agent(engine, clock, "bob", languages="en")
    assert take(other_en) is None  # only a zh chat waits
    zh_agent = make_agent(engine, clock, "chen", languages="zh")
    assert take(zh_agent)["conversation_id"] == zh_chat


def test_claim_respects_capacity(engine: Engine) -> None:
    clock = FakeClock()
    first = waiting_chat(engine, clock)[1]
    second = waiting_chat(engine, clock)[1]
    ann = make_agent(engine, clock, "ann", max_concurrent=1)
    tx(engine, lambda s: operations.claim_chat(s, entry_id=first, agent=ann, clock=clock))
    before = snapshot(engine)
    with pytest.raises(claims.AtCapacityError):
        tx(engine, lambda s: operations.claim_chat(s, entry_id=second, agent=ann, clock=clock))
    assert snapshot(engine) == before


def test_release_requeues_and_keeps_place(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    clock.advance(5)
    later, _ = waiting_chat(engine, clock)
    ann, bob = make_agent(engine, clock, "ann"), make_agent(engine, clock, "bob")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    with pytest.raises(ForbiddenError):
        tx(engine, lambda s: operations.release_chat(s, conversation_id=conv_id, agent=bob, clock=clock))
    view = tx(engine, lambda s: operations.release_chat(s, conversation_id=conv_id, agent=ann, clock=clock))
    assert view["status"] == "waiting" and view["requeue_count"] == 1
    assert tx(engine, lambda s: s.get(Conversation, conv_id).state) == "queued"
    assert tx(engine, lambda s: chat.queue_view(s, agent=bob, clock=clock))[0]["conversation_id"] == conv_id
    assert later


def test_transfer_by_holder_and_reassign_by_supervisor(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    _, waiting_id = waiting_chat(engine, clock)
    ann, bob = make_agent(engine, clock, "ann"), make_agent(engine, clock, "bob")
    sup = make_agent(engine, clock, "sue", role="supervisor")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    with pytest.raises(ForbiddenError):  # bob does not hold it
        tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=bob.id, actor=bob, clock=clock))
    view = tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=bob.id, actor=ann, clock=clock))
    assert view["assigned_agent"]["id"] == bob.id
    assert tx(engine, lambda s: s.get(Conversation, conv_id).assigned_agent_id) == bob.id
    with pytest.raises(ForbiddenError):  # agents cannot assign waiting chats to others
        tx(engine, lambda s: operations.assign_chat(s, entry_id=waiting_id, to_agent_id=ann.id, actor=bob, clock=clock))
    view = tx(engine, lambda s: operations.assign_chat(s, entry_id=waiting_id, to_agent_id=ann.id, actor=sup, clock=clock))
    assert view["assigned_agent"]["id"] == ann.id and view["status"] == "assigned"
    actions = tx(engine, lambda s: s.scalars(select(AuditEvent.action).where(AuditEvent.conversation_id == conv_id)).all())
    assert "transfer" in actions


def test_reply_only_by_holder_masks_text_and_stops_sla_clock(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann, bob = make_agent(engine, clock, "ann"), make_agent(engine, clock, "bob")
    before = snapshot(engine)
    with pytest.raises(claims.NotAssignedError):  # nobody holds it yet
        tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="hi", clock=clock))
    assert snapshot(engine) == before
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    before = snapshot(engine)
    with pytest.raises(claims.NotHolderError):
        tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=bob, text="hi", clock=clock))
    assert snapshot(engine) == before
    clock.advance(30)
    message = tx(engine, lambda s: chat.reply(
        s, conversation_id=conv_id, agent=ann, text="Your card 4111 1111 1111 1111 is noted", clock=clock,
        client_message_id="a1"))
    assert "4111 1111" not in message.text and message.sender == "agent"
    again = tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="x", clock=clock,
                                                  client_message_id="a1"))
    assert again.seq == message.seq
    entry = tx(engine, lambda s: s.get(QueueEntry, entry_id))
    assert entry.first_agent_reply_at is not None
    with pytest.raises(InvalidInputError):
        tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="   ", clock=clock))


def test_close_and_then_everything_is_refused(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    with pytest.raises(InvalidInputError):
        tx(engine, lambda s: operations.close_chat(s, conversation_id=conv_id, agent=ann, resolution_code="nope", clock=clock))
    view = tx(engine, lambda s: operations.close_chat(s, conversation_id=conv_id, agent=ann, resolution_code="resolved", clock=clock))
    assert view["status"] == "done"
    assert tx(engine, lambda s: s.get(Conversation, conv_id).state) == "closed"
    before = snapshot(engine)
    with pytest.raises(claims.AlreadyClaimedError):
        tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    with pytest.raises(claims.NotAssignedError):
        tx(engine, lambda s: chat.reply(s, conversation_id=conv_id, agent=ann, text="hello?", clock=clock))
    with pytest.raises(IllegalTransition):
        tx(engine, lambda s: entries.enqueue(
            s, conversation=s.get(Conversation, conv_id), packet={}, reason="anger", priority="urgent", lang="en",
            summary="", clock=clock))
    assert snapshot(engine) == before


def test_hand_back_returns_to_bot_and_marks_agent_helped(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    view = tx(engine, lambda s: operations.hand_back_chat(s, conversation_id=conv_id, agent=ann,
                                                           note="explained payoff", clock=clock))
    assert view["status"] == "done"
    conversation = tx(engine, lambda s: s.get(Conversation, conv_id))
    assert conversation.state == ConversationState.BOT and conversation.agent_helped
    assert conversation.assigned_agent_id is None


def test_callback_done(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: entries.create_callback(s, conversation=s.get(Conversation, conv_id), contact_method="phone",
                                               contact="[PHONE]", preferred_time="", clock=clock))
    listed = tx(engine, lambda s: chat.queue_view(s, agent=ann, clock=clock))
    assert listed[0]["status"] == "callback" and listed[0]["callback"]["contact"] == "[PHONE]"
    with pytest.raises(claims.AlreadyClaimedError):
        tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    tx(engine, lambda s: operations.complete_callback(s, entry_id=entry_id, agent=ann, clock=clock))
    assert tx(engine, lambda s: chat.queue_view(s, agent=ann, clock=clock)) == []


def test_supervisor_sees_all_languages(engine: Engine) -> None:
    clock = FakeClock()
    waiting_chat(engine, clock, lang="zh")
    ann = make_agent(engine, clock, "ann", languages="en")
    sup = make_agent(engine, clock, "sue", role="supervisor", languages="en")
    assert tx(engine, lambda s: chat.queue_view(s, agent=ann, clock=clock)) == []
    assert len(tx(engine, lambda s: chat.queue_view(s, agent=sup, clock=clock))) == 1
    loads = tx(engine, chat.agents_view)
    assert {a["username"]: a["load"] for a in loads} == {"ann": 0, "sue": 0}
    assert Agent
