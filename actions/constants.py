"""Names shared with the Rasa domain (bot/domain/*.yml) and the conversation service."""

from __future__ import annotations

from typing import Final, Literal

# Slots
SLOT_LANG: Final = "lang"
SLOT_ROUTE: Final = "route"
SLOT_HANDOFF_REASON: Final = "handoff_reason"
SLOT_FAILURE_COUNT: Final = "failure_count"
SLOT_FRUSTRATED: Final = "frustrated"
SLOT_FAQ_CANDIDATES: Final = "faq_candidates"
SLOT_LAST_FAQ_ID: Final = "last_faq_id"
SLOT_HANDOFF_ACTIVE: Final = "handoff_active"
SLOT_AGENT_HELPED: Final = "agent_helped"
SLOT_HANDOFF_NOTE: Final = "handoff_note"
SLOT_SESSION_METADATA: Final = "session_started_metadata"

# Values of the `route` slot; data/rules.yml branches on them.
ROUTE_ANSWER: Final = "answer"
ROUTE_CLARIFY: Final = "clarify"
ROUTE_NONE: Final = "none"
ROUTE_OFFER: Final = "offer"
ROUTE_HANDOFF: Final = "handoff"

# Intents
INTENT_ASK_QUESTION: Final = "ask_question"
INTENT_ACCOUNT_SPECIFIC: Final = "ask_account_specific"
INTENT_REQUEST_HUMAN: Final = "request_human"
INTENT_ANGER: Final = "express_anger"
INTENT_NEGATIVE_FEEDBACK: Final = "negative_feedback"
INTENT_NLU_FALLBACK: Final = "nlu_fallback"
INTENT_DENY: Final = "deny"

# Entities
ENTITY_FAQ_ID: Final = "faq_id"

# Handoff packet reason codes (the conversation service adds `bot_unavailable` itself).
Reason = Literal[
    "explicit_request", "anger", "low_confidence", "repeated_fallback", "negative_feedback", "sensitive_topic"
]
REASON_EXPLICIT: Final = "explicit_request"
REASON_ANGER: Final = "anger"
REASON_LOW_CONFIDENCE: Final = "low_confidence"
REASON_REPEATED_FALLBACK: Final = "repeated_fallback"
REASON_NEGATIVE_FEEDBACK: Final = "negative_feedback"
REASON_SENSITIVE: Final = "sensitive_topic"
REASONS: Final = frozenset(
    {REASON_EXPLICIT, REASON_ANGER, REASON_LOW_CONFIDENCE, REASON_REPEATED_FALLBACK, REASON_NEGATIVE_FEEDBACK,
     REASON_SENSITIVE}
)

Priority = Literal["urgent", "high", "normal"]
PRIORITY_URGENT: Final = "urgent"
PRIORITY_HIGH: Final = "high"
PRIORITY_NORMAL: Final = "normal"
PRIORITY_ORDER: Final = {PRIORITY_NORMAL: 0, PRIORITY_HIGH: 1, PRIORITY_URGENT: 2}

# Custom payload types the conversation service understands.
PAYLOAD_HANDOFF: Final = "handoff"
PAYLOAD_FAQ_ANSWER: Final = "faq_answer"
PACKET_VERSION: Final = 1

LANGUAGES: Final = ("en", "zh")
DEFAULT_LANG: Final = "en"

# Failures in a row (KB none, nlu_fallback without an answer, negative feedback) before a person is offered.
FAILURES_BEFORE_OFFER: Final = 2
