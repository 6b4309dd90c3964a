"""Codes both sides use: why a conversation went to a person, how urgent it is, custom payload types."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

PACKET_VERSION: Final = 1
LANGUAGES: Final = ("en", "zh")
DEFAULT_LANG: Final = "en"


class HandoffReason(StrEnum):
    """The packet's `reason`: why the borrower is waiting for a person (queue cards, SLA, reports)."""

    EXPLICIT_REQUEST = "explicit_request"
    ANGER = "anger"
    LOW_CONFIDENCE = "low_confidence"
    REPEATED_FALLBACK = "repeated_fallback"
    NEGATIVE_FEEDBACK = "negative_feedback"
    SENSITIVE_TOPIC = "sensitive_topic"
    BOT_UNAVAILABLE = "bot_unavailable"  # set by the service when Rasa cannot answer


# Reasons the bot itself gives; the service adds BOT_UNAVAILABLE on its own paths.
BOT_REASONS: Final = frozenset(HandoffReason) - {HandoffReason.BOT_UNAVAILABLE}


class Trigger(StrEnum):
    """The packet's `trigger`: what, more precisely than the reason, led to the handoff."""

    FRUSTRATION = "frustration"
    ACCOUNT_SPECIFIC = "account_specific"
    KB_UNAVAILABLE = "kb_unavailable"
    BUTTON = "button"  # the borrower pressed "Talk to a person" on the chat page


class Priority(StrEnum):
    URGENT = "urgent"  # anger, complaints, regulator threats
    HIGH = "high"  # hardship, disputes
    NORMAL = "normal"


# Higher is more urgent; the queue orders by the reverse (see handoff.states.PRIORITY_RANK).
PRIORITY_ORDER: Final = {Priority.NORMAL: 0, Priority.HIGH: 1, Priority.URGENT: 2}


class PayloadType(StrEnum):
    """`type` of a custom payload in a bot message (Rasa `json_message`) or a stored message's `custom`."""

    FAQ_ANSWER = "faq_answer"  # bot -> service -> page: the cited FAQ of an answer
    HANDOFF = "handoff"  # bot -> service only: carries the handoff packet
    BOT_UNAVAILABLE = "bot_unavailable"  # service -> page: the bot could not answer this turn
    CALLBACK_TICKET = "callback_ticket"  # service -> page: a callback request was stored
    REQUEUED = "requeued"  # service -> page: the agent went silent; the chat is back in the queue
    SLA_BREACH = "sla_breach"  # service -> page: the first-reply target passed
    TURN_OUTCOME = "turn_outcome"  # bot -> service only: what this turn ended in (stored for the reports)


class TurnOutcomeKind(StrEnum):
    """`kind` of a stored turn outcome (`turn_outcomes` table; the dashboard and the editors' report)."""

    ANSWER = "answer"  # an FAQ was answered (faq_id, score)
    CLARIFY = "clarify"  # candidates were offered (options)
    NONE = "none"  # the knowledge base had nothing good enough (nearest faq_id, score)
    FALLBACK = "fallback"  # no rule applied
    HANDOFF = "handoff"  # the turn put the borrower in the queue (reason)
    BOT_UNAVAILABLE = "bot_unavailable"  # Rasa did not answer
    FEEDBACK = "feedback"  # a "did this help?" answer (helped, faq_id)


# Custom payloads the service passes on to the borrower's page; any other type is reduced to its `type`.
PUBLIC_PAYLOAD_TYPES: Final = frozenset({PayloadType.FAQ_ANSWER})
