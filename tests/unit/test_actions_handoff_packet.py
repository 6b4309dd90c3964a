"""The handoff packet the bot builds (actions/handoff.py), called directly with tracker JSON."""

from __future__ import annotations

import pytest
from action_helpers import (
    PAYOFF,
    MemoryKnowledgeBase,
    action,
    make_tracker,
    packet_of,
    run,
    slot,
    slots_of,
    user,
)

from actions.handoff import ActionHandoff

# --- handoff packet ------------------------------------------------------------------------------------------


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
