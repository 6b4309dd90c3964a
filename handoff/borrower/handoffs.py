"""Putting a conversation in the agent queue, on every path (the bot's handoff, the borrower's button,
the bot being down): the packet completed from the stored conversation, the queue entry, and what the
borrower and the agents are told."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from contract.codes import HandoffReason, Priority
from handoff import texts
from handoff.borrower import packets
from handoff.conversations import place
from handoff.conversations.turn_writes import append_message
from handoff.infra.bus import AGENTS_TOPIC
from handoff.infra.outbox import publish_after_commit
from handoff.models import Conversation, QueueEntry
from handoff.queue import callbacks, complaints, entries, routing
from handoff.queue.hours import business_hours_of, closed_until
from handoff.reminders import context as reminder_context
from handoff.services import Services
from handoff.states import ConversationState, Sender

COMPLAINT_TOPICS = frozenset({"complaint", "dispute"})


def complete_packet(
    session: Session, *, conversation: Conversation, packet: Mapping[str, Any], now: datetime,
    history: packets.History,
) -> tuple[dict[str, Any], bool]:
    """Whoever built the packet: the FAQ the bot answered is listed (and named in the summary), and the
    priority is no lower than what the borrower's own messages call for (both from `history`, the stored
    conversation). Also says whether the borrower's words were a complaint."""
    answered = packets.answered_in(history)
    texts_ = packets.borrower_texts(history)
    from_words, detections = packets.priority_from_texts(texts_)
    priority = packet.get("priority") if packet.get("priority") in set(Priority) else str(Priority.NORMAL)
    summary = str(packet.get("summary") or "")
    titles = [str(a.get("title")) for a in answered if a.get("title")]
    if titles and not any(title in summary for title in titles):
        extra = packets.summary_text(lang=conversation.lang, head="", last_text="", answered=answered)
        space = "" if conversation.lang == "zh" else " "
        summary = summary.rstrip() + space + extra if summary else extra
    completed = {**packet, "priority": packets.higher(str(priority), from_words), "summary": summary,
                 "faq_answered": answered}
    reminder = reminder_context.packet_section(session, conversation_id=conversation.id, now=now, read=history.reminder)
    if reminder is not None:  # the borrower was answering a repayment reminder
        completed["reminder"] = reminder
    return completed, any(d.complaint for d in detections)


def _tell_if_nobody_can_pick_up(session: Session, *, conversation: Conversation, entry: QueueEntry,
                                svc: Services, callback: tuple[bool, str | None] | None,
                                arrival: place.Arrival | None = None) -> None:
    lang = conversation.lang
    languages = arrival.languages if arrival is not None and arrival.entry_id == entry.id else None
    if entries.agents_available(session, lang=entry.lang, clock=svc.clock, settings=svc.settings, languages=languages):
        return
    hours = business_hours_of(svc.settings)
    now = svc.clock.now()
    if hours.is_open(now):
        notice = texts.text("nobody_online", lang)
    else:
        notice = texts.text(
            "after_hours", lang, hours=hours.describe(lang), opens=hours.describe_opening(now, lang)
        )
    asked, _ = callback or callbacks.open_callback_reference(session, conversation_id=conversation.id)
    append_message(
        session, conversation_id=conversation.id, sender=Sender.SYSTEM, text=notice,
        payload={"buttons": [] if asked else [texts.button("button_callback", lang, "callback")]},
    )


def put_in_queue(
    session: Session,
    *,
    conversation: Conversation,
    packet: Mapping[str, Any],
    svc: Services,
    announce: bool = True,
    notice_key: str = "queued",
    callback: tuple[bool, str | None] | None = None,
    history: packets.History | None = None,
) -> QueueEntry:
    """Enqueue with the handoff packet plus our transcript; tell the borrower (unless the bot just
    did: `announce=False`) and the agents; warn when nobody can pick the chat up soon. `callback`: the
    open callback (`callbacks.open_callback_reference`), when the caller has read it in this transaction;
    `history`: the conversation's `packets.history`, when the caller read it for its packet (read here
    otherwise: once for the packet and its transcript)."""
    if history is None:
        history = packets.history(session, conversation_id=conversation.id)
    packet, complained = complete_packet(
        session, conversation=conversation, packet=packet, now=svc.clock.now(), history=history
    )
    reason = packet.get("reason")
    reason = reason if reason in set(HandoffReason) else HandoffReason.EXPLICIT_REQUEST
    lang = packet.get("lang") if packet.get("lang") in ("en", "zh") else conversation.lang
    was_waiting = conversation.state == ConversationState.QUEUED
    # Key customers: their manager first, and a priority never lower than the routing asks for.
    routed = routing.route(session, conversation=conversation, priority=str(packet["priority"]), clock=svc.clock,
                           settings=svc.settings)
    packet["priority"] = routed.priority
    borrower = {"borrower": routed.packet} if routed.packet is not None else {}
    # Its place in line, and who is behind it and who could pick it up, in one read (`place.Arrival`).
    arrival = place.Arrival(seen_since=entries.presence_cutoff(svc.clock, svc.settings))
    entry = entries.enqueue(
        session,
        conversation=conversation,
        packet={**packet, **borrower, "transcript": packets.transcript(history)},
        reason=str(reason),
        priority=routed.priority,
        lang=str(lang),
        summary=str(packet.get("summary") or ""),
        clock=svc.clock,
        preferred_agent_id=routed.preferred_agent_id,
        preferred_until=routed.preferred_until,
        arrival=arrival,
    )
    if not was_waiting:
        if announce:
            append_message(
                session, conversation_id=conversation.id, sender=Sender.SYSTEM,
                text=texts.text(notice_key, conversation.lang),
            )
        _tell_if_nobody_can_pick_up(
            session, conversation=conversation, entry=entry, svc=svc, callback=callback, arrival=arrival
        )
    if COMPLAINT_TOPICS & set(packet.get("topics") or []) or complained:
        complaints.record_complaint(
            session, conversation=conversation, summary=str(packet.get("summary") or ""),
            source="detector" if complained else "bot", settings=svc.settings,
            clock=svc.clock,
        )
    publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
    # Its own `state` event (position, wait) went out with the move to the queue; everyone behind it
    # moves down one place. Outside business hours its own wait changes too (it starts at the opening).
    opens_at = closed_until(svc.settings, svc.clock.now())
    place.notify_positions(
        session, clock=svc.clock, behind=None if opens_at else conversation.id, opens_at=opens_at, behind_entry=entry,
        arrival=arrival,
    )
    return entry
