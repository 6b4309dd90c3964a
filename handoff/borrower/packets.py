"""Handoff packets the service builds itself - the borrower pressed "Talk to a person", or the bot is down
and the local detector (`handoff.triage`) heard a request for a person, anger or a complaint - and the
parts every packet gets from the stored conversation, whichever path brought it: the FAQ the bot actually
answered, and a priority no lower than what the borrower's own messages call for.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from contract.codes import HandoffReason, Priority, Trigger
from contract.packet import anger_summary, build_packet, join_sentences
from contract.turns import PacketTurn, packet_turn
from handoff.infra.clock import as_utc
from handoff.models import Agent, Conversation, Message, QueueEntry, Reminder
from handoff.reminders import context as reminder_context
from handoff.states import PRIORITY_RANK, QueueStatus, Sender
from handoff.triage.detector import Detection, detect

MAX_TURNS = 30
MAX_ANSWERED = 5

_REASON_TEXT: dict[str, dict[str, str]] = {
    "en": {
        HandoffReason.EXPLICIT_REQUEST: "Borrower asked for a person",
        HandoffReason.ANGER: "Borrower is upset",
        HandoffReason.SENSITIVE_TOPIC: "Borrower made a complaint",
        HandoffReason.BOT_UNAVAILABLE: "The bot was unavailable",
        Trigger.BUTTON: "Borrower pressed 'Talk to a person'",
    },
    "zh": {
        HandoffReason.EXPLICIT_REQUEST: "客户要求转人工",
        HandoffReason.ANGER: "客户情绪不满",
        HandoffReason.SENSITIVE_TOPIC: "客户提出投诉",
        HandoffReason.BOT_UNAVAILABLE: "机器人暂时不可用",
        Trigger.BUTTON: "客户点击了“转人工客服”",
    },
}
_LABELS = {
    "en": {"detected": "Detected while the bot was down", "last": "Last message", "answered": "FAQ answered",
           "quote": "“{}”", "title": "{}", "sep": "; ", "colon": ": ", "end": ". "},
    "zh": {"detected": "机器人不可用时识别到", "last": "最后一条消息", "answered": "已回答的常见问题",
           "quote": "“{}”", "title": "「{}」", "sep": "、", "colon": "：", "end": "。"},
}


def _labels(lang: str) -> dict[str, str]:
    return _LABELS.get(lang, _LABELS["en"])


@dataclass(frozen=True)
class History:
    """A conversation's stored messages in order (each with its agent's name), and when a person last
    finished with the conversation: what a handoff's packet is completed from, read in one statement."""

    rows: list[tuple[Message, str | None]]
    finished_at: datetime | None
    # The newest reminder delivered into the conversation (`reminder_context.newest_reminder_id`), read along
    # with the messages; None when there were no messages to read it with (then it is read on its own).
    reminder: tuple[Reminder | None] | None = None


def _finished_at(conversation_id: Any) -> Any:
    return (
        select(QueueEntry.closed_at)
        .where(QueueEntry.conversation_id == conversation_id, QueueEntry.status == QueueStatus.DONE,
               QueueEntry.closed_at.is_not(None))
        .order_by(QueueEntry.id.desc()).limit(1)
    )


@functools.cache  # built once: every handoff runs it
def _history_statement() -> Any:
    conversation_id: Any = bindparam("p_conversation_id")
    return (
        select(Message, Agent.display_name, _finished_at(conversation_id).scalar_subquery(), Reminder)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .outerjoin(Reminder, Reminder.id == reminder_context.newest_reminder_id(conversation_id))
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.seq)
    )


def history(session: Session, *, conversation_id: str) -> History:
    rows = session.execute(_history_statement(), {"p_conversation_id": conversation_id}).all()
    return History(rows=[(message, name) for message, name, _, _ in rows], finished_at=rows[0][2] if rows else None,
                   reminder=(rows[0][3],) if rows else None)


def borrower_texts(found: History) -> list[str]:
    """What the borrower wrote since the last time a person finished with this conversation (the last
    MAX_TURNS messages)."""
    since = None if found.finished_at is None else as_utc(found.finished_at)
    texts_ = [
        m.text for m, _ in found.rows
        if m.sender == Sender.BORROWER and (since is None or (m.created_at is not None and as_utc(m.created_at) > since))
    ]
    return texts_[-MAX_TURNS:]


