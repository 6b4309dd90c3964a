"""The borrower API (REST): start a conversation, send and read messages, ask for a person,
leave the queue, ask for a callback. The chat page and mobile apps use exactly these routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from contract.codes import HandoffReason
from handoff.api.deps import ClientAddr, ConversationDep, ServicesDep
from handoff.api.errors import error_responses
from handoff.api.schemas.borrower import CallbackOut, ConversationView, MessagesPage, TurnResult
from handoff.api.schemas.identity import SignedIn
from handoff.api.schemas.messages import BorrowerMessageIn
from handoff.borrower import presence, turns, views, waiting
from handoff.conversations.records import LANGS, create_conversation, get_conversation, messages_after
from handoff.identity import signin
from handoff.reminders import sender

router = APIRouter(
    prefix="/api/conversations",
    tags=["borrower"],
    responses=error_responses(401, 403, 404, 409, 413, 422, 429),
)

MAX_SEQ = 2**31 - 1  # a 32-bit INTEGER column on every database


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationIn(Strict):
    lang: Literal["en", "zh"] = "en"
    channel: Literal["web", "app"] = "web"
    identity_token: str | None = Field(
        None, min_length=1, max_length=4096,
        description="the lender's identity token for a signed-in borrower (docs/borrower-api.md); omit it "
        "for the anonymous chat",
    )


class ConversationCreated(BaseModel):
    id: str
    token: str = Field(description="Bearer token for this conversation only; shown once")
    lang: str
    state: str
    last_seq: int
    callback_offer_after_s: int
    identity: SignedIn | None = Field(None, description="set when an identity token signed the borrower in")


class LangIn(Strict):
    lang: Literal["en", "zh"]


class HandoffIn(Strict):
    reason: Literal["explicit_request", "bot_unavailable"] = "explicit_request"


class CallbackIn(Strict):
    contact_method: Literal["phone", "email"]
    contact: str | None = Field(
        None, min_length=3, max_length=128, description="omit it to use a signed-in borrower's contact on file"
    )
    preferred_time: str = Field("", max_length=128)


@router.post("", status_code=201, response_model=ConversationCreated)
async def start_conversation(
    svc: ServicesDep, addr: ClientAddr, body: ConversationIn | None = None
) -> dict[str, Any]:
    body = body or ConversationIn()
    claim_profile = await signin.check_token(svc, body.identity_token) if body.identity_token else None

    def work(session: Any) -> tuple[dict[str, Any], str]:
        conversation, token = create_conversation(
            session,
            secret_key=svc.settings.SECRET_KEY,
            lang=body.lang,
            channel=body.channel,
            client_addr=addr,
        )
        identity = None
        if claim_profile is not None:
            session.flush()
            claim, profile = claim_profile
            identity = signin.link_in_session(
                session, svc, conversation_id=conversation.id, claim=claim, profile=profile
            )
            if svc.reminder_templates is not None:  # reminders that were waiting for a conversation
                sender.deliver_pending(session, borrower_id=claim.borrower_id, conversation_id=conversation.id,
                                       now=svc.clock.now(), templates=svc.reminder_templates)
        return {
            "id": conversation.id,
            "token": token,
            "lang": conversation.lang,
            "state": conversation.state,
            "last_seq": 0,
            "callback_offer_after_s": svc.settings.CALLBACK_OFFER_AFTER_S,
            "identity": identity,
        }, conversation.token_hash

    created, token_hash = await svc.db(work)
    svc.token_hashes.put(created["id"], token_hash)  # its first message needs no database read to check the token
    return created


@router.get("/{conversation_id}", response_model=ConversationView)
async def get_conversation_view(svc: ServicesDep, conversation: ConversationDep) -> dict[str, Any]:
    view = await waiting.view(svc, conversation_id=conversation.id)
    await presence.seen(svc, conversation_id=conversation.id, state=view["state"])
    return view


@router.patch("/{conversation_id}", response_model=ConversationView)
async def set_language(svc: ServicesDep, conversation: ConversationDep, body: LangIn) -> dict[str, Any]:
    """Switch the conversation's language (bot answers and system messages follow it)."""
    assert body.lang in LANGS

    def work(session: Any) -> None:
        get_conversation(session, conversation_id=conversation.id).lang = body.lang

    await svc.db(work)
    return await waiting.view(svc, conversation_id=conversation.id)


@router.post("/{conversation_id}/messages", response_model=TurnResult)
async def send_message(
    svc: ServicesDep, conversation: ConversationDep, body: BorrowerMessageIn
) -> dict[str, Any]:
    text = body.checked_text(max_chars=svc.settings.MAX_MESSAGE_CHARS)
    await svc.limiter.hit(
        f"conversation:{conversation.id}",
        limit=svc.settings.RATE_LIMIT_CONVERSATION_PER_MIN,
        what="conversation",
    )
    return await turns.borrower_message(
        svc, conversation_id=conversation.id, text=text, client_message_id=body.client_message_id
    )


@router.get("/{conversation_id}/messages", response_model=MessagesPage)
async def list_messages(
    svc: ServicesDep,
    conversation: ConversationDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="return messages with seq greater than this")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        current = get_conversation(session, conversation_id=conversation.id)
        messages = messages_after(session, conversation_id=conversation.id, after=after, limit=limit)
        view = views.conversation_view(session, conversation=current, clock=svc.clock, settings=svc.settings)
        return {"messages": messages, **view}

    page = await svc.db(work, write=False)
    await presence.seen(svc, conversation_id=conversation.id, state=page["state"])
    return page


@router.post("/{conversation_id}/handoff", response_model=ConversationView)
async def talk_to_a_person(
    svc: ServicesDep, conversation: ConversationDep, body: HandoffIn | None = None
) -> dict[str, Any]:
    reason = (body or HandoffIn()).reason
    return await waiting.request_person(
        svc, conversation_id=conversation.id, reason=str(HandoffReason(reason))
    )


@router.post("/{conversation_id}/leave-queue", response_model=ConversationView)
async def leave_queue(svc: ServicesDep, conversation: ConversationDep) -> dict[str, Any]:
    return await waiting.leave_queue(svc, conversation_id=conversation.id)


@router.post("/{conversation_id}/callback", status_code=201, response_model=CallbackOut)
async def request_callback(
    svc: ServicesDep, conversation: ConversationDep, body: CallbackIn
) -> dict[str, Any]:
    return await waiting.request_callback(
        svc,
        conversation_id=conversation.id,
        contact_method=body.contact_method,
        contact=body.contact,
        preferred_time=body.preferred_time,
    )
