"""One sign-in per identity token: its nonce is stored until the token expires, and a second use of the
same nonce within that time is refused. Works inside the caller's transaction, on every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.identity.tokens import IdentityClaim, IdentityTokenReused
from handoff.models import IdentityNonce


def consume_nonce(session: Session, *, claim: IdentityClaim, now: datetime) -> None:
    """Record the claim's nonce; IdentityTokenReused if it was recorded before and has not expired."""
    session.execute(delete(IdentityNonce).where(IdentityNonce.expires_at < now))
    try:
        with session.begin_nested():
            session.add(IdentityNonce(nonce=claim.nonce, borrower_id=claim.borrower_id, expires_at=claim.expires_at))
    except IntegrityError:
        raise IdentityTokenReused("this identity token was used already; sign in again") from None
