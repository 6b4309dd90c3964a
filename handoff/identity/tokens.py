"""Identity tokens: the lender's website or app vouches for a borrower with a short-lived signed token.

The model is Intercom's identity verification and Chatwoot's `identifier_hash` (an HMAC-SHA256 of the
user's id under a secret only the lender's server and we know), with what those lack for chat about
money: an expiry and a one-time nonce. The token is a JWT signed with HS256 (HMAC-SHA256) over

    {"sub": <borrower id>, "exp": <unix time>, "jti": <nonce>}

so every language has a well-kept library to make one. We accept:
- only HS256 (no `none`, no public-key algorithms a secret could be mistaken for);
- a signature under any of the configured secrets (IDENTITY_SECRETS: the new one first while rotating);
- an unexpired token whose lifetime is at most `max_lifetime_s` (so its nonce need be kept only that
  long); the nonce is consumed by `handoff.identity.nonces`, which refuses a second sign-in with it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from handoff.errors import UnauthorizedError

ALGORITHM = "HS256"
LEEWAY_S = 30  # clock difference between the lender's servers and ours
BORROWER_ID = re.compile(r"^(?!\.+$)[A-Za-z0-9._@:-]{1,64}$")
NONCE = re.compile(r"^[A-Za-z0-9._:-]{16,128}$")


class IdentityTokenError(UnauthorizedError):
    """The token does not prove who the borrower is; `code` says why (never which secret was tried)."""

    code = "identity_invalid"


class IdentityTokenExpired(IdentityTokenError):
    code = "identity_expired"


class IdentityTokenReused(IdentityTokenError):
    code = "identity_reused"


@dataclass(frozen=True)
class IdentityClaim:
    borrower_id: str
    nonce: str
    expires_at: datetime


def sign_identity_token(
    *, secret: str, borrower_id: str, expires_at: datetime, nonce: str | None = None
) -> str:
    """What the lender's server does (and our development-only demo sign-in)."""
    claims = {"sub": borrower_id, "exp": int(expires_at.timestamp()), "jti": nonce or secrets.token_urlsafe(18)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_identity_token(
    token: str, *, keys: Sequence[str], now: datetime, max_lifetime_s: int
) -> IdentityClaim:
    """The claim of a token signed with one of `keys`, unexpired at `now`; IdentityTokenError otherwise."""
    if not keys:
        raise IdentityTokenError("sign-in is not enabled on this service")
    claims = None
    for key in keys:
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], leeway=LEEWAY_S,
                options={"require": ["sub", "exp", "jti"], "verify_exp": False},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise IdentityTokenError("the identity token is malformed") from None
    if claims is None:
        raise IdentityTokenError("the identity token's signature does not match")
    borrower_id, nonce, exp = claims.get("sub"), claims.get("jti"), claims.get("exp")
    if not isinstance(borrower_id, str) or not BORROWER_ID.match(borrower_id):
        raise IdentityTokenError("the identity token's borrower id ('sub') is not a valid id")
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise IdentityTokenError("the identity token's nonce ('jti') must be 16-128 URL-safe characters")
    if not isinstance(exp, int):
        raise IdentityTokenError("the identity token's expiry ('exp') must be a unix time")
    expires_at = datetime.fromtimestamp(exp, UTC)
    if expires_at + timedelta(seconds=LEEWAY_S) <= now:
        raise IdentityTokenExpired("the identity token has expired; sign in again")
    if expires_at - now > timedelta(seconds=max_lifetime_s + LEEWAY_S):
        raise IdentityTokenError(f"an identity token may live at most {max_lifetime_s} s")
    return IdentityClaim(borrower_id=borrower_id, nonce=nonce, expires_at=expires_at)
