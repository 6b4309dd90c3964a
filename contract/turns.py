"""A borrower's turn as Rasa understood it, in the shape the handoff packet carries.

Built from a Rasa `user` event's `parse_data` by the action server (tracker events) and by the service
(the tracker API, when it builds a packet without the bot): one function, so both say the same.
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class Entity(TypedDict):
    entity: Any
    value: Any


class TurnAnger(TypedDict):
    score: float
    cues: list[str]


class PacketTurn(TypedDict):
    text: str
    intent: str | None
    confidence: float
    entities: list[Entity]
    anger: TurnAnger
    classified_intent: NotRequired[str]  # the NLU's intent when the anger component overrode it
    timestamp: NotRequired[float]


def packet_turn(text: str | None, parse_data: dict[str, Any], timestamp: Any = None) -> PacketTurn:
    """One `user` event (`text`, `parse_data`, `timestamp`) as a packet turn."""
    intent = parse_data.get("intent") or {}
    anger = parse_data.get("anger") or {}
    overridden = anger.get("overridden_intent") or {}
    turn: PacketTurn = {
        "text": text or parse_data.get("text") or "",
        "intent": intent.get("name"),
        "confidence": round(float(intent.get("confidence") or 0.0), 4),
        "entities": [
            {"entity": e.get("entity"), "value": e.get("value")}
            for e in parse_data.get("entities") or []
            if isinstance(e, dict)
        ],
        "anger": {"score": float(anger.get("score") or 0.0), "cues": [str(c) for c in anger.get("cues") or []]},
    }
    if overridden.get("name"):
        turn["classified_intent"] = str(overridden["name"])
    if isinstance(timestamp, (int, float)):
        turn["timestamp"] = float(timestamp)
    return turn
