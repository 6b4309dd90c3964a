"""Read-only views of a rasa-sdk tracker: the borrower's turns with their NLU signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker

from actions.constants import DEFAULT_LANG, LANGUAGES, SLOT_LANG, SLOT_SESSION_METADATA

HANDOFF_ACTION_NAME = "action_handoff"


@dataclass(frozen=True)
class UserTurn:
    """One borrower message as Rasa understood it."""

    text: str
    intent: str | None
    confidence: float
    entities: list[dict[str, Any]] = field(default_factory=list)
    anger_score: float = 0.0
    anger_cues: list[str] = field(default_factory=list)
    overridden_intent: str | None = None
    timestamp: float | None = None

    @classmethod
    def from_parse_data(cls, text: str | None, parse_data: dict[str, Any], timestamp: Any = None) -> UserTurn:
        intent = parse_data.get("intent") or {}
        anger = parse_data.get("anger") or {}
        overridden = anger.get("overridden_intent") or {}
        entities = [
            {"entity": e.get("entity"), "value": e.get("value")}
            for e in parse_data.get("entities") or []
            if isinstance(e, dict)
        ]
        return cls(
            text=text or parse_data.get("text") or "",
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
            entities=entities,
            anger_score=float(anger.get("score") or 0.0),
            anger_cues=[str(c) for c in anger.get("cues") or []],
            overridden_intent=overridden.get("name"),
            timestamp=float(timestamp) if isinstance(timestamp, (int, float)) else None,
        )

    def as_packet_turn(self) -> dict[str, Any]:
        turn: dict[str, Any] = {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "entities": self.entities,
            "anger": {"score": self.anger_score, "cues": self.anger_cues},
        }
        if self.overridden_intent:
            turn["classified_intent"] = self.overridden_intent
        if self.timestamp is not None:
            turn["timestamp"] = self.timestamp
        return turn


def user_turns(tracker: Tracker, *, since_last_handoff: bool = False) -> list[UserTurn]:
    """The borrower's turns in order; optionally only those after the latest handoff."""
    turns: list[UserTurn] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            turns.append(
                UserTurn.from_parse_data(event.get("text"), event.get("parse_data") or {}, event.get("timestamp"))
            )
        elif since_last_handoff and kind == "action" and event.get("name") == HANDOFF_ACTION_NAME:
            turns = []
    return turns


def latest_turn(tracker: Tracker) -> UserTurn:
    message = tracker.latest_message or {}
    return UserTurn.from_parse_data(message.get("text"), message)


def conversation_lang(tracker: Tracker) -> str:
    """The `lang` slot (kept up to date per message by the NLU), else session metadata, else English."""
    lang = tracker.get_slot(SLOT_LANG)
    if lang in LANGUAGES:
        return str(lang)
    metadata = tracker.get_slot(SLOT_SESSION_METADATA) or {}
    meta_lang = metadata.get("lang") if isinstance(metadata, dict) else None
    return str(meta_lang) if meta_lang in LANGUAGES else DEFAULT_LANG


def slot_number(tracker: Tracker, name: str) -> int:
    value = tracker.get_slot(name)
    try:
        return int(float(value)) if value is not None else 0
    except (TypeError, ValueError):
        return 0
