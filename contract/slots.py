"""Rasa slot names (bot/domain/*.yml) that the actions set and the service reads or sets."""

from __future__ import annotations

from enum import StrEnum


class Slot(StrEnum):
    LANG = "lang"
    ROUTE = "route"
    HANDOFF_REASON = "handoff_reason"
    FAILURE_COUNT = "failure_count"
    FRUSTRATED = "frustrated"
    FAQ_CANDIDATES = "faq_candidates"
    LAST_FAQ_ID = "last_faq_id"
    HANDOFF_ACTIVE = "handoff_active"
    AGENT_HELPED = "agent_helped"
    HANDOFF_NOTE = "handoff_note"
    SESSION_METADATA = "session_started_metadata"
