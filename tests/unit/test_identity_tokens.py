"""Identity tokens: signature under any configured key (rotation), expiry, lifetime, tampering, reuse."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import Engine

from handoff.identity.nonces import consume_nonce
from handoff.identity.tokens import (
    IdentityTokenError,
    IdentityTokenExpired,
    IdentityTokenReused,
    sign_identity_token,
    verify_identity_token,
)
from handoff.infra.db import session_scope

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD, NEW = "old-secret-" + "o" * 32, "new-secret-" + "n" * 32


def token(secret: str = OLD, *, borrower_id: str = "demo-alex", ttl_s: int = 300, nonce: str | None = None) -> str:
    return sign_identity_token(
        secret=secret, borrower_id=borrower_id, expires_at=NOW + timedelta(seconds=ttl_s), nonce=nonce
    )


def verify(value: str, keys: tuple[str, ...] = (OLD,), now: datetime = NOW) -> str:
    return verify_identity_token(value, keys=keys, now=now, max_lifetime_s=600).borrower_id


def test_a_valid_token_names_its_borrower() -> None:
    assert verify(token()) == "demo-alex"


def test_two_keys_are_accepted_at_once_for_rotation() -> None:
    assert verify(token(OLD), keys=(NEW, OLD)) == "demo-alex"
    assert verify(token(NEW), keys=(NEW, OLD)) == "demo-alex"
    with pytest.raises(IdentityTokenError, match="signature"):
        verify(token(OLD), keys=(NEW,))  # the old key retired


def test_an_expired_token_is_refused_after_the_leeway() -> None:
    value = token(ttl_s=60)
    assert verify(value, now=NOW + timedelta(seconds=80)) == "demo-alex"  # 30 s clock leeway
    with pytest.raises(IdentityTokenExpired):
        verify(value, now=NOW + timedelta(seconds=91))


def test_a_token_living_longer_than_allowed_is_refused() -> None:
    with pytest.raises(IdentityTokenError, match="at most 600"):
        verify(token(ttl_s=7200))


def _tamper_payload(value: str, **changes: object) -> str:
    header, payload, signature = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_borrower_id_or_expiry_breaks_the_signature() -> None:
    with pytest.raises(IdentityTokenError, match="signature"):
        verify(_tamper_payload(token(), sub="demo-wang"))  # A's token with B's id
    with pytest.raises(IdentityTokenError, match="signature"):
        verify(_tamper_payload(token(), exp=int((NOW + timedelta(days=1)).timestamp())))


@pytest.mark.parametrize(
    "forged",
    [
        jwt.encode({"sub": "demo-alex", "exp": int(NOW.timestamp()) + 60, "jti": "n" * 20}, None, algorithm="none"),
        jwt.encode({"sub": "demo-alex", "exp": int(NOW.timestamp()) + 60, "jti": "n" * 20}, OLD * 2, algorithm="HS512"),
        jwt.encode({"sub": "demo-alex", "exp": int(NOW.timestamp()) + 60}, OLD, algorithm="HS256"),  # no nonce
        jwt.encode({"sub": "../x", "exp": int(NOW.timestamp()) + 60, "jti": "n" * 20}, OLD, algorithm="HS256"),
        jwt.encode({"sub": "demo-alex", "exp": int(NOW.timestamp()) + 60, "jti": "short"}, OLD, algorithm="HS256"),
        "not-a-token",
        "",
    ],
)
def test_other_algorithms_missing_claims_and_bad_ids_are_refused(forged: str) -> None:
    with pytest.raises(IdentityTokenError):
        verify(forged)


def test_no_keys_means_sign_in_is_off() -> None:
    with pytest.raises(IdentityTokenError, match="not enabled"):
        verify(token(), keys=())


def test_a_nonce_signs_in_once_within_its_lifetime(engine: Engine) -> None:
    claim = verify_identity_token(token(nonce="nonce-0000000001"), keys=(OLD,), now=NOW, max_lifetime_s=600)
    with session_scope(engine) as session:
        consume_nonce(session, claim=claim, now=NOW)
    with pytest.raises(IdentityTokenReused), session_scope(engine) as session:
        consume_nonce(session, claim=claim, now=NOW + timedelta(seconds=10))
    # A different token of the same borrower signs in fine.
    other = verify_identity_token(token(nonce="nonce-0000000002"), keys=(OLD,), now=NOW, max_lifetime_s=600)
    with session_scope(engine) as session:
        consume_nonce(session, claim=other, now=NOW)
