"""A signed-in borrower's reminder consent per channel (REST, the conversation's token), and - in development
only - a demo trigger that sends a reminder at once."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from handoff.api.deps import ConversationDep, ServicesDep
from handoff.api.errors import error_responses
from handoff.errors import NotFoundError, UnavailableError
from handoff.loans.types import ReminderAccount
from handoff.reminders import consent, demo
from handoff.reminders.scheduler import all_accounts

router = APIRouter(prefix="/api/conversations", tags=["borrower"], responses=error_responses(401, 403, 422))
dev_router = APIRouter(prefix="/api/dev", tags=["development"], responses=error_responses(404, 422))
Channel = Literal["chat", "push", "sms", "wechat"]


class ChannelConsent(BaseModel):
    channel: Channel
    granted: bool = Field(description="reminders go out on this channel")
    changed_at: str | None = Field(description="when the borrower chose (None: the default applies)")
    source: str = Field(description="borrower_api, chat, agent, lender_import, or default")


class ConsentOut(BaseModel):
    borrower_id: str
    channels: list[ChannelConsent]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    granted: bool = Field(description="true: opt in; false: opt out (takes effect for the next reminder)")


def _view(svc: Any, session: Any, borrower_id: str) -> dict[str, Any]:
    return {"borrower_id": borrower_id, "channels": consent.consent_view(
        session, borrower_id=borrower_id, defaults=svc.reminders.default_channels)}


@router.get("/{conversation_id}/reminders/consent", response_model=ConsentOut)
async def reminder_consent(svc: ServicesDep, conversation: ConversationDep) -> dict[str, Any]:
    """Which channels the signed-in borrower gets repayment reminders on (403 before sign-in)."""
    def work(session: Any) -> dict[str, Any]:
        return _view(svc, session, consent.verified_borrower(
            session, conversation_id=conversation.id, now=svc.clock.now(),
            max_age_s=svc.settings.BORROWER_SIGNIN_MAX_AGE_S,
        ))
    return await svc.db(work, write=False)


@router.put("/{conversation_id}/reminders/consent/{channel}", response_model=ConsentOut)
async def set_reminder_consent(svc: ServicesDep, conversation: ConversationDep, channel: Channel,
                               body: ConsentIn) -> dict[str, Any]:
    """Opt in or out of one channel; stored with the time and `borrower_api` as its source."""
    def work(session: Any) -> dict[str, Any]:
        borrower_id = consent.verified_borrower(
            session, conversation_id=conversation.id, now=svc.clock.now(),
            max_age_s=svc.settings.BORROWER_SIGNIN_MAX_AGE_S,
        )
        consent.set_consent(session, borrower_id=borrower_id, channel=channel, granted=body.granted,
                            source="borrower_api", now=svc.clock.now())
        return _view(svc, session, borrower_id)
    return await svc.db(work)


class DemoReminderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    borrower_id: str = Field(min_length=1, max_length=64, examples=["demo-alex"])
    kind: str = Field("due_soon", examples=["due_soon", "missed_1"])


@dev_router.post("/reminders", status_code=201, include_in_schema=False)
async def demo_reminder(svc: ServicesDep, body: DemoReminderIn) -> dict[str, Any]:
    """Development only (IDENTITY_DEMO or REMINDER_DEMO_TRIGGER): send the borrower a reminder now."""
    if not (svc.settings.identity_demo or svc.reminders.REMINDER_DEMO_TRIGGER) or svc.settings.APP_ENV == "production":
        raise NotFoundError("the demo reminder trigger is off on this service")
    templates = svc.reminder_templates
    if templates is None:
        raise UnavailableError("reminder templates are not loaded")
    accounts: list[ReminderAccount] = [a for a in await svc.loan_call(all_accounts) if a.borrower_id == body.borrower_id]
    if not accounts:
        raise NotFoundError("this borrower has no open loan", target_id=body.borrower_id)
    reminder_id = await svc.db(lambda s: demo.send_demo(
        s, account=accounts[0], kind=body.kind, now=svc.clock.now(), settings=svc.reminders, gateway=svc.notifier,
        templates=templates, clock=svc.clock))
    return {"reminder_id": reminder_id}
