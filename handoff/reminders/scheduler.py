"""The reminder scheduler: the leader's periodic pass (handoff/infra/leader.py), every REMINDER_INTERVAL_S.

One pass reads every open loan from the loan system (a page at a time), plans what is due in one fenced
transaction, then sends what may go out now, one fenced transaction per reminder (`sender.send_one`).
Everything it knows is in the database, so a restart (or a new leader) carries on where the last one
stopped; a pass that breaks off (a crash, the loan system down, leadership lost) leaves nothing half-sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.infra.leader import LostLeadership
from handoff.loans.system import LoanSystem, LoanSystemError
from handoff.loans.types import ReminderAccount
from handoff.reminders import planner, sender
from handoff.services import Services
from knowledge_base.reminder_templates import ReminderTemplates

log = logging.getLogger(__name__)

PAGE = 500
PLAN_ATTEMPTS = 3
Fence = Callable[[Session], None]


@dataclass
class PassReport:
    accounts: int = 0
    planned: int = 0
    cancelled: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def all_accounts(system: LoanSystem, *, page: int = PAGE) -> list[ReminderAccount]:
    found: list[ReminderAccount] = []
    after: str | None = None
    while True:
        batch = system.reminder_accounts(after=after, limit=page)
        found += batch
        if len(batch) < page:
            return found
        after = batch[-1].loan_id


async def run_once(svc: Services, *, templates: ReminderTemplates, fence: Fence | None = None) -> PassReport:
    """One pass: plan, then send everything due now."""
    report = PassReport()
    accounts = await svc.loan_call(all_accounts)
    report.accounts = len(accounts)

    def plan(session: Session) -> planner.PlanReport:
        if fence is not None:
            fence(session)
        return planner.plan(session, accounts=accounts, now=svc.clock.now(), settings=svc.reminders)

    for attempt in range(PLAN_ATTEMPTS):
        try:
            planned = await svc.db(plan)
            break
        except IntegrityError:  # another planner stored one of these keys meanwhile: plan again without it
            if attempt == PLAN_ATTEMPTS - 1:
                raise
            log.info("reminder keys planned concurrently by another scheduler; planning again")
    report.planned, report.cancelled = planned.planned, planned.cancelled
    await send_due(svc, templates=templates, fence=fence, report=report)
    return report


async def send_due(svc: Services, *, templates: ReminderTemplates, fence: Fence | None = None,
                   report: PassReport | None = None) -> PassReport:
    report = report or PassReport()
    while True:
        ids = await svc.db(lambda s: sender.due_ids(s, now=svc.clock.now(), limit=svc.reminders.REMINDER_BATCH),
                           write=False)
        if not ids:
            return report
        for reminder_id in ids:
            def send(session: Session, reminder_id: int = reminder_id) -> str:
                return sender.send_one(session, reminder_id=reminder_id, now=svc.clock.now(), settings=svc.reminders,
                                       gateway=svc.notifier, templates=templates, clock=svc.clock, fence=fence)

            report.outcomes[await svc.db(send)] += 1
        if len(ids) < svc.reminders.REMINDER_BATCH:
            return report


async def run_forever(svc: Services, *, templates: ReminderTemplates, fence: Fence | None = None) -> None:
    passes = svc.metrics.periodic_passes
    while True:
        try:
            report = await run_once(svc, templates=templates, fence=fence)
            passes.labels(job="reminders", result="ok").inc()
            if report.planned or report.outcomes:
                log.info("reminders: %s planned, %s cancelled, %s", report.planned, report.cancelled,
                         dict(report.outcomes))
        except (asyncio.CancelledError, LostLeadership):
            raise
        except (LoanSystemError, *DATABASE_DOWN_ERRORS) as exc:
            passes.labels(job="reminders", result="skipped").inc()
            log.warning("reminder pass skipped: %s unavailable (%s)", "loan system" if isinstance(
                exc, LoanSystemError) else "database", type(exc).__name__)
        except Exception:  # one bad pass must not stop the reminders; the next one retries
            passes.labels(job="reminders", result="failed").inc()
            log.exception("reminder pass failed")
        await asyncio.sleep(svc.reminders.REMINDER_INTERVAL_S)


def describe(report: PassReport) -> dict[str, Any]:
    return {"accounts": report.accounts, "planned": report.planned, "cancelled": report.cancelled,
            **dict(report.outcomes)}
