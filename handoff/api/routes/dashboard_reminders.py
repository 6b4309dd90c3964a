"""The dashboard's repayment-reminder figures (supervisors and admins), apart from the main overview so that
a slow or unavailable loan system never holds up the rest of the dashboard."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from handoff.analytics import dashboard
from handoff.analytics.reminders import reminder_figures
from handoff.api.deps import ServicesDep
from handoff.api.deps_agent import SupervisorDep
from handoff.api.errors import error_responses
from handoff.loans.system import LoanSystemError
from handoff.loans.types import PostedPayment

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/agent/dashboard", tags=["dashboard"], responses=error_responses(401, 403, 422))

From = Annotated[date | None, Query(alias="from", description="first day (business time zone); default 7 days ago")]
To = Annotated[date | None, Query(alias="to", description="last day, inclusive; default today")]


@router.get("/reminders")
async def reminders(svc: ServicesDep, _sup: SupervisorDep, start: From = None, end: To = None,
                    lang: Annotated[Literal["en", "zh"] | None, Query()] = None) -> dict[str, Any]:
    """Reminders sent, delivered, failed, replied to, and followed by a payment within
    REMINDER_PAYMENT_WINDOW_DAYS (payments read from the loan system)."""
    tz = svc.settings.BUSINESS_TZ
    today = svc.clock.now().astimezone(ZoneInfo(tz)).date()
    filters = dashboard.make_filters(start=start, end=end, lang=lang, channel=None, tz=tz, today=today)
    window = svc.reminders.REMINDER_PAYMENT_WINDOW_DAYS
    first = filters.start.date() - timedelta(days=1)
    last = filters.end.date() + timedelta(days=window + 1)
    payments: list[PostedPayment] | None
    try:
        payments = await svc.loan_call(lambda system: system.payments_between(start=first, end=last))
    except LoanSystemError as exc:
        log.warning("dashboard: payments unavailable (%s)", exc.code)
        payments = None
    return await svc.db(lambda s: reminder_figures(s, filters=filters, payments=payments, window_days=window),
                        write=False)
