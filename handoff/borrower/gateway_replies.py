"""Replies by SMS, push or WeChat: a borrower answers a notification (a repayment reminder, an agent's reply
pushed to a phone) outside the chat, and the lender's gateway forwards the answer here
(`POST /api/gateway/replies`, signed like the notifications it answers).

The answer lands in the chat as a borrower message, and the bot answers it as it answers the chat: in the
notification's own conversation while that is open, else in the borrower's latest open conversation, else in
a new conversation of that borrower (channel = the gateway's channel), which the borrower finds again when
signing in on the web or in the app. A reminder that had not reached the chat yet is put there first, so the
answer has its context (a hardship reply that goes to a person carries the reminder in the packet). The
gateway's message id makes the turn idempotent: a redelivered reply gets the first answer again, stored once.
The answer of the request is what the borrower should receive back on that channel: the bot's (or the queue's)
messages of this turn, as plain text with the buttons' titles.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.borrower import turns
from handoff.conversations.devices import link_borrower
from handoff.conversations.records import LANGS, create_conversation
from handoff.errors import NotFoundError
from handoff.models import Conversation, Notification, Reminder
from handoff.reminders import sender
from handoff.services import Services
from handoff.states import ConversationState, Sender

CHANNELS = ("sms", "push", "wechat")


@dataclass(frozen=True)
class GatewayReply:
    """What the gateway forwards: the notification answered (its X-Handoff-Delivery id), the gateway's own id
    of the borrower's message, the channel it came by and its text."""

    notification_id: int
    message_id: str
    channel: str
    text: str

    @property
    def client_message_id(self) -> str:
        """The turn's idempotency key, from the gateway's id (any characters) in the form the API accepts."""
        digest = hashlib.sha256(f"{self.notification_id}:{self.message_id}".encode()).hexdigest()[:40]
        return f"gw:{self.channel}:{digest}"


def _open(session: Session, conversation_id: str | None) -> Conversation | None:
    if conversation_id is None:
        return None
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    return conversation if conversation is not None and conversation.state != ConversationState.CLOSED else None


def _new_conversation(session: Session, svc: Services, *, borrower_id: str, lang: str, channel: str) -> Conversation:
    """A conversation of the notified borrower: the gateway vouches for who answered (it sent the notification
    to that borrower's own phone or account), so it is linked to the borrower as a sign-in would link it."""
    conversation, _token = create_conversation(
        session, secret_key=svc.settings.SECRET_KEY, lang=lang if lang in LANGS else "en", channel=channel,
    )
    conversation.borrower_id = borrower_id
    conversation.verified_at = svc.clock.now()
    link_borrower(session, conversation_id=conversation.id, borrower_id=borrower_id)
    audit.record(
        session, actor_type="borrower", actor_id=borrower_id, conversation_id=conversation.id,
        action="identity_verified", detail={"first": True, "by": f"gateway:{channel}"},
    )
    return conversation


def conversation_for(session: Session, svc: Services, *, reply: GatewayReply) -> str:
    """The conversation the reply goes to (see the module's docstring); NotFoundError for a notification this
    service never sent or one whose borrower is not known (an anonymous borrower's push: answer in the app)."""
    notification = session.get(Notification, reply.notification_id)
    if notification is None or notification.borrower_id is None:
        raise NotFoundError("no notification of a known borrower has this id", target_id=str(reply.notification_id))
    borrower_id = notification.borrower_id
    conversation = _open(session, notification.conversation_id) or sender.latest_open_conversation(
        session, borrower_id
    )
    if conversation is None:
        lang = str((notification.payload.get("message") or {}).get("lang") or "en")
        conversation = _new_conversation(session, svc, borrower_id=borrower_id, lang=lang, channel=reply.channel)
    reminder = session.scalars(select(Reminder).where(Reminder.notification_id == notification.id)).first()
    if reminder is not None and reminder.message_seq is None and svc.reminder_templates is not None:
        sender.into_conversation(session, reminder, conversation.id, svc.reminder_templates)
    return conversation.id


def _outgoing(message: dict[str, Any]) -> dict[str, Any]:
    buttons = ((message.get("payload") or {}).get("buttons")) or []
    return {"seq": message["seq"], "sender": message["sender"], "text": message["text"],
            "buttons": [str(b.get("title", "")) for b in buttons if b.get("title")]}


async def answer_reply(svc: Services, *, reply: GatewayReply) -> dict[str, Any]:
    """Store the borrower's reply in the chat, let the bot (or the queue) answer it; what goes back."""
    conversation_id = await svc.db(lambda s: conversation_for(s, svc, reply=reply))
    await svc.limiter.hit(
        f"conversation:{conversation_id}", limit=svc.settings.RATE_LIMIT_CONVERSATION_PER_MIN, what="conversation"
    )
    result = await turns.borrower_message(
        svc, conversation_id=conversation_id, text=reply.text, client_message_id=reply.client_message_id
    )
    return {
        "conversation_id": conversation_id,
        "state": result["state"],
        "lang": result["lang"],
        "replies": [_outgoing(m) for m in result["messages"] if m["sender"] != Sender.BORROWER],
    }
