"""Response shapes of the borrower API (documented in OpenAPI for mobile-app developers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class MessageOut(BaseModel):
    seq: int = Field(description="per-conversation sequence number, gap-free, starting at 1")
    sender: str = Field(description="borrower | bot | agent | system")
    text: str
    html: str | None = Field(
        None,
        description="bot messages only: the text's markdown as sanitised HTML (p, strong, em, lists, tables, "
        "links that open in a new tab); show it as HTML, every other message's text as plain text",
    )
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
    opens_at: str | None = Field(
        None, description="while queued outside business hours: when agents are next on shift (ISO 8601)"
    )
    wait_text: str | None = Field(
        None, description="the estimated wait (and the next opening) in the conversation's language"
    )
    business_hours: str = Field("", description="business hours with the time zone in words, in its language")
    callback_offer_after_s: int = Field(description="offer a callback request after waiting this long")
    callback_requested: bool = Field(
        False, description="a callback request is open: do not offer 'Request a callback' again"
    )
    callback_reference: str | None = Field(None, description="the open callback's reference number")
    max_message_chars: int


class TurnResult(ConversationView):
    messages: list[MessageOut] = Field(description="the stored messages of this turn, in order")


class MessagesPage(ConversationView):
    messages: list[MessageOut]


class CallbackOut(ConversationView):
    ticket_id: int
    reference: str | None = Field(None, description="the callback's reference number, for the borrower")
    due_at: str | None = Field(None, description="we call back by then at the latest (ISO 8601)")
    contact_method: str
    contact: str = Field(description="masked contact as stored")
    preferred_time: str
