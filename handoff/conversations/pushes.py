"""Live-chat pushes: "an agent has joined" and each agent reply, to a borrower whose app has no socket open.

`queue_live_push` stores one notification per language of the conversation's devices
(`handoff.conversations.devices`) through the borrower notifier (`handoff.infra.notifier`), in the caller's
transaction, so a push exists exactly when the claim or the reply it reports does. Nothing is queued when
PUSH_LIVE_CHAT is off, no gateway is configured, there is no device, or the signed-in borrower opted out of
the push channel (`ReminderConsent`; for an anonymous borrower, registering a device is the opt-in).
Quiet hours and frequency caps are the reminders' rules, not these: the borrower is in a chat right now.
A conversation that came by SMS or WeChat (a reply forwarded by the gateway, `handoff.borrower.gateway_replies`)
also gets each notice on that channel, with the whole (masked) reply: that channel is where the borrower is
talking, so the agent's answer goes there unless the borrower opted out of it.

The notification holds device ids only, never push tokens: `prepare_send` (the notifier's hook, on the
leader, just before each attempt) drops the push when a borrower socket of the conversation is open on any
replica (`handoff.infra.sockets`; status `skipped`, reason `socket_open`), and otherwise fills in the
devices' current tokens, decrypted in memory: a device unregistered meanwhile is left out, a refreshed token
is the one used.

What a lock screen may show: the agent's display name (the borrower sees it in the chat anyway) and, for a
reply, at most PUSH_PREVIEW_CHARS characters of it, masked (`handoff.masking`) and with every remaining
digit hidden (amounts, dates, the last four of a card): `Your payment of $••• is due on ••/••…`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.conversations.devices import device_languages
from handoff.conversations.records import get_conversation
from handoff.infra.clock import Clock
from handoff.infra.notifier import queue_notification
from handoff.infra.secretbox import SecretBox, SecretBoxError
from handoff.masking import mask_text
from handoff.models import Conversation, Message, PushDevice, ReminderConsent
from handoff.reminder_settings import NotifierSettings
from handoff.services import Services
from handoff.texts import text

log = logging.getLogger(__name__)

AGENT_JOINED = "chat.agent_joined"
AGENT_REPLY = "chat.agent_reply"
EVENTS = (AGENT_JOINED, AGENT_REPLY)
PUSH_CHANNEL = "push"
TEXT_CHANNELS = ("sms", "wechat")  # conversations held on these channels get their notices there in full
SOCKET_OPEN = "socket_open"
NO_DEVICES = "no_devices"
HIDDEN_DIGIT = "•"
DIGITS = re.compile(r"\d")


@dataclass(frozen=True)
class PushContext:
    """What queueing a push needs, taken from the running service by the route."""

    notifier: NotifierSettings
    clock: Clock
    enabled: bool
    preview_chars: int

    @classmethod
    def of(cls, svc: Services) -> PushContext:
        return cls(notifier=svc.notifier, clock=svc.clock,
                   enabled=svc.settings.PUSH_LIVE_CHAT, preview_chars=svc.settings.PUSH_PREVIEW_CHARS)


def preview(message_text: str, chars: int) -> str:
    """At most `chars` characters of the (already masked) text, masked again, every digit hidden, cut at a
    word where one is near."""
    if chars <= 0:
        return ""
    flat = " ".join(DIGITS.sub(HIDDEN_DIGIT, mask_text(message_text)).split())
    if len(flat) <= chars:
        return flat
    cut = flat[:chars]
    space = cut.rfind(" ")
    return (cut[:space] if space >= chars // 2 else cut).rstrip() + "…"


def _opted_out(session: Session, borrower_id: str | None, channel: str = PUSH_CHANNEL) -> bool:
    if borrower_id is None:
        return False
    consent = session.get(ReminderConsent, (borrower_id, channel))
    return consent is not None and not consent.granted


def _message(event: str, lang: str, *, agent_name: str, body_text: str) -> dict[str, str]:
    if event == AGENT_JOINED:
        return {"lang": lang, "title": text("push_joined_title", lang),
                "body": text("push_joined_body", lang, agent=agent_name)}
    return {"lang": lang, "title": text("push_reply_title", lang, agent=agent_name),
            "body": body_text or text("push_reply_hidden", lang)}


def queue_live_push(
    session: Session, *, push: PushContext | None, conversation_id: str, event: str, agent_name: str,
    message: Message | None = None,
) -> list[int]:
    """Queue the push of `event` for the conversation's devices; returns the notification ids (none queued:
    [])."""
    assert event in EVENTS
    if push is None or not push.enabled or not push.notifier.NOTIFY_GATEWAY_URL:
        return []
    conversation = get_conversation(session, conversation_id=conversation_id)
    queued = _queue_on_text_channel(session, push=push, conversation=conversation, event=event,
                                    agent_name=agent_name, message=message)
    if _opted_out(session, conversation.borrower_id):
        return queued
    by_lang: dict[str, list[str]] = {}
    for device_id, lang in device_languages(session, conversation=conversation):
        by_lang.setdefault(lang, []).append(device_id)
    body_text = preview(message.text, push.preview_chars) if message is not None else ""
    for lang, device_ids in sorted(by_lang.items()):
        data: dict[str, Any] = {"kind": event.removeprefix("chat."), "agent_name": agent_name,
                                "device_ids": device_ids}
        if message is not None:
            data["seq"] = message.seq
        row = queue_notification(
            session, settings=push.notifier, clock=push.clock, event=event, borrower_id=conversation.borrower_id,
            data=data, message=_message(event, lang, agent_name=agent_name, body_text=body_text),
            channels=(PUSH_CHANNEL,), conversation_id=conversation_id,
        )
        if row is not None:
            queued.append(row.id)
    return queued


def _queue_on_text_channel(
    session: Session, *, push: PushContext, conversation: Conversation, event: str, agent_name: str,
    message: Message | None,
) -> list[int]:
    """The notice on the SMS / WeChat channel the conversation came by (the gateway knows the borrower's number
    by `borrower_id`): the agent's whole masked reply, which the borrower would otherwise never see."""
    channel = conversation.channel
    if channel not in TEXT_CHANNELS or conversation.borrower_id is None:
        return []
    if _opted_out(session, conversation.borrower_id, channel):
        return []
    data: dict[str, Any] = {"kind": event.removeprefix("chat."), "agent_name": agent_name}
    body = message.text if message is not None else ""
    if message is not None:
        data["seq"] = message.seq
    row = queue_notification(
        session, settings=push.notifier, clock=push.clock, event=event, borrower_id=conversation.borrower_id,
        data=data, message=_message(event, conversation.lang, agent_name=agent_name, body_text=body),
        channels=(channel,), conversation_id=conversation.id,
    )
    return [row.id] if row is not None else []


