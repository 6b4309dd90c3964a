"""Events that record a routing decision in the `route` slot (data/rules.yml branches on it)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import SlotSet

from actions.constants import (
    ROUTE_HANDOFF,
    ROUTE_OFFER,
    SLOT_FAILURE_COUNT,
    SLOT_FRUSTRATED,
    SLOT_HANDOFF_REASON,
    SLOT_ROUTE,
)


def encode_reason(reason: str, trigger: str | None = None) -> str:
    """`handoff_reason` slot value: ``reason`` or ``reason:trigger``."""
    return f"{reason}:{trigger}" if trigger else reason


def decode_reason(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str) or not value:
        return None, None
    reason, _, trigger = value.partition(":")
    return reason, trigger or None


def route_to_handoff(reason: str, trigger: str | None = None, *, frustrated: bool = False) -> list[dict[str, Any]]:
    return [
        SlotSet(SLOT_ROUTE, ROUTE_HANDOFF),
        SlotSet(SLOT_HANDOFF_REASON, encode_reason(reason, trigger)),
        SlotSet(SLOT_FRUSTRATED, frustrated),
    ]


def route_to_offer(reason: str, failures: int) -> list[dict[str, Any]]:
    return [
        SlotSet(SLOT_ROUTE, ROUTE_OFFER),
        SlotSet(SLOT_HANDOFF_REASON, encode_reason(reason)),
        SlotSet(SLOT_FAILURE_COUNT, float(failures)),
    ]
