"""The satisfaction survey after an agent closed the chat: 1-5 and an optional comment, once, optional.

It is offered only when a person held the chat and closed it (not when the chat went back to the bot, nor
when the borrower left the queue); the rating is counted for the agent who held it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.conversations.records import get_conversation
from handoff.errors import ConflictError, InvalidInputError
from handoff.masking import MaskPolicy, mask_text
from handoff.models import QueueEntry, SurveyResponse
from handoff.states import ConversationState, QueueStatus

RATINGS: Final = range(1, 6)
MAX_COMMENT_CHARS: Final = 1000


def _closing_entry(session: Session, *, conversation_id: str) -> QueueEntry | None:
    """The queue entry an agent closed the conversation from, if the conversation is closed that way."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.state != ConversationState.CLOSED:
        return None
    return session.scalars(
        select(QueueEntry)
        .where(
            QueueEntry.conversation_id == conversation_id,
            QueueEntry.status == QueueStatus.DONE,
            QueueEntry.assigned_agent_id.is_not(None),
            QueueEntry.resolution_code.is_not(None),
        )
        .order_by(QueueEntry.id.desc())
        .limit(1)
    ).first()


def survey_view(session: Session, *, conversation_id: str) -> dict[str, Any]:
    """`offered`: the page may ask; `answered`: the borrower already did (the rating is echoed back)."""
    answer = session.scalars(select(SurveyResponse).where(SurveyResponse.conversation_id == conversation_id)).first()
    offered = _closing_entry(session, conversation_id=conversation_id) is not None
    return {"offered": offered, "answered": answer is not None, "rating": answer.rating if answer else None}


def submit(
    session: Session, *, conversation_id: str, rating: int, comment: str, policy: MaskPolicy, now: datetime
) -> dict[str, Any]:
    """Store the borrower's rating (comment masked). ConflictError when no survey is open."""
    if rating not in RATINGS:
        raise InvalidInputError("rating: must be 1 to 5", target_id=conversation_id)
    entry = _closing_entry(session, conversation_id=conversation_id)
    if entry is None:
        raise ConflictError("a survey is offered only after an agent closed the chat", target_id=conversation_id)
    if session.scalars(select(SurveyResponse.id).where(SurveyResponse.conversation_id == conversation_id)).first():
        raise ConflictError("this chat has already been rated", target_id=conversation_id)
    conversation = get_conversation(session, conversation_id=conversation_id)
    session.add(SurveyResponse(
        conversation_id=conversation_id, queue_entry_id=entry.id, agent_id=entry.assigned_agent_id, rating=rating,
        comment=mask_text(comment.strip()[:MAX_COMMENT_CHARS], policy), lang=conversation.lang, at=now,
    ))
    audit.record(
        session, actor_type="borrower", actor_id=None, conversation_id=conversation_id, action="survey",
        detail={"rating": rating, "agent_id": entry.assigned_agent_id},
    )
    return {"offered": True, "answered": True, "rating": rating}
