"""The client -> server frames of both WebSockets, validated like request bodies.

A `message` frame is the REST body of the same send plus `type` (and, on the agent socket,
`conversation_id`): `handoff.api.schemas.messages` holds the one validation both use. Unknown keys
are ignored, so an older or newer client keeps working; wrong values are an `invalid_input` frame.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handoff.api.ids import MAX_DB_INT
from handoff.api.schemas.messages import AgentMessageIn, BorrowerMessageIn
from handoff.errors import InvalidInputError

ConversationId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SeqNumber = Annotated[int, Field(ge=0, le=MAX_DB_INT)]


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str


class BorrowerMessageFrame(BorrowerMessageIn, Frame):
    model_config = ConfigDict(extra="ignore")
    type: Literal["message"]


class TypingFrame(Frame):
    type: Literal["typing"]
    on: bool = False


class ChatFrame(Frame):
    """A frame about one chat on the agent socket."""

    conversation_id: ConversationId


class WatchFrame(ChatFrame):
    type: Literal["watch"]
    after: SeqNumber = Field(0, description="stream the messages after this seq")


class AgentMessageFrame(AgentMessageIn, ChatFrame):
    model_config = ConfigDict(extra="ignore")
    type: Literal["message"]


class AgentTypingFrame(ChatFrame):
    type: Literal["typing"]
    on: bool = False


F = TypeVar("F", bound=BaseModel)


def parse_frame(model: type[F], frame: dict[str, Any]) -> F:
    """`frame` as `model`, or InvalidInputError naming the fields that are wrong."""
    try:
        return model.model_validate(frame)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(p) for p in err.get('loc', ())) or 'frame'}: {err.get('msg', 'invalid')}"
            for err in exc.errors()[:5]
        ]
        raise InvalidInputError("; ".join(parts)) from None
