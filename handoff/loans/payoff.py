"""Payoff arithmetic of the reference loan system: simple daily interest on the principal (actual/365)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
DAYS_IN_YEAR = Decimal(365)


def per_diem(principal: Decimal, annual_rate_percent: Decimal) -> Decimal:
    """Interest one day adds, to the cent."""
    return (principal * annual_rate_percent / Decimal(100) / DAYS_IN_YEAR).quantize(CENT, ROUND_HALF_UP)


def payoff_amount(
    *, principal: Decimal, annual_rate_percent: Decimal, fees: Decimal, interest_paid_to: date, on: date
) -> Decimal:
    """Principal + fees + interest accrued from `interest_paid_to` up to `on` (none before it)."""
    days = max(0, (on - interest_paid_to).days)
    interest = principal * annual_rate_percent / Decimal(100) / DAYS_IN_YEAR * days
    return (principal + fees + interest).quantize(CENT, ROUND_HALF_UP)
