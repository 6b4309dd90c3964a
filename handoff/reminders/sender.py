"""Sending one planned reminder: into the borrower's conversation and out through the notifier, once.

Each reminder goes in its own transaction, which first runs the leader's fence and then claims the row
with a conditional update (`planned` -> `sent`, exactly one row changed), so two schedulers, a replayed
batch or a crash between two reminders never send one twice; the chat message and the gateway
notification are stored in that same transaction, or neither is.

In the chat it lands in the borrower's latest open conversation; a borrower without one finds it there
when they next sign in (`deliver_pending`). Out of the chat it is one notification for the channels the
borrower allows (push, SMS, WeChat) when a gateway is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handoff import texts
from handoff.conversations.records import append_message
from handoff.infra import notifier
from handoff.infra.clock import as_utc
from handoff.models import Conversation, Reminder
from handoff.reminder_settings import NotifierSettings, ReminderSettings
from handoff.reminders import consent, timing
from handoff.reminders.planner import EXPIRED, PLANNED, SENT, SUPPRESSED
from handoff.reminders.templates import render
from handoff.states import ConversationState, Sender
from knowledge_base.reminder_templates import ReminderTemplates

CHAT = "chat"
REMINDER_PAYLOAD = "reminder"
Fence = Callable[[Session], None]


def due_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    return list(session.scalars(
        select(Reminder.id).where(Reminder.status == PLANNED, Reminder.not_before <= now)
        .order_by(Reminder.not_before, Reminder.id).limit(limit)
    ))


def latest_open_conversation(session: Session, borrower_id: str) -> Conversation | None:
    """The borrower's newest conversation that is not closed, locked for the caller's transaction."""
    return session.scalars(
        select(Conversation)
        .where(Conversation.borrower_id == borrower_id, Conversation.state != ConversationState.CLOSED)
        .order_by(Conversation.last_seq.desc(), Conversation.created_at.desc(), Conversation.id).limit(1)
        .with_for_update()
    ).first()


def chat_message(row: Reminder, templates: ReminderTemplates) -> tuple[str, dict[str, Any]]:
    """The reminder as a bot message (markdown), with quick replies the borrower can answer with."""
    title, body = render(templates, kind=row.kind, lang=row.lang, data=row.data)
    replies = [{"title": texts.text(key, row.lang), "payload": texts.text(key, row.lang)}
               for key in ("reminder_reply_pay", "reminder_reply_hardship")]
    custom = {"type": REMINDER_PAYLOAD, "reminder_id": row.id, "kind": row.kind, "loan": row.data.get("loan"),
              "due_on": row.due_on.isoformat()}
    return f"**{title}**\n\n{body}", {"custom": custom, "buttons": replies}


def into_conversation(session: Session, row: Reminder, conversation_id: str, templates: ReminderTemplates) -> None:
    """The reminder as a bot message at the end of the conversation; the reminder remembers where it is."""
    text, payload = chat_message(row, templates)
    message = append_message(session, conversation_id=conversation_id, sender=Sender.BOT, text=text, payload=payload)
    row.conversation_id, row.message_seq = conversation_id, message.seq


def _defer(session: Session, row: Reminder, until: datetime, reason: str) -> str:
    row.not_before, row.reason = until, reason
    return f"deferred_{reason}"


def send_one(session: Session, *, reminder_id: int, now: datetime, settings: ReminderSettings,
             gateway: NotifierSettings, templates: ReminderTemplates, clock: Any, fence: Fence | None = None) -> str:
    """Send (or defer, suppress, expire) one planned reminder; returns what happened to it."""
    if fence is not None:
        fence(session)
    row = session.get(Reminder, reminder_id)
    if row is None or row.status != PLANNED or as_utc(row.not_before) > now:
        return "skipped"
    if as_utc(row.expires_at) <= now:
        row.status, row.reason = EXPIRED, "stale"
        return EXPIRED
    quiet_end = timing.quiet_until(now, row.time_zone, start=settings.quiet_start, end=settings.quiet_end)
    if quiet_end != now:
        return _defer(session, row, quiet_end, "quiet_hours")
    allowed = consent.allowed_channels(session, borrower_id=row.borrower_id, defaults=settings.default_channels)
    outbound = sorted(allowed - {CHAT}) if gateway.NOTIFY_GATEWAY_URL else []
    channels = ([CHAT] if CHAT in allowed else []) + outbound
    if not channels:
        row.status, row.reason = SUPPRESSED, "opted_out" if not allowed else "no_channel"
        return SUPPRESSED
    recent = session.scalars(select(Reminder.sent_at).where(
        Reminder.borrower_id == row.borrower_id, Reminder.status == SENT,
        Reminder.sent_at > now - timing.CAP_WINDOW)).all()
    capped = timing.cap_until([as_utc(at) for at in recent if at is not None], now=now,
                              max_per_day=settings.REMINDER_MAX_PER_DAY)
    if capped is not None:
        return _defer(session, row, capped + timedelta(seconds=1), "frequency_cap")
    # The conversation row is locked before the reminder's (erasure's order: conversation, then reminders),
    # so an erasure in between is waited for, and then the conversation is simply not found (PostgreSQL).
    conversation = latest_open_conversation(session, row.borrower_id) if CHAT in channels else None
    claimed = session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.status == PLANNED)
        .values(status=SENT, sent_at=now, reason=None).returning(Reminder.id)
    ).scalar_one_or_none()
    if claimed is None:  # another scheduler sent it a moment ago
        return "skipped"
    row.channels = {"used": channels}
    if conversation is not None:
        into_conversation(session, row, conversation.id, templates)
    if outbound:
        title, body = render(templates, kind=row.kind, lang=row.lang, data=row.data)
        sent = notifier.queue_notification(
            session, settings=gateway, clock=clock, event=f"reminder.{row.kind}", borrower_id=row.borrower_id,
            conversation_id=row.conversation_id, channels=outbound, message={"lang": row.lang, "title": title,
                                                                             "body": body},
            data={"reminder_id": row.id, "kind": row.kind, "loan": row.data.get("loan"),
                  "due_on": row.due_on.isoformat()},
        )
        row.notification_id = sent.id if sent is not None else None
    return SENT


def deliver_pending(session: Session, *, borrower_id: str, conversation_id: str, now: datetime,
                    templates: ReminderTemplates) -> int:
    """At sign-in: the borrower's sent, still current chat reminders that found no conversation land in this one."""
    rows = session.scalars(
        select(Reminder).where(
            Reminder.borrower_id == borrower_id, Reminder.status == SENT, Reminder.conversation_id.is_(None),
            Reminder.message_seq.is_(None),  # set: delivered into a chat since erased (handoff.privacy.outbound)
            Reminder.expires_at > now,
        ).order_by(Reminder.sent_at, Reminder.id)
    ).all()
    delivered = 0
    for row in rows:
        if CHAT in (row.channels or {}).get("used", []):
            into_conversation(session, row, conversation_id, templates)
            delivered += 1
    return delivered
