"""What a borrower can do about waiting for a person: ask for one, stop waiting, or ask for a callback.

Each runs under the conversation's turn lock, like a message, so it cannot interleave with a turn.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from contract.codes import HandoffReason, PayloadType, Trigger
from contract.turns import PacketTurn
from handoff import texts
from handoff.borrower.handoffs import put_in_queue
from handoff.borrower.packets import history, service_packet, transcript
from handoff.borrower.views import conversation_view
from handoff.conversations import place
from handoff.conversations.records import append_message, get_conversation
from handoff.errors import ConflictError, InvalidInputError
from handoff.infra.bus import AGENTS_TOPIC
from handoff.infra.clock import as_utc
from handoff.infra.outbox import publish_after_commit
from handoff.masking import mask_text
from handoff.models import CallbackTicket, Conversation
from handoff.queue import callbacks, entries
from handoff.queue.hours import business_hours_of
from handoff.services import Services
from handoff.states import ConversationState, Sender

TRACKER_BUDGET_S = 1.0  # what the bot understood is worth this much of the borrower's wait, no more
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d ()\-.]{7,24}$")


def _view(session: Session, *, conversation_id: str, svc: Services) -> dict[str, Any]:
    conversation = get_conversation(session, conversation_id=conversation_id)
    return conversation_view(session, conversation=conversation, clock=svc.clock, settings=svc.settings)


def _request_person(
    session: Session, *, conversation_id: str, reason: str, turns: list[PacketTurn], svc: Services
) -> dict[str, Any]:
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.state == ConversationState.CLOSED:
        raise ConflictError("this conversation is closed; start a new one", target_id=conversation_id)
    if conversation.state == ConversationState.BOT:
        # An angry borrower who presses the button keeps the priority their words call for.
        found = history(session, conversation_id=conversation_id)  # one read for the packet and the queue entry
        packet = service_packet(
            found, conversation=conversation, reason=reason, trigger=Trigger.BUTTON, rasa_turns=turns
        )
        put_in_queue(session, conversation=conversation, packet=packet, svc=svc, history=found)
    return conversation_view(session, conversation=conversation, clock=svc.clock, settings=svc.settings)


async def request_person(svc: Services, *, conversation_id: str, reason: str) -> dict[str, Any]:
    """The one-step 'talk to a person' control; idempotent while already queued or assigned."""
    async with svc.locks.hold(conversation_id):
        # What the bot understood so far, for the agent; skipped when the bot is the problem.
        turns = (
            [] if reason == HandoffReason.BOT_UNAVAILABLE
            else await svc.rasa.recent_turns(conversation_id, budget_s=TRACKER_BUDGET_S)
        )
        return await svc.db(
            lambda s: _request_person(s, conversation_id=conversation_id, reason=reason, turns=turns, svc=svc)
        )


def _leave(session: Session, *, conversation_id: str, svc: Services) -> dict[str, Any]:
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.state in (ConversationState.QUEUED, ConversationState.ASSIGNED):
        entries.leave_queue(session, conversation=conversation, actor_type="borrower", actor_id=None)
        append_message(
            session,
            conversation_id=conversation_id,
            sender=Sender.SYSTEM,
            text=texts.text("left_queue", conversation.lang),
        )
        publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
        place.notify_positions(session, clock=svc.clock)
    return conversation_view(session, conversation=conversation, clock=svc.clock, settings=svc.settings)


async def leave_queue(svc: Services, *, conversation_id: str) -> dict[str, Any]:
    async with svc.locks.hold(conversation_id):
        return await svc.db(lambda s: _leave(s, conversation_id=conversation_id, svc=svc))


def mask_contact(method: str, contact: str) -> str:
    """Enough for an agent to match the contact against the loan file, not enough to misuse it."""
    if method == "email":
        local, _, domain = contact.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", contact)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 10 else f"****{digits[-4:]}"


def validate_contact(method: str, contact: str) -> str:
    contact = contact.strip()
    if method == "email" and not _EMAIL.match(contact):
        raise InvalidInputError("contact: not an e-mail address (like name@example.com)")
    if method == "phone" and (not _PHONE.match(contact) or not 7 <= len(re.sub(r"\D", "", contact)) <= 15):
        raise InvalidInputError("contact: not a phone number (7 to 15 digits, may start with +)")
    return contact


def _callback_reply(
    session: Session, *, conversation: Conversation, ticket: CallbackTicket, svc: Services
) -> dict[str, Any]:
    view = conversation_view(session, conversation=conversation, clock=svc.clock, settings=svc.settings)
    return {
        "ticket_id": ticket.id,
        "reference": ticket.reference,
        "due_at": None if ticket.due_at is None else as_utc(ticket.due_at).isoformat(),
        "contact_method": ticket.contact_method,
        "contact": ticket.contact,
        "preferred_time": ticket.preferred_time,
        **view,
    }


def _on_file(conversation: Any, method: str) -> str:
    """A signed-in borrower's contact on file (already masked at sign-in, `handoff.identity.links`)."""
    found = (conversation.borrower_profile or {}).get("phone" if method == "phone" else "email")
    if not found:
        raise InvalidInputError(f"contact: give a {'phone number' if method == 'phone' else 'e-mail address'} "
                                "(there is none on file for this conversation)")
    return str(found)


