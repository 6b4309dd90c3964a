"""Per-message anger scoring and language detection (bot/anger.py, bot/language.py), both languages."""

from __future__ import annotations

import pytest

from bot.anger import ANGRY_THRESHOLD, NEGATIVE_THRESHOLD, score_anger
from bot.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "how do I get a payoff quote",
        "hello there",
        "what happens if I miss a payment?",
        "Can I change my due date to the 15th",
        "怎么申请提前结清",
        "这个产品可靠吗",
        "你好，请问还款日可以改吗？",
        "我可以怎么还款？",  # "how do I repay": 怎么还 is exasperation only as 怎么还没/还不/还是... ("why still ...")
        "这笔钱怎么还",
    ],
)
def test_calm_messages_score_zero(text: str) -> None:
    signal = score_anger(text)
    assert signal.score == 0.0
    assert signal.cues == []


@pytest.mark.parametrize(
    ("text", "expected_cue"),
    [
        ("you idiots, fix my account", "insult:idiots"),
        ("this company is a scam", "insult:scam"),
        ("I'm going to report you to the CFPB", "regulator:cfpb"),
        ("I'll sue you", "regulator:sue"),
        ("垃圾公司", "insult:垃圾"),
        ("我要去银保监会投诉你们", "regulator:银保监"),
        ("你们就是骗子", "insult:骗子"),
    ],
)
def test_insults_and_regulator_threats_are_angry(text: str, expected_cue: str) -> None:
    signal = score_anger(text)
    assert signal.is_angry, signal
    assert expected_cue in signal.cues


def test_shouting_and_repeated_punctuation_are_cues() -> None:
    signal = score_anger("WHY IS NOBODY ANSWERING ME!!!")
    assert "shouting" in signal.cues
    assert "punctuation:!!!" in signal.cues
    assert signal.score >= ANGRY_THRESHOLD


def test_why_still_not_is_frustration() -> None:
    assert "frustration:怎么还没" in score_anger("钱都转了，怎么还没到账").cues
    assert "frustration:怎么还是" in score_anger("怎么还是显示逾期").cues


def test_chinese_full_width_punctuation_counts() -> None:
    signal = score_anger("太过分了！！！")
    assert "punctuation:！！！" in signal.cues
    assert "frustration:过分" in signal.cues


def test_mild_frustration_is_negative_but_not_angry() -> None:
    signal = score_anger("ugh, this is still not working")
    assert NEGATIVE_THRESHOLD <= signal.score < ANGRY_THRESHOLD


def test_single_caps_word_is_not_shouting() -> None:
    assert "shouting" not in score_anger("what is a VIN").cues
    assert "shouting" not in score_anger("CFPB").cues


def test_negated_cue_is_ignored() -> None:
    assert score_anger("I'm not angry, just asking about my title").score == 0.0
    assert score_anger("我不生气，只是问一下").score == 0.0


def test_words_inside_other_words_do_not_match() -> None:
    assert score_anger("hello, I have an issue with autopay").score == 0.0


def test_more_cues_never_lower_the_score() -> None:
    base = score_anger("this is ridiculous")
    more = score_anger("this is ridiculous, you idiots!!!")
    assert 0.0 < base.score < more.score <= 1.0


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("how do I get a payoff quote", "en"),
        ("怎么申请提前结清", "zh"),
        ("我想要 payoff quote", "zh"),
        ("title 什么时候寄出", "zh"),
        ("What does per diem mean", "en"),
        ("ok", "en"),
        ("?", None),
        ("12345", None),
        ("", None),
    ],
)
def test_language_detection(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang
