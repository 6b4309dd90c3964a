"""What a borrower writes while waiting for (or talking to) a person is scored by the local detector:
anger and complaints move the chat up the queue, and a complaint opens a complaint record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from handoff import audit
from handoff.borrower.packets import higher
from handoff.conversations import place
from handoff.infra.bus import AGENTS_TOPIC
from handoff.infra.outbox import publish_after_commit
from handoff.models import Conversation, Message, QueueEntry
from handoff.queue import complaints, entries
from handoff.services import Services
from handoff.triage.detector import detect

MAX_SIGNALS = 20


def score_message(session: Session, *, conversation: Conversation, message: Message, svc: Services) -> None:
    """Raise the active entry's priority (never lower it) when the message is upset or a complaint, and
    keep the signal in the packet for the agent."""
    found = detect(message.text)
    if found.reason is None or found.wants_person and not (found.upset or found.complaint):
        return
    entry = session.scalars(
        select(QueueEntry).options(undefer(QueueEntry.packet)).where(
            QueueEntry.conversation_id == conversation.id,
            QueueEntry.status.in_([str(s) for s in entries.ACTIVE_STATUSES]),
        )
    ).first()
    if entry is None:
        return
    before = entry.priority
    signals = [*(entry.packet or {}).get("queued_signals", []), {"seq": message.seq, **found.as_dict()}]
    entry.packet = {**(entry.packet or {}), "queued_signals": signals[-MAX_SIGNALS:]}
    entries.set_priority(entry, higher(before, str(found.priority)))
    if found.complaint:
        topics = sorted({*(entry.packet.get("topics") or []), *found.topics})
        entry.packet = {**entry.packet, "topics": topics}
        complaints.record_complaint(session, conversation=conversation, summary=message.text, source="detector",
                                    settings=svc.settings, clock=svc.clock)
    if entry.priority != before:
        audit.record(
            session, actor_type="system", actor_id=None, conversation_id=conversation.id,
            action="reprioritised", detail={"from": before, "to": entry.priority, "seq": message.seq,
                                            "cues": list(found.cues)},
        )
        publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
        place.notify_positions(session, clock=svc.clock)
