"""What a sent message must look like: one validation for the REST routes and the WebSocket frames.

The borrower's `POST /api/conversations/{id}/messages` and `message` frame share `BorrowerMessageIn`;
the agent's `POST /api/agent/conversations/{id}/messages` and `message` frame share `AgentMessageIn`.
Text must be storable on every database: no NUL character (PostgreSQL refuses it in text columns)
and no unpaired surrogate (it cannot be encoded as UTF-8), so such input is a clear 422 / error
frame instead of a failure deep in the database driver.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from handoff.agents.chat import MAX_TEXT_CHARS
from handoff.errors import InvalidInputError, MessageTooLongError

MAX_ACCEPTED_CHARS = 100_000  # anything longer is cut off by the body limit before validation
CLIENT_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"


def storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds an unpaired surrogate)") from None
    return text


StorableText = Annotated[str, AfterValidator(storable)]
ClientMessageId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=CLIENT_MESSAGE_ID_PATTERN,
        description="client-chosen id; sending the same id again returns the first result",
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BorrowerMessageIn(Strict):
    text: StorableText = Field(max_length=MAX_ACCEPTED_CHARS)
    client_message_id: ClientMessageId | None = None

    def checked_text(self, *, max_chars: int) -> str:
        """The text as stored: trimmed, not empty, at most `max_chars` (MAX_MESSAGE_CHARS) long."""
        text = self.text.strip()
        if not text:
            raise InvalidInputError("text: a message cannot be empty")
        if len(text) > max_chars:
            raise MessageTooLongError(f"text: a message can be at most {max_chars} characters (got {len(text)})")
        return text


class AgentMessageIn(Strict):
    text: StorableText = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    client_message_id: ClientMessageId | None = None
