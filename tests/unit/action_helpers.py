"""Tracker JSON shaped like Rasa 3.6's action-server requests, an in-memory knowledge base and a runner,
for the tests that call actions directly."""

from __future__ import annotations

import itertools
import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.kb import KnowledgeBaseProvider
from contract.codes import PayloadType
from knowledge_base import Hit, SearchResponse

_clock = itertools.count(1_764_000_000)

DEFAULT_SLOTS: dict[str, Any] = {
    "lang": None, "route": None, "handoff_reason": None, "failure_count": 0.0, "frustrated": False,
    "faq_candidates": None, "last_faq_id": None, "handoff_active": False, "agent_helped": False,
    "handoff_note": None, "session_started_metadata": None,
}

PAYOFF = Hit(id="payoff-quote", title="How do I get a payoff quote?", score=0.82,
             source="knowledge_base/faq/en/payoff-quote.md", lang="en",
             answer="Request a quote in the app under **Payoff**.", tags=("payoff",))
GOOD_THROUGH = Hit(id="payoff-good-through-date", title="What happens if my payoff quote expires?", score=0.5,
                   source="knowledge_base/faq/en/payoff-good-through-date.md", lang="en",
                   answer="Every quote has a good-through date.", tags=("payoff",))
HARDSHIP = Hit(id="hardship-assistance", title="What help is available if I am struggling?", score=0.8,
               source="knowledge_base/faq/en/hardship-assistance.md", lang="en",
               answer="Call us before you miss a payment.", tags=("hardship",))
ZH_PAYOFF = Hit(id="payoff-quote-zh", title="如何申请提前结清报价？", score=0.77,
                source="knowledge_base/faq/zh/payoff-quote-zh.md", lang="zh", answer="在App中申请。", tags=("payoff",))


class MemoryKnowledgeBase:
    """Stands in for knowledge_base.KnowledgeBase (not the part under test): fixed responses per query."""

    def __init__(self, responses: dict[str, tuple[str, list[Hit]]], *, fail: bool = False) -> None:
        self.responses = responses
        self.fail = fail
        self.queries: list[tuple[str, str | None]] = []

    def search(self, text: str, lang: str | None = None) -> SearchResponse:
        if self.fail:
            raise RuntimeError("index missing")
        self.queries.append((text, lang))
        decision, hits = self.responses.get(text, ("none", []))
        return SearchResponse(query=text, lang=lang or "en", decision=decision, results=hits)  # type: ignore[arg-type]

    def get(self, faq_id: str) -> Hit | None:
        for _, hits in self.responses.values():
            for hit in hits:
                if hit.id == faq_id:
                    return hit
        return None


def user(text: str, intent: str, confidence: float = 0.93, *, anger: float = 0.0, cues: list[str] | None = None,
         entities: list[dict[str, Any]] | None = None, lang: str | None = "en") -> dict[str, Any]:
    ents = list(entities or [])
    if lang:
        ents.append({"entity": "lang", "start": 0, "end": len(text), "confidence": 1.0, "value": lang,
                     "extractor": "LanguageDetector"})
    message_id = f"m{next(_clock)}"
    parse = {
        "text": text, "intent": {"name": intent, "confidence": confidence}, "entities": ents,
        "intent_ranking": [{"name": intent, "confidence": confidence}], "message_id": message_id,
        "metadata": {"lang": lang}, "anger": {"score": anger, "cues": cues or []},
    }
    return {"event": "user", "timestamp": float(next(_clock)), "text": text, "parse_data": parse,
            "input_channel": "rest", "message_id": message_id, "metadata": {"lang": lang}}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": float(next(_clock)), "name": name, "policy": "RulePolicy",
            "confidence": 1.0, "action_text": None, "hide_rule_turn": False}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": float(next(_clock)), "name": name, "value": value}


def make_tracker(events: list[dict[str, Any]], **slots: Any) -> Tracker:
    """A tracker as Rasa sends it: session start, then the given events; slots replayed from them."""
    head = [action("action_session_start"), {"event": "session_started", "timestamp": float(next(_clock))},
            action("action_listen")]
    all_events = head + events
    values = dict(DEFAULT_SLOTS)
    for event in all_events:
        if event["event"] == "slot":
            values[event["name"]] = event["value"]
        if event["event"] == "user":
            for ent in event["parse_data"]["entities"]:
                if ent["entity"] == "lang":
                    values["lang"] = ent["value"]
    values.update(slots)
    latest = next((e["parse_data"] for e in reversed(all_events) if e["event"] == "user"), {})
    latest_action = next((e["name"] for e in reversed(all_events) if e["event"] == "action"), None)
    state = {
        "sender_id": "conv-123", "slots": values, "latest_message": latest, "latest_event_time": all_events[-1].get(
            "timestamp"), "followup_action": None, "paused": False, "events": all_events,
        "latest_input_channel": "rest", "active_loop": {}, "latest_action": {"action_name": latest_action},
        "latest_action_name": latest_action,
    }
    # Round-trip through JSON: exactly what crosses the wire.
    return Tracker.from_dict(json.loads(json.dumps(state)))


def kb_provider(kb: MemoryKnowledgeBase) -> KnowledgeBaseProvider:
    return KnowledgeBaseProvider(lambda: kb, search_timeout_s=2.0)


async def run_all(action_obj: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action_obj.run(dispatcher, tracker, {})
    return events, dispatcher.messages


def is_outcome(message: dict[str, Any]) -> bool:
    return (message.get("custom") or {}).get("type") == PayloadType.TURN_OUTCOME


async def run(action_obj: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events and the messages meant for the borrower (the `turn_outcome` report is for the service;
    tests/unit/test_outcomes_actions.py checks it)."""
    events, messages = await run_all(action_obj, tracker)
    return events, [m for m in messages if not is_outcome(m)]


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def packet_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    customs = [m["custom"] for m in messages if m.get("custom")]
    assert len(customs) == 1 and customs[0]["type"] == "handoff"
    return customs[0]["packet"]
