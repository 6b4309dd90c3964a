"""The lender's gateway calls back: a borrower's reply by SMS, push or WeChat to a notification
(`handoff.borrower.gateway_replies`). Signed as the notifications are (`handoff.infra.notifier`):
HMAC-SHA256(NOTIFY_GATEWAY_SECRET, f"{timestamp}." + body) in X-Handoff-Signature, the timestamp in
X-Handoff-Timestamp, at most MAX_SKEW_S old or ahead. Not there (404) while no gateway is configured."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handoff.api.deps import ServicesDep
from handoff.api.errors import error_responses
from handoff.api.schemas.messages import MAX_ACCEPTED_CHARS, BorrowerMessageIn, StorableText
from handoff.borrower.gateway_replies import CHANNELS, GatewayReply, answer_reply
from handoff.errors import InvalidInputError, NotFoundError, UnauthorizedError
from handoff.infra.notifier import verify_signature

router = APIRouter(prefix="/api/gateway", tags=["gateway"], responses=error_responses(401, 404, 409, 422, 429))
MAX_SKEW_S = 300


class GatewayReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    in_reply_to: int = Field(ge=1, le=2**63 - 1, description="the X-Handoff-Delivery id of the notification answered")
    message_id: str = Field(min_length=1, max_length=200, description="the gateway's id of the borrower's message; "
                            "a redelivery with the same id gets the first answer again")
    channel: str = Field(pattern="^(" + "|".join(CHANNELS) + ")$")
    text: StorableText = Field(max_length=MAX_ACCEPTED_CHARS)


class GatewayAnswer(BaseModel):
    seq: int
    sender: str = Field(description="bot | system | agent")
    text: str = Field(description="markdown (bot) or plain text; send it on the borrower's channel")
    buttons: list[str] = Field(description="titles of the quick replies the bot offered")


class GatewayReplyOut(BaseModel):
    conversation_id: str
    state: str = Field(description="bot | queued | assigned")
    lang: str
    replies: list[GatewayAnswer] = Field(description="what to send back to the borrower, in order")


# The body is read raw (the signature covers its bytes), so its schema is given to the OpenAPI document here.
BODY_SCHEMA = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": GatewayReplyIn.model_json_schema()}}}}


@router.post("/replies", response_model=GatewayReplyOut, openapi_extra=BODY_SCHEMA)
async def gateway_reply(
    svc: ServicesDep, request: Request,
    x_handoff_timestamp: Annotated[str, Header()] = "",
    x_handoff_signature: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """A borrower's reply to a notification, into the chat; the bot's answer comes back to send on."""
    secret = svc.notifier.NOTIFY_GATEWAY_SECRET
    if not svc.notifier.NOTIFY_GATEWAY_URL or not secret:
        raise NotFoundError("no notification gateway is configured on this service (NOTIFY_GATEWAY_URL)")
    body = await request.body()
    if not verify_signature(secret, x_handoff_timestamp, body, x_handoff_signature):
        raise UnauthorizedError("missing or wrong X-Handoff-Signature")
    if abs(svc.clock.now().timestamp() - int(x_handoff_timestamp)) > MAX_SKEW_S:
        raise UnauthorizedError(f"X-Handoff-Timestamp is more than {MAX_SKEW_S} s away from now")
    try:
        parsed = GatewayReplyIn.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInputError(f"not a gateway reply: {exc.errors()[0]['msg']}") from None
    text = BorrowerMessageIn(text=parsed.text).checked_text(max_chars=svc.settings.MAX_MESSAGE_CHARS)
    reply = GatewayReply(notification_id=parsed.in_reply_to, message_id=parsed.message_id, channel=parsed.channel,
                         text=text)
    return await answer_reply(svc, reply=reply)
