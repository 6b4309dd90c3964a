"""Read-side views of a conversation shared by the borrower routes, turns and the WebSocket."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from handoff import texts
from handoff.config import Settings
from handoff.conversations.lifecycle import state_event
from handoff.conversations.records import messages_after
from handoff.infra import outbox
from handoff.infra.bus import conversation_topic
from handoff.infra.clock import Clock, as_utc
from handoff.models import Conversation, QueueEntry
from handoff.queue import entries
from handoff.queue.callbacks import open_callback_reference
from handoff.queue.hours import business_hours_of, closed_until
from handoff.services import Services
from handoff.states import ConversationState


def conversation_view(
    session: Session, *, conversation: Conversation, clock: Clock, settings: Settings,
    known_place: tuple[int, int] | None = None, entry: QueueEntry | None = None,
    callback: tuple[bool, str | None] | None = None,
) -> dict[str, Any]:
    """What the borrower's page shows of the conversation. `known_place`: the queue position and wait a
    `state` event has just announced (the WebSocket), so they are not worked out again; `entry`: its
    active queue entry, when the caller has it at hand (not read again); `callback`: whether a callback
    is open and its reference, when the caller's statement has just read them (`open_callback_reference`)."""
    now = clock.now()
    opens_at = closed_until(settings, now)
    if conversation.state != ConversationState.QUEUED:
        entry = None
    elif entry is None:
        entry = entries.active_entry(session, conversation_id=conversation.id)
    view = state_event(
        session, conversation=conversation, clock=clock, opens_at=opens_at, entry=entry, known_place=known_place
    )
    view.pop("type")
    waiting_s = None
    if entry is not None:
        waiting_s = max(0, int((now - as_utc(entry.enqueued_at)).total_seconds()))
    hours = business_hours_of(settings)
    wait = view.get("estimated_wait_s")
    wait_text = None
    if wait is not None:
        wait_text = texts.wait_text(
            wait, conversation.lang, opens=hours.describe_opening(now, conversation.lang) if opens_at else ""
        )
    requested, reference = callback or open_callback_reference(session, conversation_id=conversation.id)
    return {
        "id": conversation.id,
        "lang": conversation.lang,
        "last_seq": conversation.last_seq,
        **view,
        "waiting_s": waiting_s,
        "wait_text": wait_text,
        "business_hours": hours.describe(conversation.lang),
        "callback_offer_after_s": settings.CALLBACK_OFFER_AFTER_S,
        "callback_requested": requested,
        "callback_reference": reference,
        "max_message_chars": settings.MAX_MESSAGE_CHARS,
    }


def place_of(event: dict[str, Any]) -> tuple[int, int] | None:
    """(position, wait) of a `state` event that announces a place in the queue, else None."""
    position, wait = event.get("queue_position"), event.get("estimated_wait_s")
    if event.get("state") == ConversationState.QUEUED and isinstance(position, int) and isinstance(wait, int):
        return position, wait
    return None


def announced_place(session: Session, *, conversation_id: str) -> tuple[int, int] | None:
    """The place in the queue that this transaction's last `state` event for the conversation announces
    (queued after commit), or None. Nothing else in a borrower turn's transaction moves the conversation
    after it, so its answer need not work the place out again."""
    topic = conversation_topic(conversation_id)
    for event_topic, event in reversed(outbox.pending(session)):
        if event_topic == topic and event.get("type") == "state":
            return place_of(event)
    return None


def written_messages(
    session: Session, *, conversation_id: str, first_seq: int, last_seq: int, known: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """The messages seq `first_seq` to `last_seq` as `message_dict` shows them, from `known` (the caller has
    them) and from the `message` events this transaction queued for the ones it appended; None when any of
    them is neither (another transaction wrote it), and then `turn_result` reads them."""
    topic = conversation_topic(conversation_id)
    found = {int(m["seq"]): m for m in known}
    for event_topic, event in outbox.pending(session):
        if event_topic == topic and event.get("type") == "message":
            found[int(event["message"]["seq"])] = event["message"]
    wanted = range(first_seq, last_seq + 1)
    return [found[seq] for seq in wanted] if all(seq in found for seq in wanted) else None


def turn_result(
    session: Session,
    *,
    conversation: Conversation,
    first_seq: int,
    last_seq: int,
    svc: Services,
    messages: list[dict[str, Any]] | None = None,
    known_place: tuple[int, int] | None = None,
    entry: QueueEntry | None = None,
    callback: tuple[bool, str | None] | None = None,
    known_messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The turn's messages (seq `first_seq` to `last_seq`) and the conversation's view. `messages`: the
    caller has just written exactly those (as `message_dict` shows them), so they are not read back;
    `known_messages`: some of them, which with those this transaction appended may spare the read
    (`written_messages`);
    `known_place`: the place in the queue this transaction has just announced (`announced_place`); `entry`:
    the conversation's active queue entry, when the caller has just written it; `callback`: the open
    callback, when the caller's statement has just read it (`conversation_view`)."""
    if messages is None and known_messages is not None:
        messages = written_messages(
            session, conversation_id=conversation.id, first_seq=first_seq, last_seq=last_seq, known=known_messages
        )
    if messages is None:
        messages = [
            m
            for m in messages_after(session, conversation_id=conversation.id, after=first_seq - 1)
            if m["seq"] <= last_seq
        ]
    return {
        "messages": messages,
        **conversation_view(
            session, conversation=conversation, clock=svc.clock, settings=svc.settings, known_place=known_place,
            entry=entry, callback=callback,
        ),
    }
