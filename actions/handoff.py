"""`action_handoff`: build the handoff packet, send it as a custom payload, tell the borrower what happens next."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import (
    INTENT_ACCOUNT_SPECIFIC,
    INTENT_ANGER,
    INTENT_REQUEST_HUMAN,
    PAYLOAD_HANDOFF,
    REASON_ANGER,
    REASON_EXPLICIT,
    REASON_SENSITIVE,
    REASONS,
    SLOT_AGENT_HELPED,
    SLOT_FAILURE_COUNT,
    SLOT_FAQ_CANDIDATES,
    SLOT_FRUSTRATED,
    SLOT_HANDOFF_ACTIVE,
    SLOT_HANDOFF_NOTE,
    SLOT_HANDOFF_REASON,
    SLOT_ROUTE,
)
from actions.decisions import decode_reason
from actions.frustration import frustration_score, is_frustrated
from actions.packet import TRIGGER_ACCOUNT, build_packet
from actions.sensitive import detect_topics, sort_topics
from actions.tracker_view import UserTurn, conversation_lang, latest_turn, user_turns


def handoff_reason(tracker: Tracker, turn: UserTurn) -> tuple[str, str | None]:
    """Why we hand off now: this message's intent wins; otherwise what the previous action decided."""
    if turn.intent == INTENT_REQUEST_HUMAN:
        return REASON_EXPLICIT, INTENT_REQUEST_HUMAN
    if turn.intent == INTENT_ANGER:
        return REASON_ANGER, INTENT_ANGER
    if turn.intent == INTENT_ACCOUNT_SPECIFIC:
        return REASON_EXPLICIT, TRIGGER_ACCOUNT
    reason, trigger = decode_reason(tracker.get_slot(SLOT_HANDOFF_REASON))
    if reason in REASONS:
        return str(reason), trigger
    return REASON_EXPLICIT, None


def borrower_message(reason: str, trigger: str | None) -> str:
    if trigger == TRIGGER_ACCOUNT:
        return "utter_handoff_account"
    if reason == REASON_ANGER:
        return "utter_handoff_anger"
    if reason == REASON_SENSITIVE:
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
        agent_helped = bool(tracker.get_slot(SLOT_AGENT_HELPED))
        note = tracker.get_slot(SLOT_HANDOFF_NOTE)
        packet = build_packet(
            conversation_id=tracker.sender_id,
            reason=reason,
            trigger=trigger,
            lang=conversation_lang(tracker),
            topics=topics,
            all_turns=user_turns(tracker),
            recent_turns=recent,
            frustration=frustration_score(recent),
            frustrated=is_frustrated(recent) or bool(tracker.get_slot(SLOT_FRUSTRATED)),
            candidates=tracker.get_slot(SLOT_FAQ_CANDIDATES) or [],
            agent_helped=agent_helped,
            previous_note=str(note) if note else None,
        )
        dispatcher.utter_message(json_message={"type": PAYLOAD_HANDOFF, "packet": packet})
        dispatcher.utter_message(response=borrower_message(reason, trigger))
        # The ladder starts afresh after a person has been involved.
        return [
            SlotSet(SLOT_HANDOFF_ACTIVE, True),
            SlotSet(SLOT_ROUTE, None),
            SlotSet(SLOT_HANDOFF_REASON, None),
            SlotSet(SLOT_FAILURE_COUNT, 0.0),
            SlotSet(SLOT_FRUSTRATED, False),
            SlotSet(SLOT_FAQ_CANDIDATES, []),
        ]
