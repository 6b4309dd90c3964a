"""The `turn_outcome` custom payload: what a turn decided, for the service's reports (never shown to the
borrower: the service keeps custom payloads outside `contract.codes.PUBLIC_PAYLOAD_TYPES` to itself)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from contract.codes import PayloadType, TurnOutcomeKind
from knowledge_base import Hit


def outcome_payload(kind: TurnOutcomeKind, *, best: Hit | None = None, options: list[Hit] | None = None,
                    helped: bool | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": PayloadType.TURN_OUTCOME, "outcome": kind}
    if best is not None:
        payload.update(faq_id=best.id, score=round(best.score, 4))
    if options is not None:
        payload["options"] = [hit.id for hit in options]
    if helped is not None:
        payload["helped"] = helped
    return payload


def report_outcome(dispatcher: CollectingDispatcher, kind: TurnOutcomeKind, **detail: Any) -> None:
    dispatcher.utter_message(json_message=outcome_payload(kind, **detail))
