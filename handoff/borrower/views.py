"""Read-side views of a conversation shared by the borrower routes, turns and the WebSocket."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from handoff import texts
from handoff.config import Settings
from handoff.conversations.lifecycle import state_event
from handoff.conversations.records import messages_after
from handoff.infra.clock import Clock, as_utc
from handoff.models import Conversation
from handoff.queue import entries
from handoff.queue.callbacks import open_callback_reference
from handoff.queue.hours import business_hours_of, closed_until
from handoff.services import Services
from handoff.states import ConversationState


def conversation_view(
    session: Session, *, conversation: Conversation, clock: Clock, settings: Settings,
    known_place: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """What the borrower's page shows of the conversation. `known_place`: the queue position and wait a
    `state` event has just announced (the WebSocket), so they are not worked out again."""
    now = clock.now()
    opens_at = closed_until(settings, now)
    entry = None
    if conversation.state == ConversationState.QUEUED:
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
    requested, reference = open_callback_reference(session, conversation_id=conversation.id)
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


def turn_result(
    session: Session,
    *,
    conversation: Conversation,
    first_seq: int,
    last_seq: int,
    svc: Services,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The turn's messages (seq `first_seq` to `last_seq`) and the conversation's view. `messages`: the
    caller has just written exactly those (as `message_dict` shows them), so they are not read back."""
    if messages is None:
        messages = [
            m
            for m in messages_after(session, conversation_id=conversation.id, after=first_seq - 1)
            if m["seq"] <= last_seq
        ]
    return {
        "messages": messages,
        **conversation_view(session, conversation=conversation, clock=svc.clock, settings=svc.settings),
    }


def transcript(session: Session, *, conversation_id: str) -> list[dict[str, Any]]:
    return [
        {"seq": m["seq"], "sender": m["sender"], "text": m["text"], "created_at": m["created_at"]}
        for m in messages_after(session, conversation_id=conversation_id, after=0, limit=10_000)
    ]
