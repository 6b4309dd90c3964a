"""Actions called directly with tracker JSON shaped like Rasa 3.6's action-server requests
(`tracker.current_state(EventVerbosity.ALL)`), before any server is involved."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq
from actions.feedback import ActionDeclineHuman, ActionDefaultFallback, ActionNegativeFeedback
from actions.handoff import ActionHandoff
from actions.kb import KnowledgeBaseProvider
from actions.session import ActionSessionStart
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


# --- session start -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("metadata", "response", "lang"), [
    ({"lang": "zh"}, "utter_intro_zh", "zh"),
    ({"lang": "en"}, "utter_intro_en", "en"),
    (None, "utter_intro_bilingual", None),
])
async def test_session_start_says_it_is_a_bot_in_the_requested_language(
    metadata: dict[str, str] | None, response: str, lang: str | None
) -> None:
    tracker = Tracker.from_dict({"sender_id": "c1", "slots": {**DEFAULT_SLOTS, "session_started_metadata": metadata},
                                 "latest_message": {}, "events": [], "paused": False, "followup_action": None,
                                 "active_loop": {}, "latest_action_name": None})
    events, messages = await run(ActionSessionStart(), tracker)
    assert [m["response"] for m in messages] == [response]
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    assert slots_of(events).get("lang") == lang


# --- answer / clarify / none -----------------------------------------------------------------------------


async def test_answer_cites_the_faq_and_sends_a_faq_payload() -> None:
    kb = MemoryKnowledgeBase({"how do I get a payoff quote": ("answer", [PAYOFF, GOOD_THROUGH])})
    tracker = make_tracker([user("how do I get a payoff quote", "ask_question")])
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), tracker)
    assert messages[1]["response"] == "utter_faq_answer"
    assert messages[1]["title"] == PAYOFF.title and "Payoff" in messages[1]["answer"]
    assert messages[0]["custom"] == {"type": "faq_answer", "faq_id": "payoff-quote", "title": PAYOFF.title,
                                     "source": PAYOFF.source}
    slots = slots_of(events)
    assert slots["route"] == "answer" and slots["last_faq_id"] == "payoff-quote" and slots["failure_count"] == 0
    assert [c["id"] for c in slots["faq_candidates"]] == ["payoff-quote", "payoff-good-through-date"]
    assert kb.queries == [("how do I get a payoff quote", "en")]


async def test_chinese_question_is_searched_in_chinese() -> None:
    kb = MemoryKnowledgeBase({"怎么申请提前结清报价": ("answer", [ZH_PAYOFF])})
    tracker = make_tracker([user("怎么申请提前结清报价", "ask_question", lang="zh")])
    events, _messages = await run(ActionAnswerFaq(kb_provider(kb)), tracker)
    assert kb.queries == [("怎么申请提前结清报价", "zh")]
    assert slots_of(events)["route"] == "answer"


async def test_clarify_offers_each_candidate_as_a_button_with_its_id() -> None:
    kb = MemoryKnowledgeBase({"payoff": ("clarify", [PAYOFF, GOOD_THROUGH])})
    tracker = make_tracker([user("payoff", "ask_question")])
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), tracker)
    assert slots_of(events)["route"] == "clarify"
    buttons = messages[0]["buttons"]
    assert messages[0]["response"] == "utter_clarify"
    assert buttons[0] == {"title": PAYOFF.title, "payload": '/ask_question{"faq_id": "payoff-quote"}'}
    assert buttons[-1] == {"title": "None of these", "payload": "/negative_feedback"}


async def test_clicked_candidate_is_answered_by_id_without_searching() -> None:
    kb = MemoryKnowledgeBase({"payoff": ("clarify", [PAYOFF, GOOD_THROUGH])})
    text = '/ask_question{"faq_id": "payoff-good-through-date"}'
    tracker = make_tracker([user(text, "ask_question", 1.0, lang=None,
                                 entities=[{"entity": "faq_id", "value": "payoff-good-through-date"}])])
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), tracker)
    assert kb.queries == []
    assert messages[0]["custom"]["faq_id"] == "payoff-good-through-date"
    assert slots_of(events)["route"] == "answer"


async def test_first_unknown_question_is_honest_and_second_offers_a_person() -> None:
    kb = MemoryKnowledgeBase({})
    first = make_tracker([user("can I pay with bitcoin", "ask_question")])
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), first)
    assert [m["response"] for m in messages] == ["utter_kb_none"]
    assert slots_of(events) == {"faq_candidates": [], "route": "none", "failure_count": 1.0}

    second = make_tracker([user("can I pay with bitcoin", "ask_question"), action("action_answer_faq"), *events,
                           action("action_listen"), user("do you take crypto", "ask_question")])
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), second)
    assert [m["response"] for m in messages] == ["utter_kb_none_again"]
    slots = slots_of(events)
    assert slots["route"] == "offer" and slots["handoff_reason"] == "repeated_fallback"


async def test_repeated_nlu_fallback_offers_a_person_for_low_confidence() -> None:
    kb = MemoryKnowledgeBase({})
    tracker = make_tracker([user("asdf qwer", "nlu_fallback", 0.3)], failure_count=1.0)
    events, _ = await run(ActionAnswerFaq(kb_provider(kb)), tracker)
    assert slots_of(events)["handoff_reason"] == "low_confidence"


@pytest.mark.parametrize(("text", "lang", "topic"), [
    ("I lost my job and can't make my payments", "en", "hardship"),
    ("my husband passed away, what happens to his car loan", "en", "bereavement"),
    ("my car was repossessed last night", "en", "repossession"),
    ("someone opened a loan in my name, this is identity theft", "en", "fraud"),
    ("I want to dispute a charge on my account", "en", "dispute"),
    ("我父亲去世了，他的车贷怎么办", "zh", "bereavement"),
    ("我失业了，还不上车贷", "zh", "hardship"),
    ("我要投诉你们的催收", "zh", "complaint"),
])
async def test_sensitive_topics_hand_off_before_searching(text: str, lang: str, topic: str) -> None:
    kb = MemoryKnowledgeBase({})
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), make_tracker([user(text, "ask_question",
                                                                                      lang=lang)]))
    assert messages == [] and kb.queries == []
    assert slots_of(events) == {"route": "handoff", "handoff_reason": f"sensitive_topic:{topic}",
                                "frustrated": False}


async def test_answer_tagged_hardship_hands_off_instead() -> None:
    kb = MemoryKnowledgeBase({"times are tough, what help do you offer": ("answer", [HARDSHIP])})
    tracker = make_tracker([user("times are tough, what help do you offer", "ask_question")])
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), tracker)
    assert messages == []
    assert slots_of(events)["handoff_reason"] == "sensitive_topic:hardship"


async def test_knowledge_base_failure_hands_off_instead_of_crashing() -> None:
    kb = MemoryKnowledgeBase({}, fail=True)
    events, _messages = await run(ActionAnswerFaq(kb_provider(kb)), make_tracker([user("payoff?", "ask_question")]))
    assert slots_of(events)["handoff_reason"] == "low_confidence:kb_unavailable"


async def test_repeated_mildly_negative_turns_make_the_conversation_frustrated() -> None:
    kb = MemoryKnowledgeBase({})
    turns = [
        user("ugh, where do I send the payoff check", "ask_question", anger=0.3, cues=["frustration:ugh"]),
        action("action_answer_faq"), slot("route", "answer"), action("action_listen"),
        user("that's wrong again", "negative_feedback", anger=0.0),
        action("action_negative_feedback"), action("action_listen"),
        user("seriously, where do I mail a payoff check??", "ask_question", anger=0.44,
             cues=["frustration:seriously", "punctuation:??"]),
    ]
    events, messages = await run(ActionAnswerFaq(kb_provider(kb)), make_tracker(turns))
    assert messages == []
    assert slots_of(events) == {"route": "handoff", "handoff_reason": "anger:frustration", "frustrated": True}


async def test_two_plain_negative_feedbacks_are_the_ladder_not_frustration() -> None:
    kb = MemoryKnowledgeBase({"where do I mail a payoff check": ("answer", [PAYOFF])})
    turns = [user("that didn't help", "negative_feedback"), action("action_negative_feedback"),
             action("action_listen"), user("wrong answer", "negative_feedback"), action("action_negative_feedback"),
             action("action_listen"), user("where do I mail a payoff check", "ask_question")]
    events, _ = await run(ActionAnswerFaq(kb_provider(kb)), make_tracker(turns))
    assert slots_of(events)["route"] == "answer"


# --- feedback ladder ---------------------------------------------------------------------------------------


async def test_negative_feedback_asks_for_a_rephrase_then_offers_a_person() -> None:
    tracker = make_tracker([user("that didn't help", "negative_feedback")])
    events, messages = await run(ActionNegativeFeedback(), tracker)
    assert [m["response"] for m in messages] == ["utter_rephrase"]
    assert slots_of(events) == {"route": "none", "failure_count": 1.0}

    tracker = make_tracker([user("wrong answer", "negative_feedback")], failure_count=1.0)
    events, messages = await run(ActionNegativeFeedback(), tracker)
    assert messages == []
    assert slots_of(events) == {"route": "offer", "handoff_reason": "negative_feedback", "failure_count": 2.0}


@pytest.mark.parametrize(("text", "lang"), [("这个月还不上", "zh"), ("no, I can't pay this month", "en")])
async def test_money_trouble_read_as_negative_feedback_still_goes_to_a_person(text: str, lang: str) -> None:
    # Right after an answer ("did this help?") NLU may read the borrower's reply to a reminder as "no".
    tracker = make_tracker([user(text, "negative_feedback")])
    events, messages = await run(ActionNegativeFeedback(), tracker)
    assert messages == []
    slots = slots_of(events)
    assert slots["route"] == "handoff" and slots["handoff_reason"].startswith("sensitive_topic")
    assert "hardship" in slots["handoff_reason"]


async def test_declining_the_offer_resets_the_ladder() -> None:
    tracker = make_tracker([user("no, keep trying", "deny")], failure_count=2.0, route="offer")
    events, messages = await run(ActionDeclineHuman(), tracker)
    assert [m["response"] for m in messages] == ["utter_keep_going"]
    assert slots_of(events) == {"failure_count": 0.0, "route": None, "handoff_reason": None}


async def test_core_fallback_does_not_revert_the_message() -> None:
    events, messages = await run(ActionDefaultFallback(), make_tracker([user("hmm", "greet")]))
    assert events == [] and [m["response"] for m in messages] == ["utter_default"]


# --- handoff packet ------------------------------------------------------------------------------------------


def packet_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    customs = [m["custom"] for m in messages if m.get("custom")]
    assert len(customs) == 1 and customs[0]["type"] == "handoff"
    return customs[0]["packet"]


async def test_explicit_request_packet_then_tells_the_borrower_what_happens() -> None:
    kb = MemoryKnowledgeBase({})
    tracker = make_tracker([
        user("how do I get a payoff quote", "ask_question", 0.97), action("action_answer_faq"),
        slot("faq_candidates", [PAYOFF.to_json()]), slot("route", "answer"),
        action("action_listen"), user("I want to talk to a person", "request_human", 0.99),
    ])
    del kb
    events, messages = await run(ActionHandoff(), tracker)
    packet = packet_of(messages)
    assert messages[0].get("custom") and messages[1]["response"] == "utter_handoff"
    assert packet["reason"] == "explicit_request" and packet["priority"] == "normal" and packet["lang"] == "en"
    assert packet["conversation_id"] == "conv-123"
    assert [(t["intent"], t["confidence"]) for t in packet["turns"]] == [("ask_question", 0.97),
                                                                          ("request_human", 0.99)]
    assert {"entity": "lang", "value": "en"} in packet["turns"][0]["entities"]
    assert packet["faq_candidates"] == [PAYOFF.to_json()]
    assert "asked for a person" in packet["summary"] and PAYOFF.title in packet["summary"]
    assert slots_of(events)["handoff_active"] is True and slots_of(events)["faq_candidates"] == []


async def test_angry_message_is_urgent_with_anger_scores() -> None:
    tracker = make_tracker([user("you idiots, I'm reporting you to the CFPB", "express_anger", 0.8, anger=0.92,
                                 cues=["insult:idiots", "regulator:cfpb"])])
    _, messages = await run(ActionHandoff(), tracker)
    packet = packet_of(messages)
    assert (packet["reason"], packet["priority"]) == ("anger", "urgent")
    assert packet["anger"]["max"] == 0.92 and packet["turns"][0]["anger"]["cues"] == ["insult:idiots",
                                                                                       "regulator:cfpb"]
    assert messages[1]["response"] == "utter_handoff_anger"


async def test_account_specific_question_gets_its_own_message() -> None:
    _, messages = await run(ActionHandoff(), make_tracker([user("我还欠多少钱", "ask_account_specific", lang="zh")]))
    packet = packet_of(messages)
    assert (packet["reason"], packet["trigger"], packet["lang"]) == ("explicit_request", "account_specific", "zh")
    assert messages[1]["response"] == "utter_handoff_account"
    assert packet["summary"].startswith("客户询问本人账户信息")


@pytest.mark.parametrize(("text", "topic", "priority"), [
    ("I lost my job and can't pay", "hardship", "high"),
    ("how do I file a complaint about collections", "complaint", "urgent"),
    ("my mother died last month, what about her loan", "bereavement", "normal"),
])
async def test_sensitive_topic_priority(text: str, topic: str, priority: str) -> None:
    tracker = make_tracker([user(text, "ask_question"), action("action_answer_faq"), slot("route", "handoff"),
                            slot("handoff_reason", f"sensitive_topic:{topic}")])
    _, messages = await run(ActionHandoff(), tracker)
    packet = packet_of(messages)
    assert (packet["reason"], packet["trigger"], packet["priority"]) == ("sensitive_topic", topic, priority)
    assert topic in packet["topics"]
    assert messages[1]["response"] == "utter_handoff_sensitive"


async def test_accepted_offer_carries_the_reason_of_the_offer() -> None:
    tracker = make_tracker([user("bitcoin?", "ask_question"), action("action_answer_faq"),
                            slot("route", "offer"), slot("handoff_reason", "repeated_fallback"),
                            action("utter_offer_human"), action("action_listen"), user("yes", "affirm")])
    _, messages = await run(ActionHandoff(), tracker)
    assert packet_of(messages)["reason"] == "repeated_fallback"


async def test_second_handoff_after_hand_back_mentions_the_agent_note() -> None:
    tracker = make_tracker([
        user("agent", "request_human"), action("action_handoff"), slot("handoff_active", True),
        action("action_listen"),
        slot("agent_helped", True), slot("handoff_note", "sent a payoff quote by email"),
        slot("handoff_active", False),
        user("you people are useless", "express_anger", anger=0.7, cues=["insult:useless"]),
    ])
    _, messages = await run(ActionHandoff(), tracker)
    packet = packet_of(messages)
    assert packet["previous_handoff"] == {"agent_helped": True, "note": "sent a payoff quote by email"}
    assert "sent a payoff quote by email" in packet["summary"]
    assert len(packet["turns"]) == 2 and packet["anger"]["max"] == 0.7
