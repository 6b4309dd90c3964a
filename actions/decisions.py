"""Events that record a routing decision in the `route` slot (data/rules.yml branches on it)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import SlotSet

from actions.constants import ROUTE_HANDOFF, ROUTE_OFFER
from contract.slots import Slot


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
        SlotSet(Slot.ROUTE, ROUTE_HANDOFF),
        SlotSet(Slot.HANDOFF_REASON, encode_reason(reason, trigger)),
        SlotSet(Slot.FRUSTRATED, frustrated),
    ]


def route_to_offer(reason: str, failures: int) -> list[dict[str, Any]]:
    return [
        SlotSet(Slot.ROUTE, ROUTE_OFFER),
        SlotSet(Slot.HANDOFF_REASON, encode_reason(reason)),
        SlotSet(Slot.FAILURE_COUNT, float(failures)),
    ]
