"""The decision over calibrated probabilities: answer, clarify with 2-3 options (never one), none."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.decision import (
    FEATURES,
    Candidates,
    LogisticModel,
    Thresholds,
    candidates,
    decide,
    load_models,
)
from knowledge_base.search import Signals

LIMITS = Thresholds(answer=0.6, margin=0.2, clarify=0.2, option=0.1)


@pytest.mark.parametrize(("probs", "expected"), [
    ([0.9, 0.1, 0.05], ("answer", [0, 1, 2])),
    ([0.65, 0.5, 0.3], ("clarify", [0, 1, 2])),  # confident but too close to the runner-up
    ([0.4, 0.3, 0.02], ("clarify", [0, 1])),  # the third is not plausible
    ([0.4, 0.05, 0.01], ("none", [0, 1, 2])),  # one plausible FAQ is no choice
    ([0.1, 0.09, 0.08], ("none", [0, 1, 2])),
    ([0.05, 0.7, 0.3], ("answer", [1, 2, 0])),  # best first, whatever the input order
    ([0.05, 0.5, 0.3], ("clarify", [1, 2])),
])
def test_decide(probs: list[float], expected: tuple[str, list[int]]) -> None:
    assert decide(np.asarray(probs, dtype=np.float32), LIMITS, 3) == expected


def test_clarify_never_offers_one_faq() -> None:
    rng = np.random.default_rng(1)
    for _ in range(2000):
        probs = rng.random(rng.integers(1, 8)).astype(np.float32) ** 3
        decision, picked = decide(probs, LIMITS, 3)
        if decision == "clarify":
            assert 2 <= len(picked) <= 3 and len(set(picked)) == len(picked)


def test_candidates_are_relative_features_of_the_best_fused_entries() -> None:
    n = 30
    rng = np.random.default_rng(2)
    sig = Signals(np.arange(n), *(rng.random(n).astype(np.float32) for _ in range(5)), coverage=0.5)
    cands = candidates(sig, limit=10)
    assert cands.features.shape == (10, len(FEATURES)) and len(set(cands.entries.tolist())) == 10
    column = FEATURES.index("dense_gap")
    leader = int(np.argmax(sig.dense))
    if leader in cands.entries:
        row = list(cands.entries).index(leader)
        assert cands.features[row, column] == pytest.approx(np.sort(sig.dense)[-1] - np.sort(sig.dense)[-2])
    assert (cands.features[:, column] <= cands.features[:, column].max()).all()
    empty = candidates(Signals(np.zeros(0, dtype=np.int64), *(np.zeros(0, np.float32) for _ in range(5)), 0.0))
    assert empty.features.shape == (0, len(FEATURES))


def test_shipped_models_load_and_give_probabilities() -> None:
    models = load_models()
    assert set(models) == {"en", "zh"}
    feats = np.zeros((3, len(FEATURES)), dtype=np.float32)
    feats[0, FEATURES.index("dense")] = 0.9
    probs = models["en"].probabilities(feats)
    assert probs.shape == (3,) and ((probs > 0) & (probs < 1)).all()
    assert models["en"].probabilities(Candidates(np.zeros(0), np.zeros((0, len(FEATURES)))).features).shape == (0,)
    with pytest.raises(ValueError, match="features"):
        LogisticModel.from_json({"mean": [0.0], "scale": [1.0], "weights": [1.0], "bias": 0.0})


def test_setting_defaults_are_the_thresholds_chosen_with_the_shipped_model() -> None:
    """benchmarks/kb_lenders.py --write-model stores the model and its thresholds; the settings' defaults
    must be those thresholds, or the shipped decision is not the measured one."""
    import json
    from importlib import resources

    from knowledge_base.config import KBSettings

    shipped = json.loads(resources.files("knowledge_base").joinpath("decision_model.json").read_text("utf-8"))
    defaults = {name: field.default for name, field in KBSettings.model_fields.items()}
    for lang, t in shipped["thresholds"].items():
        prefix = "zh_" if lang == "zh" else ""
        assert (defaults[f"{prefix}answer_threshold"], defaults[f"{prefix}margin"],
                defaults[f"{prefix}clarify_threshold"], defaults[f"{prefix}option"]) == \
            (t["answer"], t["margin"], t["clarify"], t["option"]), lang
