"""`action_handoff`: build the handoff packet, send it as a custom payload, tell the borrower what happens next."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import INTENT_ACCOUNT_SPECIFIC, INTENT_ANGER, INTENT_REQUEST_HUMAN
from actions.decisions import decode_reason
from actions.frustration import frustration_score, is_frustrated
from actions.packet import build_packet
from actions.sensitive import detect_topics, sort_topics
from actions.tracker_view import UserTurn, conversation_lang, latest_turn, user_turns
from contract.codes import BOT_REASONS, HandoffReason, PayloadType, Trigger
from contract.slots import Slot


def handoff_reason(tracker: Tracker, turn: UserTurn) -> tuple[str, str | None]:
    """Why we hand off now: this message's intent wins; otherwise what the previous action decided."""
    if turn.intent == INTENT_REQUEST_HUMAN:
        return HandoffReason.EXPLICIT_REQUEST, INTENT_REQUEST_HUMAN
    if turn.intent == INTENT_ANGER:
        return HandoffReason.ANGER, INTENT_ANGER
    if turn.intent == INTENT_ACCOUNT_SPECIFIC:
        return HandoffReason.EXPLICIT_REQUEST, Trigger.ACCOUNT_SPECIFIC
    reason, trigger = decode_reason(tracker.get_slot(Slot.HANDOFF_REASON))
    if reason in BOT_REASONS:
        return str(reason), trigger
    return HandoffReason.EXPLICIT_REQUEST, None


def borrower_message(reason: str, trigger: str | None) -> str:
    if trigger == Trigger.ACCOUNT_SPECIFIC:
        return "utter_handoff_account"
    if reason == HandoffReason.ANGER:
        return "utter_handoff_anger"
    if reason == HandoffReason.SENSITIVE_TOPIC:
        return "utter_handoff_sensitive"
    return "utter_handoff"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = latest_turn(tracker)
        reason, trigger = handoff_reason(tracker, turn)
        recent = user_turns(tracker, since_last_handoff=True)
        topics = sort_topics({topic for t in recent for topic in detect_topics(t.text)})
        agent_helped = bool(tracker.get_slot(Slot.AGENT_HELPED))
        note = tracker.get_slot(Slot.HANDOFF_NOTE)
        packet = build_packet(
            conversation_id=tracker.sender_id,
            reason=reason,
            trigger=trigger,
            lang=conversation_lang(tracker),
            topics=topics,
            all_turns=user_turns(tracker),
            recent_turns=recent,
            frustration=frustration_score(recent),
            frustrated=is_frustrated(recent) or bool(tracker.get_slot(Slot.FRUSTRATED)),
            candidates=tracker.get_slot(Slot.FAQ_CANDIDATES) or [],
            agent_helped=agent_helped,
            previous_note=str(note) if note else None,
        )
        dispatcher.utter_message(json_message={"type": PayloadType.HANDOFF, "packet": packet})
        dispatcher.utter_message(response=borrower_message(reason, trigger))
        # The ladder starts afresh after a person has been involved.
        return [
            SlotSet(Slot.HANDOFF_ACTIVE, True),
            SlotSet(Slot.ROUTE, None),
            SlotSet(Slot.HANDOFF_REASON, None),
            SlotSet(Slot.FAILURE_COUNT, 0.0),
            SlotSet(Slot.FRUSTRATED, False),
            SlotSet(Slot.FAQ_CANDIDATES, []),
        ]
