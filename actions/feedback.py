"""The fallback ladder after an answer: negative feedback, and declining the offer of a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import FAILURES_BEFORE_OFFER, ROUTE_NONE
from actions.decisions import route_to_handoff, route_to_offer
from actions.frustration import is_frustrated
from actions.outcome import report_outcome
from actions.sensitive import detect_topics
from actions.tracker_view import latest_turn, slot_number, user_turns
from contract.codes import HandoffReason, Trigger, TurnOutcomeKind
from contract.slots import Slot


class ActionNegativeFeedback(Action):
    """"That didn't help": ask for a rephrase the first time, offer a person on the second failure in a row,
    hand off at once when the conversation has turned frustrated or the words name a sensitive topic ("这个月
    还不上" right after an answer reads as "no" to "did this help?", but it is money trouble)."""

    def name(self) -> str:
        return "action_negative_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        report_outcome(dispatcher, TurnOutcomeKind.FEEDBACK, helped=False)
        failures = slot_number(tracker, Slot.FAILURE_COUNT) + 1
        topics = detect_topics(latest_turn(tracker).text)
        if topics:
            return [*route_to_handoff(HandoffReason.SENSITIVE_TOPIC, topics[0]),
                    SlotSet(Slot.FAILURE_COUNT, float(failures))]
        if is_frustrated(user_turns(tracker, since_last_handoff=True)):
            return [*route_to_handoff(HandoffReason.ANGER, Trigger.FRUSTRATION, frustrated=True),
                    SlotSet(Slot.FAILURE_COUNT, float(failures))]
        if failures >= FAILURES_BEFORE_OFFER:
            return route_to_offer(HandoffReason.NEGATIVE_FEEDBACK, failures)
        dispatcher.utter_message(response="utter_rephrase")
        return [SlotSet(Slot.ROUTE, ROUTE_NONE), SlotSet(Slot.FAILURE_COUNT, float(failures))]


class ActionDeclineHuman(Action):
    """The borrower declined the offer of a person: keep going, with the ladder reset."""

    def name(self) -> str:
        return "action_decline_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_keep_going")
        return [SlotSet(Slot.FAILURE_COUNT, 0.0), SlotSet(Slot.ROUTE, None), SlotSet(Slot.HANDOFF_REASON, None)]


class ActionDefaultFallback(Action):
    """Core fallback (no rule applies): say so without reverting the borrower's message."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_default")
        report_outcome(dispatcher, TurnOutcomeKind.FALLBACK)
        return []
