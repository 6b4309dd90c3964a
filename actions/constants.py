"""Names of the Rasa domain (bot/domain/*.yml) that only the actions use.

What the conversation service reads too (slot names, reasons, priorities, payload types) is in `contract`.
"""

from __future__ import annotations

from typing import Final

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

# Failures in a row (KB none, nlu_fallback without an answer, negative feedback) before a person is offered.
FAILURES_BEFORE_OFFER: Final = 2
