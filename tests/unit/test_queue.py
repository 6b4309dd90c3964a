"""The queue from the borrower's side: enqueue (idempotent), order, position, wait, leave, callback."""

from __future__ import annotations

from agent_support import make_agent, make_settings, tx, waiting_chat
from sqlalchemy import Engine, select

from handoff.conversations import place
from handoff.conversations.records import create_conversation
from handoff.infra.clock import FakeClock
from handoff.models import AuditEvent, CallbackTicket, Conversation, QueueEntry
from handoff.queue import claims, entries
from handoff.states import QueueStatus


def test_enqueue_moves_conversation_to_queued_and_is_idempotent(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)

    def again(session):  # type: ignore[no-untyped-def]
        conversation = session.get(Conversation, conv_id)
        entry = entries.enqueue(session, conversation=conversation, packet={}, reason="anger", priority="urgent",
                              lang="en", summary="", clock=clock)
        return entry.id, conversation.state

    assert tx(engine, again) == (entry_id, "queued")
    rows = tx(engine, lambda s: s.scalars(select(QueueEntry).where(QueueEntry.conversation_id == conv_id)).all())
    assert len(rows) == 1
    actions = tx(engine, lambda s: s.scalars(select(AuditEvent.to_state).where(AuditEvent.conversation_id == conv_id)).all())
    assert "queued" in actions


def test_position_orders_by_priority_then_waiting_time(engine: Engine) -> None:
    clock = FakeClock()
    first, _ = waiting_chat(engine, clock)
    clock.advance(10)
    second, _ = waiting_chat(engine, clock, priority="high")
    clock.advance(10)
    third, _ = waiting_chat(engine, clock, priority="urgent", reason="anger")
    clock.advance(10)
    fourth, _ = waiting_chat(engine, clock)
    positions = tx(engine, lambda s: [place.queue_position(s, conversation_id=c) for c in (first, second, third, fourth)])
    assert positions == [3, 2, 1, 4]


def test_a_new_entry_moves_only_those_behind_it(engine: Engine) -> None:
    clock = FakeClock()
    first, _ = waiting_chat(engine, clock)
    clock.advance(10)
    second, _ = waiting_chat(engine, clock)
    clock.advance(10)
    urgent, _ = waiting_chat(engine, clock, priority="urgent", reason="anger")  # jumps ahead of both

    def events(behind: str | None) -> dict[str, int]:
        def work(session):  # type: ignore[no-untyped-def]
            place.notify_positions(session, clock=clock, behind=behind)
            return {topic.rsplit(":", 1)[-1]: event["queue_position"]
                    for topic, event in session.info.pop("pending_events", [])}
        return tx(engine, work)

    assert events(urgent) == {first: 2, second: 3}
    assert events(second) == {}  # the newest normal entry moves nobody
    assert events(None) == {urgent: 1, first: 2, second: 3}


def test_a_newcomer_reads_those_behind_it_and_the_staff_online_with_its_place(engine: Engine) -> None:
    """`place.Arrival`: what the newcomer's `state` event reads along is what the separate reads would find."""
    clock = FakeClock()
    first, _ = waiting_chat(engine, clock)
    clock.advance(10)
    second, _ = waiting_chat(engine, clock, lang="zh")
    make_agent(engine, clock, "ann", languages="en,zh")
    make_agent(engine, clock, "bo", languages="zh")
    make_agent(engine, clock, "cy", languages="en", online=False)
    clock.advance(10)

    def pushes(session, **kwargs):  # type: ignore[no-untyped-def]
        place.notify_positions(session, clock=clock, **kwargs)
        return [(topic, event) for topic, event in session.info.pop("pending_events", []) if topic != f"conversation:{urgent}"]

    def join(session):  # type: ignore[no-untyped-def]
        conversation, _token = create_conversation(session, secret_key="k" * 20, lang="en")
        arrival = place.Arrival(seen_since=entries.presence_cutoff(clock, make_settings()))
        entry = entries.enqueue(session, conversation=conversation, packet={}, reason="anger", priority="urgent",
                                lang="en", summary="", clock=clock, arrival=arrival)
        state = [e for _, e in session.info.pop("pending_events", []) if e["type"] == "state"]
        return conversation.id, entry, arrival, state

    def check(session):  # type: ignore[no-untyped-def]
        nonlocal urgent
        urgent, entry, arrival, state = join(session)
        assert [e["queue_position"] for e in state] == [1] and arrival.entry_id == entry.id
        assert [cid for cid, _ in arrival.behind] == [first, second]
        assert sorted(arrival.languages) == ["en,zh", "zh"]
        assert entries.agents_available(session, lang="zh", clock=clock, settings=make_settings(),
                                        languages=arrival.languages)
        read_along = pushes(session, behind=urgent, behind_entry=entry, arrival=arrival)
        assert read_along == pushes(session, behind=urgent, behind_entry=entry)  # the same events, read again
        return [(topic.rsplit(":", 1)[-1], event["queue_position"]) for topic, event in read_along]

    urgent = ""
    assert tx(engine, check) == [(first, 2), (second, 3)]


