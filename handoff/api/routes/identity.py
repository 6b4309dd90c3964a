"""Borrower sign-in: the lender's identity token links a conversation to the borrower (at the start, or
later: sign-in mid-chat), resumes the latest conversation on another device, and - in development
only - the demo sign-in with fictional borrowers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from handoff.api.deps import ClientAddr, ConversationDep, ServicesDep
from handoff.api.errors import error_responses
from handoff.api.schemas.identity import Resumed, SignedIn, SignInStatus
from handoff.identity import demo, signin
from handoff.reminders import sender

router = APIRouter(tags=["borrower identity"], responses=error_responses(401, 403, 404, 409, 422, 429))
TOKEN_CHARS = 4096


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=TOKEN_CHARS, description="the lender's identity token (JWT, HS256)")


class DemoTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    borrower_id: str = Field(min_length=1, max_length=64)


@router.post("/api/conversations/{conversation_id}/identity", response_model=SignedIn)
async def sign_in(svc: ServicesDep, conversation: ConversationDep, body: IdentityIn) -> dict[str, Any]:
    """Sign in mid-chat: from now on the bot answers questions about the borrower's own loans, and repayment
    reminders that found no open conversation of the borrower's appear in this one."""
    signed_in = await signin.sign_in(svc, conversation_id=conversation.id, token=body.token)
    templates = svc.reminder_templates
    if templates is not None:
        await svc.db(lambda s: sender.deliver_pending(s, borrower_id=signed_in["borrower_id"],
                                                      conversation_id=conversation.id, now=svc.clock.now(),
                                                      templates=templates))
    return signed_in


@router.get("/api/conversations/{conversation_id}/identity", response_model=SignInStatus)
async def sign_in_status(svc: ServicesDep, conversation: ConversationDep) -> dict[str, Any]:
    """Whether this conversation is signed in and as whom (a reloaded page shows it again; the service
    decides, the page stores no identity token)."""
    return await svc.db(lambda s: signin.sign_in_status(s, svc, conversation_id=conversation.id), write=False)


@router.post("/api/identity/resume", response_model=Resumed)
async def resume(svc: ServicesDep, _addr: ClientAddr, body: IdentityIn) -> dict[str, Any]:
    """Continue the borrower's latest open conversation on this device, with its history (404 when there is
    none: the token is then still good for signing in the conversation the page has)."""
    return await signin.resume(svc, token=body.token)


@router.get("/api/identity/demo")
async def demo_borrowers(svc: ServicesDep) -> dict[str, Any]:
    """Development only: the fictional borrowers of the demo sign-in (404 when it is off)."""
    return {"borrowers": demo.demo_borrowers(svc.settings)}


@router.post("/api/identity/demo/token")
async def demo_token(svc: ServicesDep, _addr: ClientAddr, body: DemoTokenIn) -> dict[str, Any]:
    """Development only: an identity token for a demo borrower, as the lender's site would issue it."""
    return demo.demo_token(svc.settings, borrower_id=body.borrower_id, now=svc.clock.now())
