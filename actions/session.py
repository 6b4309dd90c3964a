"""`action_session_start`: the first message of every conversation says it is a bot and a person is one
message away. With session_expiration_time 0 it runs once per conversation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from contract.codes import LANGUAGES
from contract.slots import Slot


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        metadata = tracker.get_slot(Slot.SESSION_METADATA) or {}
        requested = metadata.get("lang") if isinstance(metadata, dict) else None
        lang = requested if requested in LANGUAGES else tracker.get_slot(Slot.LANG)

        events: list[dict[str, Any]] = [SessionStarted()]
        # SessionStarted resets the slots: carry them over (including the session metadata, as Rasa's
        # default action does) so later actions can still read them.
        events += [
            SlotSet(name, value) for name, value in tracker.slots.items() if value is not None and name != Slot.LANG
        ]
        if lang in LANGUAGES:
            events.append(SlotSet(Slot.LANG, lang))
        # The lang slot is applied after this action, so the variant is chosen here.
        dispatcher.utter_message(response=f"utter_intro_{lang}" if lang in LANGUAGES else "utter_intro_bilingual")
        events.append(ActionExecuted("action_listen"))
        return events
