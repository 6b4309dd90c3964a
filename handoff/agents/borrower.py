"""The verified borrower behind a chat, for the agent who may view that chat: the profile snapshot from
sign-in, the loans as the loan system shows them now (numbers masked), and their other conversations.

Authorisation is the chat's (`handoff.agents.chat.can_view`): an agent sees loan data only for chats
they hold, chats waiting in their languages, chats they finished, or any chat as a supervisor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from handoff.agents import chat
from handoff.conversations.records import get_conversation
from handoff.identity.links import past_conversations
from handoff.loans.system import BorrowerNotFound, LoanSystemUnavailable
from handoff.models import Agent
from handoff.services import Services


def _who(session: Session, *, conversation_id: str, agent: Agent) -> tuple[str | None, dict[str, Any] | None]:
    chat.can_view(session, conversation_id=conversation_id, agent=agent)
    conversation = get_conversation(session, conversation_id=conversation_id)
    return conversation.borrower_id, conversation.borrower_profile


async def borrower_view(svc: Services, *, conversation_id: str, agent: Agent) -> dict[str, Any]:
    borrower_id, profile = await svc.db(lambda s: _who(s, conversation_id=conversation_id, agent=agent), write=False)
    if borrower_id is None:
        return {"verified": False}
    loans: list[dict[str, Any]] | None
    try:
        loans = [loan.to_json() for loan in await svc.loan_call(lambda system: system.loans(borrower_id))]
        available = True
    except BorrowerNotFound:
        loans, available = [], True
    except LoanSystemUnavailable:
        loans, available = None, False
    past = await svc.db(
        lambda s: past_conversations(s, borrower_id=borrower_id, exclude=conversation_id), write=False
    )
    return {
        "verified": True, "borrower_id": borrower_id, "profile": profile, "loan_system_available": available,
        "loans": loans, "past_conversations": past,
    }
