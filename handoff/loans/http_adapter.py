"""`HttpLoanSystem`: the loan-system adapter for a lender's REST API (docs/loan-system-api.yaml).

- Every request has a connect and a read timeout (`timeout_s`).
- Reads (GET) are idempotent and are retried on a connection error, a timeout or a 5xx answer, with a
  short exponential back-off (tenacity); a letter request (POST) is not retried here, the caller
  sends the same Idempotency-Key again if it wants to.
- A circuit breaker (pybreaker) opens after `breaker_fail_max` failed calls in a row and refuses calls
  for `breaker_reset_s`, so a dead lender API costs the borrower no waiting: the bot says at once
  that it cannot see the figures and offers a person. 404 and 422 answers are the borrower's case,
  not a fault of the API, and never open the breaker.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx
import pybreaker
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from handoff.loans.system import (
    BorrowerNotFound,
    InvalidLoanRequest,
    LoanNotFound,
    LoanSystemError,
    LoanSystemUnavailable,
)
from handoff.loans.types import (
    BorrowerProfile,
    LetterKind,
    LetterRequest,
    Loan,
    PayoffQuote,
    PostedPayment,
    ReminderAccount,
)

log = logging.getLogger(__name__)
CASE_ERRORS = (BorrowerNotFound, LoanNotFound, InvalidLoanRequest)
ERROR_CODES: dict[str, type[LoanSystemError]] = {
    "borrower_not_found": BorrowerNotFound, "loan_not_found": LoanNotFound, "invalid_request": InvalidLoanRequest,
}


class _Retryable(Exception):
    """A read that may succeed when sent again (connection error, timeout, 5xx)."""


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, _Retryable)


class HttpLoanSystem:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout_s: float = 2.0,
        read_attempts: int = 3,
        breaker_fail_max: int = 5,
        breaker_reset_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout_s, connect=min(1.0, timeout_s)),
            trust_env=False,
            transport=transport,
        )
        self._read_attempts = read_attempts
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=breaker_fail_max, reset_timeout=breaker_reset_s, exclude=list(CASE_ERRORS),
            name="lender-api",
        )

    def close(self) -> None:
        self._client.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:  # never the URL's query or the body: they may carry account data
            raise _Retryable(type(exc).__name__) from None
        if resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise LoanSystemUnavailable(f"lender API answered HTTP {resp.status_code} without JSON") from None
        if resp.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            # A 404 without one of our codes is a path the API does not serve: nothing there either.
            fallback = LoanNotFound if resp.status_code == 404 else LoanSystemUnavailable
            raise ERROR_CODES.get(str(code), fallback)(
                f"lender API answered HTTP {resp.status_code} ({code})"
            )
        return body

    def _read(self, path: str, **kwargs: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self._read_attempts),
            wait=wait_exponential(multiplier=0.05, max=0.5),
            reraise=True,
        )
        return retrying(self._send, "GET", path, **kwargs)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.breaker.call(fn, *args, **kwargs)
        except pybreaker.CircuitBreakerError:
            raise LoanSystemUnavailable("lender API circuit breaker is open") from None
        except _Retryable as exc:
            log.warning("lender API unavailable: %s", exc)
            raise LoanSystemUnavailable(f"lender API unavailable ({exc})") from None
        except (KeyError, TypeError, ValueError) as exc:  # an answer that breaks the contract
            raise LoanSystemUnavailable(f"lender API answer breaks the contract ({type(exc).__name__})") from None

    def profile(self, borrower_id: str) -> BorrowerProfile:
        path = f"/borrowers/{_seg(borrower_id)}"
        profile: BorrowerProfile = self._call(lambda: BorrowerProfile.from_json(self._read(path)))
        return profile

    def loans(self, borrower_id: str) -> list[Loan]:
        def run() -> list[Loan]:
            body = self._read(f"/borrowers/{_seg(borrower_id)}/loans")
            return [Loan.from_json(item) for item in body["loans"]]

        return self._call(run)  # type: ignore[no-any-return]

    def payoff_quote(self, borrower_id: str, loan_id: str, *, on: date | None = None) -> PayoffQuote:
        params = {"on": on.isoformat()} if on else {}
        path = f"/borrowers/{_seg(borrower_id)}/loans/{_seg(loan_id)}/payoff"
        quote: PayoffQuote = self._call(lambda: PayoffQuote.from_json(self._read(path, params=params)))
        return quote

    def request_letter(
        self, borrower_id: str, loan_id: str, *, kind: LetterKind, idempotency_key: str
    ) -> LetterRequest:
        path = f"/borrowers/{_seg(borrower_id)}/loans/{_seg(loan_id)}/letters"
        letter: LetterRequest = self._call(
            lambda: LetterRequest.from_json(
                self._send("POST", path, json={"kind": kind}, headers={"Idempotency-Key": idempotency_key})
            )
        )
        return letter

    def reminder_accounts(self, *, after: str | None = None, limit: int = 500) -> list[ReminderAccount]:
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after is not None else {})

        def run() -> list[ReminderAccount]:
            body = self._read("/reminder-accounts", params=params)
            return [ReminderAccount.from_json(item) for item in body["accounts"]]

        return self._call(run)  # type: ignore[no-any-return]

    def payments_between(self, *, start: date, end: date, limit: int = 10_000) -> list[PostedPayment]:
        params = {"from": start.isoformat(), "to": end.isoformat(), "limit": limit}

        def run() -> list[PostedPayment]:
            body = self._read("/payments", params=params)
            return [PostedPayment.from_json(item) for item in body["payments"]]

        return self._call(run)  # type: ignore[no-any-return]


def _seg(value: str) -> str:
    """One URL path segment: an id with a `/` or a dot segment must not reach another resource."""
    if value in ("", ".", ".."):
        raise InvalidLoanRequest("an id cannot be empty, '.' or '..'", target_id=value)
    return quote(value, safe="")
