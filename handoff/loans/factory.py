"""The loan-system adapter the settings ask for (LOAN_SYSTEM), built once by the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from handoff.config import Settings
from handoff.infra import db
from handoff.loans.http_adapter import HttpLoanSystem
from handoff.loans.reference import ReferenceLoanSystem
from handoff.loans.system import LoanSystem


def make_loan_system(settings: Settings, engine: Engine) -> tuple[LoanSystem, Callable[[], None]]:
    """The adapter and how to release what it holds (an HTTP client, an engine of its own)."""
    if settings.LOAN_SYSTEM == "http":
        if not settings.LOAN_API_URL:
            raise ValueError("LOAN_SYSTEM=http needs LOAN_API_URL")
        adapter = HttpLoanSystem(
            base_url=settings.LOAN_API_URL, api_key=settings.LOAN_API_KEY, timeout_s=settings.LOAN_API_TIMEOUT_S,
            read_attempts=settings.LOAN_API_READ_ATTEMPTS, breaker_fail_max=settings.LOAN_BREAKER_FAIL_MAX,
            breaker_reset_s=settings.LOAN_BREAKER_RESET_S,
        )
        return adapter, adapter.close
    if settings.LOAN_DATABASE_URL and settings.LOAN_DATABASE_URL != settings.DATABASE_URL:
        own = db.make_engine(settings.LOAN_DATABASE_URL)
        return ReferenceLoanSystem(own), own.dispose
    return ReferenceLoanSystem(engine), lambda: None
