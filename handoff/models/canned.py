"""Canned replies: the texts agents insert from the console (handoff.agents.canned)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from handoff.models.base import Base, utcnow


class CannedReply(Base):
    """A reply agents insert from the console, written by supervisors in both languages: the agent gets the
    text in the chat's language (`handoff/agents/canned.py`)."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    title_en: Mapped[str] = mapped_column(String(80))
    title_zh: Mapped[str] = mapped_column(String(80))
    text_en: Mapped[str] = mapped_column(Text)
    text_zh: Mapped[str] = mapped_column(Text)
    updated_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
