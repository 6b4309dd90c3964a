"""The actions report each turn's decision in a `turn_outcome` payload (for the service's reports)."""

from __future__ import annotations

from action_helpers import (
    GOOD_THROUGH,
    PAYOFF,
    ZH_PAYOFF,
    MemoryKnowledgeBase,
    is_outcome,
    kb_provider,
    make_tracker,
    run_all,
    user,
)

from actions.faq import ActionAnswerFaq
from actions.feedback import ActionDefaultFallback, ActionNegativeFeedback


async def outcomes(action_obj: object, tracker: object) -> list[dict[str, object]]:
    _events, messages = await run_all(action_obj, tracker)  # type: ignore[arg-type]
    return [m["custom"] for m in messages if is_outcome(m)]


async def test_an_answer_reports_the_faq_and_its_score_after_the_answer() -> None:
    kb = MemoryKnowledgeBase({"how do I get a payoff quote": ("answer", [PAYOFF, GOOD_THROUGH])})
    _events, messages = await run_all(ActionAnswerFaq(kb_provider(kb)), make_tracker(
        [user("how do I get a payoff quote", "ask_question")]))
    assert is_outcome(messages[-1]) and not any(is_outcome(m) for m in messages[:-1])
    assert messages[-1]["custom"] == {"type": "turn_outcome", "outcome": "answer", "faq_id": "payoff-quote",
                                      "score": 0.82}


async def test_clarify_reports_the_options_and_none_the_nearest_faq() -> None:
    kb = MemoryKnowledgeBase({"payoff": ("clarify", [PAYOFF, GOOD_THROUGH]),
                              "我想提前还清": ("none", [ZH_PAYOFF])})
    clarify = await outcomes(ActionAnswerFaq(kb_provider(kb)), make_tracker([user("payoff", "ask_question")]))
    assert clarify == [{"type": "turn_outcome", "outcome": "clarify", "faq_id": "payoff-quote", "score": 0.82,
                        "options": ["payoff-quote", "payoff-good-through-date"]}]
    none = await outcomes(ActionAnswerFaq(kb_provider(kb)), make_tracker(
        [user("我想提前还清", "ask_question", lang="zh")]))
    assert none == [{"type": "turn_outcome", "outcome": "none", "faq_id": "payoff-quote-zh", "score": 0.77}]
    nothing = await outcomes(ActionAnswerFaq(kb_provider(kb)), make_tracker([user("what is love", "ask_question")]))
    assert nothing == [{"type": "turn_outcome", "outcome": "none"}]


async def test_a_second_failure_still_reports_none() -> None:
    kb = MemoryKnowledgeBase({})
    found = await outcomes(ActionAnswerFaq(kb_provider(kb)), make_tracker(
        [user("qwerty", "ask_question")], failure_count=1.0))
    assert found == [{"type": "turn_outcome", "outcome": "none"}]


async def test_negative_feedback_and_fallback_report_themselves() -> None:
    assert await outcomes(ActionNegativeFeedback(), make_tracker([user("that didn't help", "negative_feedback")])) \
        == [{"type": "turn_outcome", "outcome": "feedback", "helped": False}]
    assert await outcomes(ActionDefaultFallback(), make_tracker([user("hmm", "greet")])) \
        == [{"type": "turn_outcome", "outcome": "fallback"}]
