"""`action_answer_faq`: answer from the knowledge base, clarify between candidates, or admit not knowing.

Before searching it checks what must go to a person at once: a sensitive topic, or a borrower
who has become frustrated over several turns. Two failures in a row offer a person.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import (
    ENTITY_FAQ_ID,
    FAILURES_BEFORE_OFFER,
    INTENT_ASK_QUESTION,
    INTENT_NEGATIVE_FEEDBACK,
    INTENT_NLU_FALLBACK,
    ROUTE_ANSWER,
    ROUTE_CLARIFY,
    ROUTE_NONE,
)
from actions.decisions import route_to_handoff, route_to_offer
from actions.errors import KnowledgeBaseUnavailable
from actions.frustration import is_frustrated
from actions.kb import KnowledgeBaseProvider
from actions.outcome import report_outcome
from actions.packet import merge_candidates
from actions.sensitive import detect_topics, topics_from_tags
from actions.tracker_view import conversation_lang, latest_turn, slot_number, user_turns
from contract.codes import HandoffReason, PayloadType, Trigger, TurnOutcomeKind
from contract.slots import Slot
from knowledge_base import Hit, SearchResponse

logger = logging.getLogger(__name__)

NONE_OF_THESE = {"en": "None of these", "zh": "都不是"}


def clarify_buttons(hits: list[Hit], lang: str) -> list[dict[str, str]]:
    """One button per candidate; its payload asks for that FAQ by id, so no second search is needed."""
    buttons = [
        {"title": hit.title, "payload": f"/{INTENT_ASK_QUESTION}" + json.dumps({ENTITY_FAQ_ID: hit.id})}
        for hit in hits
    ]
    buttons.append({"title": NONE_OF_THESE.get(lang, NONE_OF_THESE["en"]), "payload": f"/{INTENT_NEGATIVE_FEEDBACK}"})
    return buttons


class ActionAnswerFaq(Action):
    def __init__(self, kb: KnowledgeBaseProvider) -> None:
        self._kb = kb

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = latest_turn(tracker)
        lang = conversation_lang(tracker)
        faq_id = next(tracker.get_latest_entity_values(ENTITY_FAQ_ID), None)

        if not faq_id:
            topics = detect_topics(turn.text)
            if topics:
                return route_to_handoff(HandoffReason.SENSITIVE_TOPIC, topics[0])
            if is_frustrated(user_turns(tracker, since_last_handoff=True)):
                return route_to_handoff(HandoffReason.ANGER, Trigger.FRUSTRATION, frustrated=True)

        try:
            response = await self._lookup(str(faq_id) if faq_id else None, turn.text, lang)
        except KnowledgeBaseUnavailable as exc:
            logger.error("%s: %s", exc.action_name, exc.message)
            return route_to_handoff(HandoffReason.LOW_CONFIDENCE, Trigger.KB_UNAVAILABLE)

        candidates = merge_candidates(tracker.get_slot(Slot.FAQ_CANDIDATES), [h.to_json() for h in response.results])
        events: list[dict[str, Any]] = [SlotSet(Slot.FAQ_CANDIDATES, candidates)]
        best = response.best
        if response.decision == "answer" and best is not None:
            tag_topics = topics_from_tags(best.tags)
            if tag_topics and not faq_id:
                return [*events, *route_to_handoff(HandoffReason.SENSITIVE_TOPIC, tag_topics[0])]
            self._send_answer(dispatcher, best)
            report_outcome(dispatcher, TurnOutcomeKind.ANSWER, best=best)
            return [*events, SlotSet(Slot.ROUTE, ROUTE_ANSWER), SlotSet(Slot.LAST_FAQ_ID, best.id),
                    SlotSet(Slot.FAILURE_COUNT, 0.0)]
        if response.decision == "clarify" and response.results:
            dispatcher.utter_message(response="utter_clarify", buttons=clarify_buttons(response.results, lang))
            report_outcome(dispatcher, TurnOutcomeKind.CLARIFY, best=best, options=response.results)
            return [*events, SlotSet(Slot.ROUTE, ROUTE_CLARIFY)]

        failures = slot_number(tracker, Slot.FAILURE_COUNT) + 1
        if failures >= FAILURES_BEFORE_OFFER:
            reason = HandoffReason.LOW_CONFIDENCE if turn.intent == INTENT_NLU_FALLBACK else HandoffReason.REPEATED_FALLBACK
            dispatcher.utter_message(response="utter_kb_none_again")
            report_outcome(dispatcher, TurnOutcomeKind.NONE, best=best)
            return [*events, *route_to_offer(reason, failures)]
        dispatcher.utter_message(response="utter_kb_none")
        report_outcome(dispatcher, TurnOutcomeKind.NONE, best=best)
        return [*events, SlotSet(Slot.ROUTE, ROUTE_NONE), SlotSet(Slot.FAILURE_COUNT, float(failures))]

    async def _lookup(self, faq_id: str | None, text: str, lang: str) -> SearchResponse:
        if faq_id:
            hit = await self._kb.get(self.name(), faq_id)
            return SearchResponse(query=text, lang=lang, decision="answer" if hit else "none",
                                  results=[hit] if hit else [])
        return await self._kb.search(self.name(), text, lang)

    @staticmethod
    def _send_answer(dispatcher: CollectingDispatcher, hit: Hit) -> None:
        # Metadata first, so the borrower-visible answer (with its quick reply) is the last message.
        dispatcher.utter_message(
            json_message={"type": PayloadType.FAQ_ANSWER, "faq_id": hit.id, "title": hit.title, "source": hit.source}
        )
        dispatcher.utter_message(response="utter_faq_answer", answer=hit.answer.strip(), title=hit.title)
