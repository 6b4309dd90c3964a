"""Response shapes of the borrower API (documented in OpenAPI for mobile-app developers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class MessageOut(BaseModel):
    seq: int = Field(description="per-conversation sequence number, gap-free, starting at 1")
    sender: str = Field(description="borrower | bot | agent | system")
    text: str
    payload: dict[str, Any] | None = Field(
        None, description='{"buttons": [{title, payload, action?}], "custom": {type: faq_answer|...}}'
    )
    created_at: str | None = None
    agent_name: str | None = None
    client_message_id: str | None = None


class ConversationView(BaseModel):
    id: str
    lang: str
    state: str = Field(description="bot | queued | assigned | closed")
    last_seq: int
    queue_position: int | None = Field(None, description="1-based place among waiting chats, while queued")
    estimated_wait_s: int | None = None
    waiting_s: int | None = Field(None, description="seconds waited so far, while queued")
    agent_name: str | None = None
    callback_offer_after_s: int = Field(description="offer a callback request after waiting this long")
    max_message_chars: int


class TurnResult(ConversationView):
    messages: list[MessageOut] = Field(description="the stored messages of this turn, in order")


class MessagesPage(ConversationView):
    messages: list[MessageOut]


class CallbackOut(ConversationView):
    ticket_id: int
    contact_method: str
    contact: str = Field(description="masked contact as stored")
    preferred_time: str
