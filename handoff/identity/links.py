"""Verified borrowers' conversations: link a conversation to the borrower the lender vouched for, list
the borrower's other conversations, resume the latest one on another device.

Everything works inside the caller's transaction. A conversation linked to one borrower is never
re-linked to another (a second person signing in on a shared device starts a new conversation).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.conversations.devices import link_borrower
from handoff.conversations.records import get_conversation, hash_token
from handoff.errors import ConflictError
from handoff.identity.tokens import IdentityClaim
from handoff.loans.types import BorrowerProfile
from handoff.models import Conversation, ConversationDevice
from handoff.states import ConversationState

PAST_LIMIT = 20


def _mask_contact(value: str | None, *, keep: int) -> str | None:
    if not value:
        return None
    return "*" * max(0, len(value) - keep) + value[-keep:]


def profile_snapshot(profile: BorrowerProfile | None) -> dict[str, Any] | None:
    """What the service keeps of the loan system's profile: enough to route and to greet, contacts masked."""
    if profile is None:
        return None
    email = profile.email or ""
    local, _, domain = email.partition("@")
    return {
        "name": profile.name, "language": profile.language, "tier": profile.tier, "manager": profile.manager,
        "time_zone": profile.time_zone,
        "email": f"{local[:1]}***@{domain}" if domain else None,
        "phone": _mask_contact(profile.phone, keep=4),
    }


def link_conversation(
    session: Session, *, conversation_id: str, claim: IdentityClaim, profile: BorrowerProfile | None, now: datetime
) -> Conversation:
    """Mark the conversation as the claim's borrower's (ConflictError when it is another borrower's)."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.borrower_id not in (None, claim.borrower_id):
        raise ConflictError(
            "this conversation belongs to another signed-in borrower; start a new one", target_id=conversation_id
        )
    if conversation.state == ConversationState.CLOSED:
        raise ConflictError("this conversation is closed; start a new one", target_id=conversation_id)
    first = conversation.borrower_id is None
    conversation.borrower_id = claim.borrower_id
    conversation.verified_at = now
    link_borrower(session, conversation_id=conversation_id, borrower_id=claim.borrower_id)
    snapshot = profile_snapshot(profile)
    if snapshot is not None or first:
        conversation.borrower_profile = snapshot
    audit.record(
        session, actor_type="borrower", actor_id=claim.borrower_id, conversation_id=conversation_id,
        action="identity_verified", detail={"first": first},
    )
    return conversation


def past_conversations(session: Session, *, borrower_id: str, exclude: str | None = None) -> list[dict[str, Any]]:
    """The borrower's other conversations, newest first (ids, states and times; no message text)."""
    rows = session.scalars(
        select(Conversation)
        .where(Conversation.borrower_id == borrower_id, Conversation.id != (exclude or ""))
        .order_by(Conversation.created_at.desc(), Conversation.id)
        .limit(PAST_LIMIT)
    ).all()
    return [
        {"id": c.id, "state": c.state, "lang": c.lang, "channel": c.channel,
         "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}
        for c in rows
    ]


def resume_latest(
    session: Session, *, borrower_id: str, secret_key: str, now: datetime
) -> tuple[Conversation, str] | None:
    """The borrower's latest open conversation and a new bearer token for this device (None if none); the
    token proved who the borrower is just now, so the sign-in is fresh again."""
    conversation = session.scalars(
        select(Conversation)
        .where(Conversation.borrower_id == borrower_id, Conversation.state != ConversationState.CLOSED)
        .order_by(Conversation.updated_at.desc(), Conversation.id)
        .limit(1)
    ).first()
    if conversation is None:
        return None
    conversation.verified_at = now
    token = secrets.token_urlsafe(32)
    session.add(ConversationDevice(token_hash=hash_token(secret_key, token), conversation_id=conversation.id))
    audit.record(
        session, actor_type="borrower", actor_id=borrower_id, conversation_id=conversation.id,
        action="conversation_resumed",
    )
    return conversation, token


def device_token_matches(session: Session, *, conversation_id: str, token_hash: str) -> bool:
    found = session.scalar(select(ConversationDevice.conversation_id).where(ConversationDevice.token_hash == token_hash))
    return found == conversation_id
