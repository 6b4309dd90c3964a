"""Consent per channel: a borrower's opt-in or opt-out of reminders in the chat, by push, SMS or WeChat.

The stored row holds the latest choice with its time and source; every change is also in the audit trail.
Channels in REMINDER_DEFAULT_CHANNELS are on until the borrower opts out; the others need an opt-in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.conversations.records import signed_in_borrower
from handoff.errors import ForbiddenError, InvalidInputError
from handoff.infra.clock import as_utc
from handoff.models import Conversation, ReminderConsent
from handoff.reminder_settings import CHANNELS

SOURCES = ("borrower_api", "chat", "agent", "lender_import")


def allowed_channels(session: Session, *, borrower_id: str, defaults: frozenset[str]) -> set[str]:
    rows = session.scalars(select(ReminderConsent).where(ReminderConsent.borrower_id == borrower_id)).all()
    allowed = set(defaults)
    for row in rows:
        (allowed.add if row.granted else allowed.discard)(row.channel)
    return allowed


def consent_view(session: Session, *, borrower_id: str, defaults: frozenset[str]) -> list[dict[str, Any]]:
    """Every channel: on or off, and whether that is the borrower's choice (when, through what) or the default."""
    rows = {r.channel: r for r in session.scalars(
        select(ReminderConsent).where(ReminderConsent.borrower_id == borrower_id))}
    view = []
    for channel in CHANNELS:
        row = rows.get(channel)
        view.append({
            "channel": channel, "granted": row.granted if row is not None else channel in defaults,
            "changed_at": as_utc(row.changed_at).isoformat() if row is not None else None,
            "source": row.source if row is not None else "default",
        })
    return view


def set_consent(session: Session, *, borrower_id: str, channel: str, granted: bool, source: str,
                now: datetime) -> ReminderConsent:
    if channel not in CHANNELS:
        raise InvalidInputError(f"channel must be one of {', '.join(CHANNELS)}", target_id=channel)
    if source not in SOURCES:
        raise InvalidInputError(f"source must be one of {', '.join(SOURCES)}", target_id=source)
    row = session.get(ReminderConsent, (borrower_id, channel))
    before = row.granted if row is not None else None
    if row is None:
        row = ReminderConsent(borrower_id=borrower_id, channel=channel, granted=granted, changed_at=now, source=source)
        session.add(row)
    else:
        row.granted, row.changed_at, row.source = granted, now, source
    audit.record(session, actor_type="borrower" if source in ("borrower_api", "chat") else "system",
                 actor_id=borrower_id, conversation_id=None, action="reminder_consent",
                 detail={"channel": channel, "granted": granted, "before": before, "source": source})
    session.flush()
    return row


def verified_borrower(session: Session, *, conversation_id: str, now: datetime, max_age_s: int) -> str:
    """The borrower the lender vouched for in this conversation (consent belongs to a person, not a chat),
    while the sign-in is fresh (`records.signed_in_borrower`)."""
    conversation = session.get(Conversation, conversation_id)
    borrower_id = None if conversation is None else signed_in_borrower(
        conversation, now=now, max_age_s=max_age_s
    )
    if borrower_id is None:
        raise ForbiddenError("sign in first: reminder settings belong to a signed-in borrower",
                             target_id=conversation_id)
    return borrower_id