def _callback(
    session: Session, *, conversation_id: str, method: str, contact: str | None, preferred_time: str, svc: Services
) -> dict[str, Any]:
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.state == ConversationState.CLOSED:
        raise ConflictError("this conversation is closed; start a new one", target_id=conversation_id)
    lang = conversation.lang
    hours = business_hours_of(svc.settings)
    existing = callbacks.open_callback(session, conversation_id=conversation_id)
    if existing is not None:  # asked once already: the same ticket, not a second one
        return _callback_reply(session, conversation=conversation, ticket=existing, svc=svc)
    masked_contact = mask_contact(method, contact) if contact is not None else _on_file(conversation, method)
    preferred = mask_text(preferred_time.strip())
    now = svc.clock.now()
    due = callbacks.due_time(svc.settings, now, business_hours=svc.settings.CALLBACK_DUE_BUSINESS_HOURS)
    ticket = entries.create_callback(
        session,
        conversation=conversation,
        contact_method=method,
        contact=masked_contact,
        preferred_time=preferred,
        clock=svc.clock,
        summary="Callback requested. Transcript attached.",
        reference=callbacks.new_reference("CB"),
        contact_encrypted=None if contact is None else svc.secret_box.encrypt(contact),
        due_at=due,
    )
    entry = entries.active_entry(session, conversation_id=conversation_id)
    if entry is not None and not entry.packet:
        entry.packet = {
            "reason": entry.reason,
            "transcript": transcript(history(session, conversation_id=conversation_id)),
        }
    when = texts.text("when", lang, time=preferred) if preferred else ""
    append_message(
        session,
        conversation_id=conversation_id,
        sender=Sender.SYSTEM,
        text=texts.text(
            "callback_created",
            lang,
            method=texts.text(f"method_{method}", lang),
            contact=masked_contact,
            when=when,
            due=hours.describe_instant(due, lang),
            reference=ticket.reference,
            ticket=ticket.id,
        ),
        payload={"custom": {"type": PayloadType.CALLBACK_TICKET, "ticket_id": ticket.id,
                            "reference": ticket.reference, "due_at": due.isoformat()}},
    )
    publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
    place.notify_positions(session, clock=svc.clock)
    return _callback_reply(session, conversation=conversation, ticket=ticket, svc=svc)


async def request_callback(
    svc: Services, *, conversation_id: str, contact_method: str, contact: str | None, preferred_time: str
) -> dict[str, Any]:
    """`contact` None: a signed-in borrower is called back on the contact on file."""
    contact = validate_contact(contact_method, contact) if contact is not None else None
    async with svc.locks.hold(conversation_id):
        return await svc.db(
            lambda s: _callback(
                s,
                conversation_id=conversation_id,
                method=contact_method,
                contact=contact,
                preferred_time=preferred_time,
                svc=svc,
            )
        )


async def view(svc: Services, *, conversation_id: str) -> dict[str, Any]:
    return await svc.db(lambda s: _view(s, conversation_id=conversation_id, svc=svc), write=False)