def _devices(session: Session, device_ids: list[str], box: SecretBox) -> list[dict[str, str]]:
    rows = session.scalars(select(PushDevice).where(PushDevice.id.in_(device_ids)).order_by(PushDevice.id)).all()
    found = []
    for row in rows:
        try:
            token = box.decrypt(row.token_sealed)
        except SecretBoxError:  # its key was dropped before rotate-contact-keys ran: the others still go
            log.warning("push device %s (%s): token cannot be decrypted with CONTACT_KEYS; left out", row.id,
                        row.token_hint)
            continue
        found.append({"device_id": row.id, "platform": row.platform, "push_token": token,
                      "app_version": row.app_version})
    return found


async def prepare_send(svc: Services, event: str, payload: dict[str, Any]) -> dict[str, Any] | str:
    """The notifier's hook for live-chat pushes: the payload to send (with the devices' tokens), or the reason
    it is not sent. Other notifications pass unchanged."""
    if event not in EVENTS:
        return payload
    conversation_id = payload.get("conversation_id")
    if conversation_id and await svc.sockets.is_open(str(conversation_id)):
        return SOCKET_OPEN  # the borrower has the message on screen already
    data = dict(payload.get("data") or {})
    if "device_ids" not in data and set(payload.get("channels") or ()) <= set(TEXT_CHANNELS):
        return payload  # SMS / WeChat: the gateway reaches the borrower by borrower_id, no device involved
    device_ids = [str(d) for d in data.pop("device_ids", [])]
    box = svc.secret_box
    devices = await svc.db(lambda s: _devices(s, device_ids, box), write=False)
    if not devices:
        return NO_DEVICES
    return {**payload, "data": {**data, "devices": devices}}
