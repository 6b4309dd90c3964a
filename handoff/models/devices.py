"""Push devices: the app installs a borrower registered for live-chat pushes (handoff.conversations.devices)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from handoff.models.base import Base, new_id, utcnow


class PushDevice(Base):
    """An app install that takes pushes for a conversation (and, once signed in, for the borrower's other
    chats). The push token is encrypted at rest (`SecretBox`); `token_hash` finds a re-registration."""

    __tablename__ = "push_devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    borrower_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    platform: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[str] = mapped_column(Text)
    token_hint: Mapped[str] = mapped_column(String(16))  # the masked form logs and answers show
    app_version: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)  # None: the conversation's language
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
