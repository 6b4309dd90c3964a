"""Read-only views of a rasa-sdk tracker: the borrower's turns with their NLU signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker

from contract.codes import DEFAULT_LANG, LANGUAGES
from contract.slots import Slot
from contract.turns import Entity, PacketTurn, packet_turn

HANDOFF_ACTION_NAME = "action_handoff"


@dataclass(frozen=True)
class UserTurn:
    """One borrower message as Rasa understood it: the packet's turn (`contract.turns`) plus the
    unrounded intent confidence the dialogue decisions compare."""

    packet: PacketTurn
    confidence: float

    @classmethod
    def from_parse_data(cls, text: str | None, parse_data: dict[str, Any], timestamp: Any = None) -> UserTurn:
        intent = parse_data.get("intent") or {}
        return cls(packet=packet_turn(text, parse_data, timestamp), confidence=float(intent.get("confidence") or 0.0))

    @property
    def text(self) -> str:
        return self.packet["text"]

    @property
    def intent(self) -> str | None:
        return self.packet["intent"]

    @property
    def entities(self) -> list[Entity]:
        return self.packet["entities"]

    @property
    def anger_score(self) -> float:
        return self.packet["anger"]["score"]

    @property
    def anger_cues(self) -> list[str]:
        return self.packet["anger"]["cues"]

    @property
    def overridden_intent(self) -> str | None:
        return self.packet.get("classified_intent")

    @property
    def timestamp(self) -> float | None:
        return self.packet.get("timestamp")


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
    lang = tracker.get_slot(Slot.LANG)
    if lang in LANGUAGES:
        return str(lang)
    metadata = tracker.get_slot(Slot.SESSION_METADATA) or {}
    meta_lang = metadata.get("lang") if isinstance(metadata, dict) else None
    return str(meta_lang) if meta_lang in LANGUAGES else DEFAULT_LANG


def slot_number(tracker: Tracker, name: str) -> int:
    value = tracker.get_slot(name)
    try:
        return int(float(value)) if value is not None else 0
    except (TypeError, ValueError):
        return 0
