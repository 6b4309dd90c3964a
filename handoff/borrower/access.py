"""Who may reach a borrower conversation: the holder of its bearer token.

A conversation's token hash is written once, when the conversation is created, and conversations are
never deleted, so each replica keeps the hashes it has read (`handoff.infra.token_cache`) and checks
a returning borrower's token without a database round trip. A borrower turn costs
one transaction fewer that way. A wrong token and an unknown id still look the same to the caller.
A token that is not the conversation's first one is looked up among its devices' tokens
(`handoff.identity.links`: a verified borrower resumed the conversation elsewhere).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.conversations.records import hash_token
from handoff.errors import ForbiddenError, UnauthorizedError
from handoff.identity.links import device_token_matches
from handoff.models import Conversation
from handoff.services import Services

NO_HASH = "0" * 64  # compared against when the id is unknown, so both failures take the same time


@dataclass(frozen=True)
class ConversationRef:
    """A conversation the request's token reaches; handlers read its current state themselves."""

    id: str


def _stored_hash(session: Session, conversation_id: str) -> str | None:
    return session.scalar(select(Conversation.token_hash).where(Conversation.id == conversation_id))


async def authorize_borrower(svc: Services, *, conversation_id: str, token: str | None) -> ConversationRef:
    """The conversation in the path if `token` is its bearer token (UnauthorizedError without a
    token, ForbiddenError for a wrong token or an unknown conversation)."""
    if not token:
        raise UnauthorizedError("a conversation token is required (Authorization: Bearer <token>)")
    stored = svc.token_hashes.get(conversation_id)
    if stored is None:
        stored = await svc.db(lambda s: _stored_hash(s, conversation_id), write=False)
        if stored is not None:
            svc.token_hashes.put(conversation_id, stored)
    given = hash_token(svc.settings.SECRET_KEY, token)
    if hmac.compare_digest(stored or NO_HASH, given) and stored is not None:
        return ConversationRef(conversation_id)
    # A verified borrower who resumed the conversation on another device holds a further token.
    if stored is not None and await svc.db(
        lambda s: device_token_matches(s, conversation_id=conversation_id, token_hash=given), write=False
    ):
        return ConversationRef(conversation_id)
    raise ForbiddenError("this token does not grant access to that conversation", target_id=conversation_id)
