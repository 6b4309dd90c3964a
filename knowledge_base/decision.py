"""From retrieval signals to a decision: candidate features, a calibrated logistic model, thresholds.

The model gives each candidate FAQ the probability that it is the one the borrower means. Its features are
relative (ranks, margins to the best other entry, rank fusion) or on fixed scales (cosines, shares of the
query's weight), never raw scores whose meaning depends on how many alternative questions a KB has. Weights
and thresholds are chosen by leave-one-KB-out on five lenders' FAQ sets (benchmarks/kb_lenders.py) and
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

CANDIDATES = 10  # entries scored by the model per query: the best by reciprocal-rank fusion
RRF_K = 60.0
SIGNALS = ("dense", "passage", "tfidf", "bm25", "passage_words")
FEATURES = (*SIGNALS, *(f"{s}_gap" for s in SIGNALS), *(f"{s}_rank" for s in SIGNALS), "rrf", "coverage",
            "fused_rank")


@dataclass(frozen=True)
class Candidates:
    """The entries worth scoring for one query, with their features (one row per entry)."""

    entries: np.ndarray
    features: np.ndarray  # shape (len(entries), len(FEATURES))


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[order] = np.arange(len(values), dtype=np.float32)
    return ranks


def _gap(values: np.ndarray) -> np.ndarray:
    """Each value minus the best value of any other entry (the margin to the runner-up for the leader)."""
    if len(values) < 2:
        return values.copy()
    top2 = np.partition(values, -2)[-2:]
    best, second = float(top2.max()), float(top2.min())
    return values - np.where(values >= best, second, best)


def candidates(sig: Signals, limit: int = CANDIDATES) -> Candidates:
    """The ``limit`` entries best by reciprocal-rank fusion of the signals, with their features."""
    n = len(sig.entries)
    if not n:
        return Candidates(sig.entries, np.zeros((0, len(FEATURES)), dtype=np.float32))
    columns = tuple(getattr(sig, name) for name in SIGNALS)
    ranks = [_ranks(c) for c in columns]
    rrf = np.sum([1.0 / (RRF_K + r + 1.0) for r in ranks], axis=0)
    fused = _ranks(rrf)
    pick = np.argsort(fused, kind="stable")[:limit]
    feats = np.column_stack([
        *(c[pick] for c in columns),
        *(_gap(c)[pick] for c in columns),
        *(1.0 / (1.0 + r[pick]) for r in ranks),
        rrf[pick] * RRF_K / len(SIGNALS),  # 1.0 when first by every signal
        np.full(len(pick), sig.coverage, dtype=np.float32),
        1.0 / (1.0 + fused[pick]),
    ]).astype(np.float32)
    return Candidates(sig.entries[pick], feats)


@dataclass(frozen=True)
class Thresholds:
    """Probabilities (not scores) that the decision needs; the same meaning on any KB."""

    answer: float  # best candidate's probability needed to answer
    margin: float  # and its lead over the runner-up
    clarify: float  # best candidate's probability needed to offer anything
    option: float  # probability each further clarify option needs


@dataclass(frozen=True)
class LogisticModel:
    """P(candidate is the FAQ meant) = sigmoid(standardised features . weights + bias)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0, dtype=np.float32)
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        probs: np.ndarray = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        return probs

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticModel:
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")}
        if not all(len(a) == len(FEATURES) for a in arrays.values()):
            raise ValueError(f"decision model must have {len(FEATURES)} features ({', '.join(FEATURES)})")
        return cls(arrays["mean"], arrays["scale"], arrays["weights"], float(data["bias"]))


def load_models(text: str | None = None) -> dict[str, LogisticModel]:
    """{lang: model} from ``decision_model.json`` shipped with the package (or the given JSON text)."""
    if text is None:
        text = resources.files("knowledge_base").joinpath("decision_model.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {lang: LogisticModel.from_json(m) for lang, m in data["models"].items()}


def decide(probs: np.ndarray, limits: Thresholds, clarify_max: int) -> tuple[Decision, list[int]]:
    """Positions (into ``probs``, best first) to show: one to answer, 2 to ``clarify_max`` to clarify."""
    order = [int(i) for i in np.argsort(-probs, kind="stable")]
    if not order or probs[order[0]] < limits.clarify:
        return "none", order
    best = float(probs[order[0]])
    runner_up = float(probs[order[1]]) if len(order) > 1 else 0.0
    if best >= limits.answer and best - runner_up >= limits.margin:
        return "answer", order
    options = [order[0]] + [i for i in order[1:clarify_max] if probs[i] >= limits.option]
    if len(options) < 2:  # one plausible FAQ is not a choice: below the answer bar it is "I don't know"
        return "none", order
    return "clarify", options
