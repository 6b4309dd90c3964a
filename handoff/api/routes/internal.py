"""Internal API of the action server (not for browsers, not in the OpenAPI document): the verified
borrower's own account data for a bot answer. Authenticated with INTERNAL_API_TOKEN (X-Internal-Token);
only the conversation id travels, so Rasa and the action server never choose whose loan is read."""

from __future__ import annotations

import hmac
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path
from pydantic import BaseModel, ConfigDict

from handoff.api.deps import ServicesDep
from handoff.borrower import account
from handoff.errors import UnauthorizedError, UnavailableError


async def internal_caller(
    svc: ServicesDep, x_internal_token: Annotated[str | None, Header()] = None
) -> None:
    if not svc.settings.internal_api_enabled:
        raise UnavailableError("the internal API is off: set INTERNAL_API_TOKEN")
    if not hmac.compare_digest((x_internal_token or "").encode(), svc.settings.INTERNAL_API_TOKEN.encode()):
        raise UnauthorizedError("missing or wrong X-Internal-Token")


router = APIRouter(prefix="/internal", include_in_schema=False, dependencies=[Depends(internal_caller)])
ConversationId = Annotated[str, Path(min_length=1, max_length=64)]


class LetterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["payoff", "paid_in_full"]
    loan_id: str | None = None


@router.get("/conversations/{conversation_id}/account")
async def conversation_account(
    svc: ServicesDep, conversation_id: ConversationId, payoff_on: date | None = None
) -> dict[str, Any]:
    return await account.account_for_bot(svc, conversation_id=conversation_id, payoff_on=payoff_on)


@router.post("/conversations/{conversation_id}/letters")
async def conversation_letter(svc: ServicesDep, conversation_id: ConversationId, body: LetterIn) -> dict[str, Any]:
    return await account.letter_for_bot(svc, conversation_id=conversation_id, kind=body.kind, loan_id=body.loan_id)
