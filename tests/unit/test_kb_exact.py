"""An FAQ's own wordings, as `KnowledgeBase.search` matches them exactly (knowledge_base/kb.py)."""

from __future__ import annotations

from knowledge_base.kb import exact_key, exact_questions


def test_case_spaces_and_punctuation_do_not_matter_in_either_language() -> None:
    assert exact_key("How do I pay?") == exact_key("  how do i PAY ") == "howdoipay"
    assert exact_key("怎么还款？") == exact_key("怎么 还款?") == exact_key("怎么还款！") == "怎么还款"
    assert exact_key("ＡＢＣ１２３") == "abc123"  # full-width letters and digits fold


def test_a_wording_two_faqs_share_belongs_to_neither_and_short_ones_to_none() -> None:
    entries = [
        {"title": "How do I pay?", "questions": ["Where do I send payments?", "Payment options"]},
        {"title": "Pay by phone", "questions": ["Payment options", "ok"]},
        {"title": "如何还款？", "questions": []},
    ]
    assert exact_questions(entries) == {
        "howdoipay": 0, "wheredoisendpayments": 0, "paybyphone": 1, "如何还款": 2,
    }
