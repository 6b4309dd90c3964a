"""The local handoff detector (handoff/triage) on the phrasings it was tuned on - none of them in the
held-out set of benchmarks/eval/triage_*.tsv - and the held-out floors (benchmarks/triage_quality.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from contract.codes import HandoffReason, Priority
from handoff.triage.detector import detect

ROOT = Path(__file__).resolve().parents[2]
DATA = Path("/work/shared/data")

PERSON = [
    "can i talk to a real human", "I need an agent", "get me a live person", "connect me with support staff",
    "I want to speak to someone at your company", "is there somebody real I can talk to", "Need a rep",
    "chat with a person", "no bots please", "put me through to an operator", "speak to a person",
    "转人工服务", "我要找人工客服", "人工！", "请帮我接通人工坐席", "我要跟客服人员说", "找一下你们的工作人员",
    "叫个真人来", "可以转客服吗", "我不要和机器人说话",
]
ANGRY = [
    "You are useless and this is a rip off", "I HAVE ASKED THREE TIMES ALREADY", "this is so frustrating!!",
    "I'm really upset with you", "你们这些骗子", "太差了，浪费时间", "搞什么啊！！", "气死人了",
]
COMPLAINTS = [
    "I wish to raise a formal complaint", "my attorney will be in touch", "you billed me twice",
    "I'll go to the regulator", "我要去消协投诉", "这笔扣款扣错了", "我要申诉", "我要向金融监管部门反映",
]
CALM = [
    "What is my payoff amount?", "Can someone else pay my loan?", "My insurance agent needs the lien letter",
    "Thanks, that helps", "How do I change my due date?", "I'm not upset, just asking", "no complaints here",
    "Where can I find my account number?", "人工智能是什么", "怎么提前还款", "客服电话是多少", "还款日可以改吗",
    "我没有投诉的意思", "谢谢你", "结清证明怎么开",
]


@pytest.mark.parametrize("text", PERSON)
def test_requests_for_a_person_are_explicit_requests(text: str) -> None:
    found = detect(text)
    assert found.reason == HandoffReason.EXPLICIT_REQUEST, found
    assert any(cue.startswith("person:") for cue in found.cues)


@pytest.mark.parametrize("text", ANGRY)
def test_anger_hands_off_with_a_raised_priority(text: str) -> None:
    found = detect(text)
    assert found.reason in (HandoffReason.ANGER, HandoffReason.EXPLICIT_REQUEST), found
    assert found.priority in (Priority.HIGH, Priority.URGENT)


@pytest.mark.parametrize("text", COMPLAINTS)
def test_complaints_and_disputes_are_urgent(text: str) -> None:
    found = detect(text)
    assert found.complaint and found.topics == ["complaint"], found
    assert found.priority == Priority.URGENT


@pytest.mark.parametrize("text", CALM)
def test_ordinary_questions_find_nothing(text: str) -> None:
    assert detect(text).reason is None, detect(text)


def test_angry_request_is_explicit_but_urgent() -> None:
    found = detect("get me a human, you useless idiots!!!")
    assert found.reason == HandoffReason.EXPLICIT_REQUEST and found.priority == Priority.URGENT
    assert detect("").reason is None


@pytest.mark.skipif(not (DATA / "banking77_test.tsv").exists(), reason="public negatives not on this machine")
def test_held_out_precision_and_recall_floors() -> None:
    spec = importlib.util.spec_from_file_location("triage_quality", ROOT / "benchmarks" / "triage_quality.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["triage_quality"] = bench  # dataclasses look their module up while the class is made
    spec.loader.exec_module(bench)
    examples = bench.load_examples(DATA)
    assert sum(e.label != "none" and e.lang == "en" for e in examples) >= 60
    assert sum(e.label != "none" and e.lang == "zh" for e in examples) >= 60
    assert sum(e.label == "none" for e in examples) >= 100
    found = {e: detect(e.text).reason is not None for e in examples}
    tp = sum(hit and e.label != "none" for e, hit in found.items())
    fp = sum(hit and e.label == "none" for e, hit in found.items())
    positives = sum(e.label != "none" for e in examples)
    assert tp / positives >= 0.85, f"recall {tp / positives:.3f}"
    assert tp / (tp + fp) >= 0.95, f"precision {tp / (tp + fp):.3f}"
