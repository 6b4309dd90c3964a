"""Response shapes of borrower sign-in (handoff/api/routes/identity.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PastConversation(BaseModel):
    id: str
    state: str
    lang: str
    channel: str
    created_at: str
    updated_at: str


class SignedIn(BaseModel):
    verified: bool
    borrower_id: str
    name: str | None = Field(None, description="the borrower's name on file, to greet them")
    past_conversations: list[PastConversation]


class SignInStatus(BaseModel):
    verified: bool
    borrower_id: str | None = Field(None, description="the signed-in borrower (null before sign-in)")
    name: str | None = Field(None, description="the borrower's name on file, to greet them")
    expired: bool = Field(
        False, description="signed in earlier, longer ago than BORROWER_SIGNIN_MAX_AGE_S: sign in again to see "
        "loans and reminder settings",
    )


class Resumed(BaseModel):
    id: str
    token: str = Field(description="bearer token of the resumed conversation for this device; shown once")
    lang: str
    state: str
    verified: bool
    borrower_id: str
    name: str | None = Field(None, description="the borrower's name on file, to greet them")