def test_estimated_wait_grows_with_position_and_uses_recent_handling(engine: Engine) -> None:
    clock = FakeClock()
    chats = [waiting_chat(engine, clock)[0] for _ in range(3)]
    waits = tx(engine, lambda s: [place.estimated_wait_s(s, conversation_id=c, clock=clock) for c in chats])
    assert waits[0] is not None and waits[0] < waits[1] < waits[2]
    # A fast recent pickup shortens the estimate for the head of the queue.
    agent = make_agent(engine, clock, "ann")
    clock.advance(5)
    head_entry = tx(engine, lambda s: entries.active_entry(s, conversation_id=chats[0]).id)
    tx(engine, lambda s: claims.claim(s, entry_id=head_entry, agent=s.get(type(agent), agent.id), clock=clock))
    new_head = tx(engine, lambda s: place.estimated_wait_s(s, conversation_id=chats[1], clock=clock))
    assert new_head is not None and new_head < waits[1]
    assert tx(engine, lambda s: place.queue_position(s, conversation_id=chats[0])) is None


def test_leave_queue_returns_to_bot(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)

    def leave(session):  # type: ignore[no-untyped-def]
        conversation = session.get(Conversation, conv_id)
        entries.leave_queue(session, conversation=conversation, actor_type="borrower", actor_id=None)
        return conversation.state

    assert tx(engine, leave) == "bot"
    assert tx(engine, lambda s: s.get(QueueEntry, entry_id).status) == QueueStatus.DONE


def test_callback_replaces_the_wait_and_stays_visible(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)

    def callback(session):  # type: ignore[no-untyped-def]
        conversation = session.get(Conversation, conv_id)
        ticket = entries.create_callback(session, conversation=conversation, contact_method="phone",
                                       contact="[PHONE]", preferred_time="after 6pm", clock=clock)
        return ticket.queue_entry_id, conversation.state

    assert tx(engine, callback) == (entry_id, "bot")
    assert tx(engine, lambda s: s.get(QueueEntry, entry_id).status) == QueueStatus.CALLBACK
    # Asking for a person again re-activates the same entry (original place kept).
    again = tx(engine, lambda s: entries.enqueue(
        s, conversation=s.get(Conversation, conv_id), packet={}, reason="explicit_request", priority="normal",
        lang="en", summary="", clock=clock).id)
    assert again == entry_id
    assert tx(engine, lambda s: s.get(Conversation, conv_id).state) == "queued"
    assert tx(engine, lambda s: len(s.scalars(select(CallbackTicket)).all())) == 1


def test_callback_without_entry_creates_callback_entry(engine: Engine) -> None:
    clock = FakeClock()

    def work(session):  # type: ignore[no-untyped-def]
        conversation, _ = create_conversation(session, secret_key="k" * 20, lang="zh")
        ticket = entries.create_callback(session, conversation=conversation, contact_method="email",
                                       contact="[EMAIL]", preferred_time="", clock=clock)
        return session.get(QueueEntry, ticket.queue_entry_id).status, conversation.state

    assert tx(engine, work) == (QueueStatus.CALLBACK, "bot")


def test_agents_available_needs_someone_online_in_language_and_business_hours(engine: Engine) -> None:
    clock = FakeClock()  # Monday 10:00 UTC
    settings = make_settings(BUSINESS_HOURS="mon-fri 08:00-20:00", BUSINESS_TZ="UTC")
    available = lambda lang: tx(engine, lambda s: entries.agents_available(s, lang=lang, clock=clock, settings=settings))
    assert not available("en")
    make_agent(engine, clock, "zhonly", languages="zh")
    assert not available("en") and available("zh")
    make_agent(engine, clock, "offline", languages="en", online=False)
    assert not available("en")
    make_agent(engine, clock, "bob", languages="en")
    assert available("en")
    clock.advance(11 * 3600)  # 21:00: closed
    assert not available("en")
    clock.advance(-11 * 3600 + settings.AGENT_PRESENCE_TIMEOUT_S + 1)  # open, but nobody seen lately
    assert not available("en")
