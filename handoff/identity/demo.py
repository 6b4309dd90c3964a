"""Development only: identity tokens for the fictional demo borrowers, so anyone can try sign-in.

Off in production (`Settings.identity_demo`, IDENTITY_DEMO); the chat page shows the demo sign-in only
when GET /api/identity/demo answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from handoff.config import Settings
from handoff.errors import NotFoundError
from handoff.identity.tokens import sign_identity_token
from handoff.loans.demo import DEMO_BORROWERS

DEMO_TOKEN_LIFETIME_S = 300


def _check_on(settings: Settings) -> None:
    if not settings.identity_demo or not settings.identity_keys:
        raise NotFoundError("the demo sign-in is off on this service")


def demo_borrowers(settings: Settings) -> list[dict[str, Any]]:
    _check_on(settings)
    return [{"borrower_id": b.borrower_id, "label": b.label, "language": b.language} for b in DEMO_BORROWERS]


def demo_token(settings: Settings, *, borrower_id: str, now: datetime) -> dict[str, Any]:
    """What the lender's server would hand the chat page after the borrower logged in there."""
    _check_on(settings)
    if borrower_id not in {b.borrower_id for b in DEMO_BORROWERS}:
        raise NotFoundError("no such demo borrower", target_id=borrower_id)
    expires_at = now + timedelta(seconds=min(DEMO_TOKEN_LIFETIME_S, settings.IDENTITY_MAX_TOKEN_LIFETIME_S))
    token = sign_identity_token(secret=settings.identity_keys[0], borrower_id=borrower_id, expires_at=expires_at)
    return {"token": token, "expires_at": expires_at.isoformat()}
