"""The borrower's satisfaction survey after an agent closed the chat (REST, the conversation's token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from handoff.api.deps import ConversationDep, ServicesDep
from handoff.api.errors import error_responses
from handoff.borrower import survey

router = APIRouter(prefix="/api/conversations", tags=["borrower"], responses=error_responses(401, 403, 409, 422))


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field("", max_length=survey.MAX_COMMENT_CHARS, description="optional; masked before storage")


class SurveyOut(BaseModel):
    offered: bool = Field(description="an agent closed this chat, so the page may ask for a rating")
    answered: bool
    rating: int | None


@router.get("/{conversation_id}/survey", response_model=SurveyOut)
async def survey_state(svc: ServicesDep, conversation: ConversationDep) -> dict[str, Any]:
    return await svc.db(lambda s: survey.survey_view(s, conversation_id=conversation.id), write=False)


@router.post("/{conversation_id}/survey", status_code=201, response_model=SurveyOut)
async def rate_chat(svc: ServicesDep, conversation: ConversationDep, body: SurveyIn) -> dict[str, Any]:
    return await svc.db(lambda s: survey.submit(
        s, conversation_id=conversation.id, rating=body.rating, comment=body.comment, policy=svc.mask_policy,
        now=svc.clock.now(),
    ))
