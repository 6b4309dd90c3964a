"""Whole conversations through Rasa's REST channel, with the real Rasa server, the real action server and
the real FAQ index, in English and Simplified Chinese."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rasa_stack import RasaStack

pytestmark = pytest.mark.integration


def conv() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if r.get("text")]


def customs(replies: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r["custom"] for r in replies if isinstance(r.get("custom"), dict) and r["custom"].get("type") == kind]


def packet(replies: list[dict[str, Any]]) -> dict[str, Any]:
    found = customs(replies, "handoff")
    assert len(found) == 1, replies
    return found[0]["packet"]


def test_english_answer_with_citation_and_feedback(stack: RasaStack) -> None:
    sender = conv()
    first = stack.send(sender, "hi", lang="en")
    assert "automated assistant" in first[0]["text"] and '"agent"' in first[0]["text"]
    assert any("What can I help you with" in t for t in texts(first))

    answer = stack.send(sender, "how do I get a payoff quote", lang="en")
    faq = customs(answer, "faq_answer")
    assert faq and faq[0]["faq_id"] == "payoff-quote" and faq[0]["source"].endswith("payoff-quote.md")
    # The citation travels as the custom element (shown under the bubble), not repeated in the text.
    assert answer[-1]["text"].endswith("\n\nDid this answer your question?")
    assert "(Source:" not in answer[-1]["text"]
    assert "payoff quote" in answer[-1]["text"]
    assert [b["payload"] for b in answer[-1]["buttons"]] == ["/affirm", "/negative_feedback"]

    assert "Glad that helped" in texts(stack.send(sender, "/affirm", lang="en"))[0]
    # The intro is only ever sent once.
    assert not any("automated assistant" in t for t in texts(stack.send(sender, "hello", lang="en")))


def test_chinese_answer_with_citation(stack: RasaStack) -> None:
    sender = conv()
    first = stack.send(sender, "怎么申请提前结清？", lang="zh")
    assert "自动助手" in first[0]["text"]
    faq = customs(first, "faq_answer")
    assert faq and faq[0]["source"].startswith("knowledge_base/faq/zh/")
    assert first[-1]["text"].endswith("\n\n这个回答对您有帮助吗？") and "来源" not in first[-1]["text"]
    assert [b["title"] for b in first[-1]["buttons"]] == ["有帮助", "没有帮助"]


def test_language_follows_each_message(stack: RasaStack) -> None:
    sender = conv()
    stack.send(sender, "hello", lang="en")
    replies = stack.send(sender, "你是机器人吗", lang="en")
    assert "机器人" in texts(replies)[0]
    tracker = stack.tracker(sender)
    assert tracker["slots"]["lang"] == "zh"
    assert tracker["latest_message"]["anger"] == {"score": 0.0, "cues": []}
    assert {"entity": "lang", "value": "zh"}.items() <= tracker["latest_message"]["entities"][0].items()


def test_clarify_buttons_lead_to_the_chosen_answer(stack: RasaStack) -> None:
    sender = conv()
    replies = stack.send(sender, "fees", lang="en")
    clarify = [r for r in replies if r.get("buttons")][-1]
    assert clarify["text"] == "I found a few answers that might fit. Which one do you mean?"
    payloads = [b["payload"] for b in clarify["buttons"]]
    assert payloads[-1] == "/negative_feedback" and len(payloads) >= 3
    chosen = json.loads(payloads[0][len("/ask_question"):])["faq_id"]
    answer = stack.send(sender, payloads[0], lang="en")
    assert customs(answer, "faq_answer")[0]["faq_id"] == chosen


def test_two_failures_offer_a_person_and_accepting_hands_off(stack: RasaStack) -> None:
    sender = conv()
    first = stack.send(sender, "does my loan cover windshield repairs", lang="en")
    assert "I don't know that one" in texts(first)[-1]
    second = stack.send(sender, "do you finance RVs", lang="en")
    assert "either" in texts(second)[0]
    offer = second[-1]
    assert "connect you with a person" in offer["text"]
    assert [b["payload"] for b in offer["buttons"]] == ["/affirm", "/deny"]
    handed = stack.send(sender, "/affirm", lang="en")
    data = packet(handed)
    assert data["reason"] in {"low_confidence", "repeated_fallback"} and data["priority"] == "normal"
    assert [t["text"] for t in data["turns"]][:2] == ["does my loan cover windshield repairs", "do you finance RVs"]
    assert {c["id"] for c in data["faq_candidates"]}, "the FAQ entries tried are in the packet"
    assert "keep typing" in texts(handed)[-1]


def test_declining_the_offer_keeps_the_bot_going_in_chinese(stack: RasaStack) -> None:
    sender = conv()
    assert "不知道答案" in texts(stack.send(sender, "你们有摩托车贷款吗", lang="zh"))[-1]
    offer = stack.send(sender, "你们有房车贷款吗", lang="zh")
    assert "转接真人客服" in offer[-1]["text"]
    declined = stack.send(sender, "/deny", lang="zh")
    assert not customs(declined, "handoff") and "我们继续" in texts(declined)[0]


@pytest.mark.parametrize(
    ("text", "lang", "reason", "priority", "reply_fragment"),
    [
        ("I want to talk to a real person", "en", "explicit_request", "normal", "connecting you with a person"),
        ("转人工", "zh", "explicit_request", "normal", "转接真人客服"),
        ("you idiots, I'm reporting you to the CFPB", "en", "anger", "urgent", "frustrating"),
        ("垃圾公司，我要去银保监会投诉你们", "zh", "anger", "urgent", "非常抱歉"),
        ("what is my current balance", "en", "explicit_request", "normal", "can't see your account"),
        ("我失业了，这个月的车贷还不上怎么办", "zh", "sensitive_topic", "high", "真人客服来帮您"),
        ("my husband passed away, what happens to his car loan", "en", "sensitive_topic", "normal",
         "a person should help"),
    ],
)
def test_immediate_handoffs(
    stack: RasaStack, text: str, lang: str, reason: str, priority: str, reply_fragment: str
) -> None:
    replies = stack.send(conv(), text, lang=lang)
    data = packet(replies)
    assert (data["reason"], data["priority"], data["lang"]) == (reason, priority, lang)
    assert data["turns"][-1]["text"] == text and data["turns"][-1]["intent"]
    assert reply_fragment in texts(replies)[-1]
    if reason == "anger":
        # AngerScorer's signal, from the parse result through the tracker into the packet.
        assert data["anger"]["max"] >= 0.6 and data["turns"][-1]["anger"]["cues"]


def test_hand_back_continues_without_greeting_and_remembers_the_agent(stack: RasaStack) -> None:
    sender = conv()
    stack.send(sender, "agent please", lang="en")
    stack.append_events(sender, [
        {"event": "slot", "name": "agent_helped", "value": True},
        {"event": "slot", "name": "handoff_note", "value": "explained autopay"},
        {"event": "slot", "name": "handoff_active", "value": False},
    ])
    replies = stack.send(sender, "how do I set up autopay", lang="en")
    assert customs(replies, "faq_answer")[0]["faq_id"] == "autopay-enroll"
    assert not any("automated assistant" in t or t.startswith("Hello") for t in texts(replies))
    assert texts(stack.send(sender, "hi", lang="en")) == ["Hi again! Is there anything else I can help you with?"]

    events = stack.tracker(sender)["events"]
    assert sum(1 for e in events if e["event"] == "session_started") == 1
    again = packet(stack.send(sender, "I need a human again", lang="en"))
    assert again["previous_handoff"] == {"agent_helped": True, "note": "explained autopay"}


def test_answer_not_helping_then_mild_annoyance_becomes_frustration(stack: RasaStack) -> None:
    sender = conv()
    answer = stack.send(sender, "how long does a payment take to post", lang="en")
    assert customs(answer, "faq_answer")
    assert "Sorry that didn't help" in texts(stack.send(sender, "no", lang="en"))[0]
    replies = stack.send(sender, "that's still not it, ugh", lang="en")
    data = packet(replies)
    # No single message was angry enough for the anger rule; the run of negative turns was.
    assert max(t["anger"]["score"] for t in data["turns"]) < 0.6
    assert (data["reason"], data["trigger"], data["priority"]) == ("anger", "frustration", "urgent")
    assert data["anger"]["frustrated"] is True
    assert "frustrating" in texts(replies)[-1]
