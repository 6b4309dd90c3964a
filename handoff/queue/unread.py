"""What an agent has not read yet in the chats they hold: the unread count and a preview of the last
borrower message per held chat, the read mark the console moves, and the `chat_activity` event a borrower
message in a held chat raises for its holder only (`for_agent_id`; the agent WebSocket filters on it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.infra.bus import AGENTS_TOPIC
from handoff.infra.outbox import publish_after_commit
from handoff.models import Agent, Message, QueueEntry
from handoff.queue import claims
from handoff.states import QueueStatus, Sender

PREVIEW_CHARS = 120


def _unread(session: Session, entry: QueueEntry) -> int:
    return int(session.scalar(
        select(func.count()).select_from(Message).where(
            Message.conversation_id == entry.conversation_id, Message.sender == Sender.BORROWER,
            Message.seq > (entry.agent_read_seq or 0),
        )
    ) or 0)


def _last_borrower_text(session: Session, conversation_id: str) -> str:
    text = session.scalar(
        select(Message.text).where(Message.conversation_id == conversation_id, Message.sender == Sender.BORROWER)
        .order_by(Message.seq.desc()).limit(1)
    )
    return (text or "")[:PREVIEW_CHARS]


def held_summary(session: Session, *, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`entries` (queue views of held chats) with `unread` and `last_message` added."""
    rows = {e.id: e for e in session.scalars(select(QueueEntry).where(QueueEntry.id.in_([x["id"] for x in entries])))}
    return [
        {**item, "unread": _unread(session, rows[item["id"]]),
         "last_message": _last_borrower_text(session, item["conversation_id"])}
        for item in entries if item["id"] in rows
    ]


def mark_read(session: Session, *, conversation_id: str, agent: Agent, seq: int) -> dict[str, Any]:
    """The holder has read the chat up to `seq` (never moves back)."""
    entry = claims.held_entry(session, conversation_id=conversation_id, agent=agent, holder_only=True)
    entry.agent_read_seq = max(entry.agent_read_seq or 0, seq)
    return {"conversation_id": conversation_id, "read_seq": entry.agent_read_seq, "unread": _unread(session, entry)}


def borrower_wrote(session: Session, *, conversation_id: str, message: Message) -> None:
    """Tell the holder (only) that the borrower of a chat they hold wrote - open in the console or not."""
    entry = session.scalars(
        select(QueueEntry).where(QueueEntry.conversation_id == conversation_id,
                                 QueueEntry.status == QueueStatus.ASSIGNED)
    ).first()
    if entry is None or entry.assigned_agent_id is None:
        return
    publish_after_commit(session, AGENTS_TOPIC, {
        "type": "chat_activity", "for_agent_id": entry.assigned_agent_id, "conversation_id": conversation_id,
        "entry_id": entry.id, "seq": message.seq, "preview": message.text[:PREVIEW_CHARS],
        "unread": _unread(session, entry),
    })