def answered_in(found: History) -> list[dict[str, Any]]:
    """The FAQs the bot answered in this conversation (id, title, source), most recent last."""
    return _answered([m.payload for m, _ in found.rows if m.sender == Sender.BOT])


def transcript(found: History, *, limit: int = 10_000) -> list[dict[str, Any]]:
    """The packet's transcript: the first `limit` messages."""
    return [
        {"seq": m.seq, "sender": m.sender, "text": m.text,
         "created_at": as_utc(m.created_at).isoformat() if m.created_at else None}
        for m, _ in found.rows[:limit]
    ]


def _answered(payloads: Sequence[dict[str, Any] | None]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        custom = (payload or {}).get("custom") or {}
        if custom.get("type") == "faq_answer" and custom.get("faq_id"):
            found.pop(str(custom["faq_id"]), None)
            found[str(custom["faq_id"])] = {k: custom.get(k) for k in ("faq_id", "title", "source")}
    return list(found.values())[-MAX_ANSWERED:]


def higher(first: str, second: str) -> str:
    """The more urgent of two priorities (unknown values count as normal)."""
    rank = {str(p): r for p, r in PRIORITY_RANK.items()}
    return min((first, second), key=lambda p: rank.get(p, rank[Priority.NORMAL]))


def priority_from_texts(texts: list[str]) -> tuple[str, list[Detection]]:
    """The priority the borrower's own words call for, and each message's detection."""
    detections = [detect(text) for text in texts]
    priority = str(Priority.NORMAL)
    for found in detections:
        priority = higher(priority, str(found.priority))
    return priority, detections


def summary_text(
    *, lang: str, head: str, last_text: str, answered: list[dict[str, Any]], detected: Detection | None = None
) -> str:
    """A readable summary: sentences separated as the language separates them, the FAQ answered named."""
    labels = _labels(lang)
    reasons = _REASON_TEXT.get(lang, _REASON_TEXT["en"])
    parts = [reasons.get(head, head)] if head else []
    if detected is not None and detected.reason is not None and detected.reason != head:
        parts.append(labels["detected"] + labels["colon"] + reasons.get(detected.reason, str(detected.reason)))
    if last_text:
        parts.append(labels["last"] + labels["colon"] + labels["quote"].format(last_text[:200]))
    if answered:
        titles = labels["sep"].join(labels["title"].format(a.get("title") or a.get("faq_id"))
                                    for a in answered[-3:])
        parts.append(labels["answered"] + labels["colon"] + titles)
    return join_sentences(parts, labels["end"])


def service_packet(
    found: History,
    *,
    conversation: Conversation,
    reason: str,
    trigger: str | None,
    rasa_turns: list[PacketTurn],
    detected: Detection | None = None,
) -> dict[str, Any]:
    """A packet for a handoff the bot did not make (`contract.packet.build_packet`, the bot's own shape),
    plus what the service knows: the detector's finding and the FAQ answered. `found`: the conversation's
    `history`, read once for this packet and for `handoffs.put_in_queue`."""
    texts = borrower_texts(found)
    priority, detections = priority_from_texts(texts)
    if detected is not None:
        priority = higher(priority, str(detected.priority))
    answered = answered_in(found)
    turns = rasa_turns or [
        packet_turn(text, {"anger": {"score": found.anger_score, "cues": list(found.cues)}})
        for text, found in zip(texts, detections, strict=True)
    ]
    topics = sorted({topic for d in [*detections, *([detected] if detected else [])] for topic in d.topics})
    packet = build_packet(
        conversation_id=conversation.id,
        reason=reason,
        trigger=trigger,
        priority=priority,
        lang=conversation.lang,
        summary=summary_text(
            lang=conversation.lang, head=str(Trigger.BUTTON) if trigger == Trigger.BUTTON else reason,
            last_text=texts[-1] if texts else "", answered=answered, detected=detected,
        ),
        turns=turns,
        anger=anger_summary(turns),
        topics=topics,
        bot=False,
    )
    extra: dict[str, Any] = {"faq_answered": answered}
    if detected is not None:
        extra["detected"] = detected.as_dict()
    return {**packet, **extra}
