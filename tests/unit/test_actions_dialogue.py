"""Actions called directly with tracker JSON shaped like Rasa 3.6's action-server requests
(`tracker.current_state(EventVerbosity.ALL)`), before any server is involved."""

from __future__ import annotations

import itertools

import pytest
from rasa_sdk import Tracker

from actions.faq import ActionAnswerFaq
from actions.feedback import ActionDeclineHuman, ActionDefaultFallback, ActionNegativeFeedback
from actions.session import ActionSessionStart

_clock = itertools.count(1_764_000_000)

from action_helpers import (
    DEFAULT_SLOTS,
    GOOD_THROUGH,
    HARDSHIP,
    PAYOFF,
    ZH_PAYOFF,
    MemoryKnowledgeBase,
    action,
    kb_provider,
    make_tracker,
    run,
    slot,
    slots_of,
    user,
)

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
