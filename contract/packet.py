"""The handoff packet: everything an agent needs to take over without asking the borrower again.

The bot sends it as the custom payload `{"type": "handoff", "packet": {...}}`; the service builds one
itself when the borrower presses "Talk to a person" or the bot is down. Both call `build_packet`, so a
queue card looks the same whichever path brought the borrower.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typing_extensions import TypedDict

from contract.codes import BOT_REASONS, PACKET_VERSION, HandoffReason, Priority, Trigger
from contract.turns import PacketTurn

MAX_TURNS = 30
MAX_CANDIDATES = 10
# Keys the service adds to a packet when it queues it (the bot never sends them): the transcript, the FAQs
# the bot answered, what the local detector heard while the bot was down, what the borrower wrote while
# queued, when a callback was offered, and the repayment reminder the borrower was answering
# (handoff/borrower/handoffs.py, queued.py; handoff/queue/sla.py; handoff/reminders/context.py).
SERVICE_KEYS = frozenset({"transcript", "faq_answered", "detected", "queued_signals", "callback_offered_at",
                          "reminder"})


class AngerSummary(TypedDict):
    latest: float
    max: float
    frustration: float
    frustrated: bool


class FaqCandidate(TypedDict):
    id: str
    title: Any
    score: Any
    source: Any


class PreviousHandoff(TypedDict):
    agent_helped: bool
    note: str | None


class BorrowerSection(TypedDict, total=False):
    """Added by the service at enqueue for a signed-in borrower (`handoff.queue.routing`), as `packet["borrower"]`:
    who the borrower is (from the loan system at sign-in) and how the chat was routed."""

    borrower_id: str
    verified: bool
    name: str | None
    tier: str | None  # standard | vip
    manager: str | None  # the key customer's own manager (agent username)
    time_zone: str | None
    routing: str  # manager_first | pool_manager_away | pool
    manager_agent_id: int
    manager_until: str  # ISO time until which only the manager may take the chat


class HandoffPacket(TypedDict):
    version: int
    conversation_id: str | None
    reason: str
    trigger: str | None
    priority: str
    lang: str
    summary: str
    topics: list[str]
    turns: list[PacketTurn]
    anger: AngerSummary
    faq_candidates: list[FaqCandidate]
    previous_handoff: PreviousHandoff | None


SENTENCE_ENDS = frozenset(".?!。？！…")


def join_sentences(parts: Sequence[str], end: str) -> str:
    """Parts of a summary as sentences: `end` (". " or "。") after each, except that a part already ending
    a sentence (an FAQ title is a question) gets no second mark: "...a payoff quote? Last message" and
    "...结清金额？最后一条消息", never "?." or "？。"."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out:
            out += end if out[-1] not in SENTENCE_ENDS else end[len(end.rstrip()):]
        out += part
    return out if not out or out[-1] in SENTENCE_ENDS else out + end.rstrip()


def anger_summary(turns: Sequence[PacketTurn], *, frustration: float = 0.0, frustrated: bool = False) -> AngerSummary:
    """Latest and highest anger score of the borrower's recent turns, with the frustration level."""
    scores = [t["anger"]["score"] for t in turns]
    return {
        "latest": scores[-1] if scores else 0.0,
        "max": max(scores, default=0.0),
        "frustration": frustration,
        "frustrated": frustrated,
    }


def build_packet(
    *,
    conversation_id: str | None,
    reason: HandoffReason | str,
    trigger: Trigger | str | None,
    priority: Priority | str,
    lang: str,
    summary: str,
    turns: Sequence[PacketTurn],
    anger: AngerSummary,
    topics: Sequence[str] = (),
    faq_candidates: Sequence[FaqCandidate] = (),
    previous_handoff: PreviousHandoff | None = None,
    bot: bool = True,
) -> HandoffPacket:
    """The one packet shape. `bot=True` (the action server) accepts only the bot's own reasons."""
    reason = HandoffReason(reason)
    if bot and reason not in BOT_REASONS:
        raise ValueError(f"unknown handoff reason {str(reason)!r}")
    return {
        "version": PACKET_VERSION,
        "conversation_id": conversation_id,
        "reason": str(reason),
        "trigger": None if trigger is None else str(trigger),
        "priority": str(Priority(priority)),
        "lang": lang,
        "summary": summary,
        "topics": list(topics),
        "turns": list(turns[-MAX_TURNS:]),
        "anger": anger,
        "faq_candidates": list(faq_candidates)[-MAX_CANDIDATES:],
        "previous_handoff": previous_handoff,
    }
