"""What the console lists beside each queue entry: a preview of the chat's last message and, for the
chats the viewing agent holds, the borrower messages that nobody has answered yet.

The console counts as unread those unanswered messages it has not shown; it keeps what it has shown
itself, so the service stores no read marks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from handoff.infra.clock import as_utc
from handoff.models import Message
from handoff.states import Sender

PREVIEW_CHARS = 140
MAX_UNANSWERED = 99  # the badge says 99 at most; older ones add nothing


def _preview(message: Message) -> dict[str, Any]:
    text = " ".join(message.text.split())
    return {
        "seq": message.seq,
        "sender": message.sender,
        "text": text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…",
        "created_at": as_utc(message.created_at).isoformat() if message.created_at else None,
    }


def last_messages(session: Session, *, conversation_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The last message of each chat that a person or the bot wrote (system notices are skipped)."""
    if not conversation_ids:
        return {}
    last = (
        select(Message.conversation_id, func.max(Message.seq).label("seq"))
        .where(Message.conversation_id.in_(conversation_ids), Message.sender != Sender.SYSTEM)
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = session.scalars(
        select(Message).join(last, (Message.conversation_id == last.c.conversation_id) & (Message.seq == last.c.seq))
    )
    return {message.conversation_id: _preview(message) for message in rows}


def unanswered_seqs(session: Session, *, conversation_ids: list[str]) -> dict[str, list[int]]:
    """Per chat, the seqs of the borrower messages after the last answer (by an agent or the bot)."""
    if not conversation_ids:
        return {}
    answer = aliased(Message)
    answered = (
        select(func.coalesce(func.max(answer.seq), 0))
        .where(answer.conversation_id == Message.conversation_id, answer.sender.in_([Sender.AGENT, Sender.BOT]))
        .scalar_subquery()
    )
    found: dict[str, list[int]] = {cid: [] for cid in conversation_ids}
    for conversation_id, seq in session.execute(
        select(Message.conversation_id, Message.seq)
        .where(Message.conversation_id.in_(conversation_ids), Message.sender == Sender.BORROWER,
               Message.seq > answered)
        .order_by(Message.conversation_id, Message.seq)
    ):
        found[conversation_id].append(int(seq))
    return {cid: seqs[-MAX_UNANSWERED:] for cid, seqs in found.items()}
