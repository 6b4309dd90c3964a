"""Sign-in of a borrower in a conversation: check the lender's identity token, ask the loan system for
the borrower's profile, then (one transaction) consume the token's nonce and link the conversation.

The profile is fetched before the transaction, never inside it; when the loan system cannot answer the
borrower is verified all the same (the lender vouched for them) and routed without a profile.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from handoff.conversations.records import get_conversation, signed_in_borrower
from handoff.errors import NotFoundError
from handoff.identity import links
from handoff.identity.nonces import consume_nonce
from handoff.identity.tokens import IdentityClaim, verify_identity_token
from handoff.loans.system import LoanSystemError
from handoff.loans.types import BorrowerProfile
from handoff.services import Services

log = logging.getLogger(__name__)


async def check_token(svc: Services, token: str) -> tuple[IdentityClaim, BorrowerProfile | None]:
    """The token's claim (IdentityTokenError when it proves nothing) and the borrower's profile, if any."""
    claim = verify_identity_token(
        token, keys=svc.settings.identity_keys, now=svc.clock.now(),
        max_lifetime_s=svc.settings.IDENTITY_MAX_TOKEN_LIFETIME_S,
    )
    try:
        profile: BorrowerProfile | None = await svc.loan_call(lambda system: system.profile(claim.borrower_id))
    except LoanSystemError as exc:
        log.warning("sign-in without a profile: loan system said %s", exc.code)
        profile = None
    return claim, profile


def link_in_session(
    session: Session, svc: Services, *, conversation_id: str, claim: IdentityClaim, profile: BorrowerProfile | None
) -> dict[str, Any]:
    """Consume the nonce and link the conversation, inside the caller's transaction; the borrower's view."""
    now = svc.clock.now()
    consume_nonce(session, claim=claim, now=now)
    links.link_conversation(session, conversation_id=conversation_id, claim=claim, profile=profile, now=now)
    return signed_in_view(session, borrower_id=claim.borrower_id, profile=profile, conversation_id=conversation_id)


def signed_in_view(
    session: Session, *, borrower_id: str, profile: BorrowerProfile | None, conversation_id: str
) -> dict[str, Any]:
    return {
        "verified": True,
        "borrower_id": borrower_id,
        "name": profile.name if profile else None,
        "past_conversations": links.past_conversations(session, borrower_id=borrower_id, exclude=conversation_id),
    }


def sign_in_status(session: Session, svc: Services, *, conversation_id: str) -> dict[str, Any]:
    """Whether the conversation is signed in, and as whom: what the page shows again after a reload. The
    link lives on the conversation, so the page keeps nothing of the identity token (used once anyway).
    A sign-in older than BORROWER_SIGNIN_MAX_AGE_S is not one any more: `"expired": true`, sign in again."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    current = signed_in_borrower(
        conversation, now=svc.clock.now(), max_age_s=svc.settings.BORROWER_SIGNIN_MAX_AGE_S
    )
    if current is None:
        return {"verified": False, "borrower_id": None, "name": None, "expired": conversation.borrower_id is not None}
    profile = conversation.borrower_profile or {}
    return {"verified": True, "borrower_id": current, "name": profile.get("name"), "expired": False}


async def sign_in(svc: Services, *, conversation_id: str, token: str) -> dict[str, Any]:
    claim, profile = await check_token(svc, token)
    return await svc.db(
        lambda s: link_in_session(s, svc, conversation_id=conversation_id, claim=claim, profile=profile)
    )


async def resume(svc: Services, *, token: str) -> dict[str, Any]:
    """The borrower's latest open conversation with a token for this device, and who signed in.

    NotFoundError when there is none; the token's nonce is then left unused (the transaction rolls back),
    so the page can sign in the conversation it has with the same token."""
    claim, profile = await check_token(svc, token)

    def work(session: Session) -> dict[str, Any]:
        consume_nonce(session, claim=claim, now=svc.clock.now())
        found = links.resume_latest(
            session, borrower_id=claim.borrower_id, secret_key=svc.settings.SECRET_KEY, now=svc.clock.now()
        )
        if found is None:
            raise NotFoundError("this borrower has no open conversation; start a new one")
        conversation, device_token = found
        return {"id": conversation.id, "token": device_token, "lang": conversation.lang, "state": conversation.state,
                "verified": True, "borrower_id": claim.borrower_id, "name": profile.name if profile else None}

    return await svc.db(work)
