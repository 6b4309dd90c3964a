"""Unanswered questions grouped by meaning, one language at a time: average-linkage clustering (scikit-learn)
on the cosine distance of the knowledge base's own hybrid - the embedder's vector and TF-IDF of the KB's
lexical tokens, weighted per language (`unanswered_report.CLUSTER_DENSE_WEIGHT`: mostly lexical in
Chinese, where the small embedder sees little). Each cluster has a count, example wordings, the
FAQ the bot found nearest (and its best score), and a trend: the first half of the window against the second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from knowledge_base.text import clean
from knowledge_base.unanswered import Asked

DEFAULT_DISTANCE = 0.6  # hybrid cosine distance that joins two groups (average linkage); tuned on benchmarks/eval
MAX_WORDINGS = 2000  # distinct wordings per language clustered at once (the linkage is quadratic)
EXAMPLES = 5

Encode = Callable[[list[str]], np.ndarray]
Tokens = Callable[[str], list[str]]


@dataclass(frozen=True)
class Cluster:
    lang: str
    count: int
    wordings: tuple[str, ...]  # distinct, most asked first
    kinds: dict[str, int]
    nearest_faq: str | None
    nearest_score: float | None
    earlier: int  # asked in the first half of the window
    later: int  # ... and in the second half

    @property
    def examples(self) -> tuple[str, ...]:
        return self.wordings[:EXAMPLES]

    @property
    def trend(self) -> str:
        """"rising", "falling" or "steady" (a change of less than a half either way is steady)."""
        if self.later > self.earlier * 1.5 and self.later - self.earlier >= 2:
            return "rising"
        if self.earlier > self.later * 1.5 and self.earlier - self.later >= 2:
            return "falling"
        return "steady"


def features(texts: list[str], encode: Encode, tokens: Tokens | None, dense_weight: float) -> np.ndarray:
    """Unit vectors whose inner product is `w * dense cosine + (1 - w) * TF-IDF cosine`."""
    dense = encode(texts)
    if tokens is None or dense_weight >= 1.0:
        return dense
    # scikit-learn (and SciPy under it) load with the first report, not with the service: ~90 MB of RSS
    # that a replica answering borrowers never needs.
    from sklearn.feature_extraction.text import TfidfVectorizer

    lexical = TfidfVectorizer(analyzer=tokens).fit_transform(texts).toarray().astype(np.float32)
    joined = np.hstack([np.sqrt(dense_weight) * dense, np.sqrt(1.0 - dense_weight) * lexical])
    norms = np.linalg.norm(joined, axis=1, keepdims=True)
    return joined / np.where(norms == 0, 1.0, norms)


def _labels(vectors: np.ndarray, distance: float) -> np.ndarray:
    if len(vectors) == 1:
        return np.zeros(1, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average")
    labels: np.ndarray = model.fit_predict(vectors)
    return labels


def _tally(pairs: Iterator[tuple[str, int]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for key, n in pairs:
        counts[key] += n
    return counts


def _one(lang: str, rows: list[Asked], midpoint: datetime) -> Cluster:
    """Every figure weighs a row by its `count` (identical questions come added up)."""
    wordings = _tally((r.question, r.count) for r in rows)
    found = [(r.faq_id, r.score, r.count) for r in rows if r.faq_id]
    nearest = _tally((faq, n) for faq, _, n in found).most_common(1)[0][0] if found else None
    scores = [s for faq, s, _ in found if faq == nearest and s is not None]
    return Cluster(
        lang=lang, count=sum(r.count for r in rows), wordings=tuple(w for w, _ in wordings.most_common()),
        kinds=dict(_tally((r.kind, r.count) for r in rows).most_common()), nearest_faq=nearest,
        nearest_score=round(max(scores), 3) if scores else None,
        earlier=sum(r.count for r in rows if r.at < midpoint), later=sum(r.count for r in rows if r.at >= midpoint),
    )


def cluster(asked: Sequence[Asked], encode: Encode, *, start: datetime, end: datetime,
            distance: float = DEFAULT_DISTANCE, tokens: Tokens | None = None,
            dense_weight: Callable[[str], float] = lambda lang: 1.0) -> list[Cluster]:
    """Clusters of `asked`, largest first. Identical wordings (after the KB's text cleaning) are encoded once;
    beyond `MAX_WORDINGS` distinct wordings of a language the rarest are left out."""
    midpoint = start + (end - start) / 2
    clusters: list[Cluster] = []
    for lang in sorted({a.lang for a in asked}):
        rows = [a for a in asked if a.lang == lang]
        by_text: dict[str, list[Asked]] = {}
        for row in rows:
            by_text.setdefault(clean(row.question).lower(), []).append(row)
        asked_times = {k: sum(r.count for r in v) for k, v in by_text.items()}
        keys = sorted(by_text, key=lambda k: (-asked_times[k], k))[:MAX_WORDINGS]
        labels = _labels(features(keys, encode, tokens, dense_weight(lang)), distance)
        groups: dict[int, list[Asked]] = {}
        for key, label in zip(keys, labels, strict=True):
            groups.setdefault(int(label), []).extend(by_text[key])
        clusters.extend(_one(lang, members, midpoint) for members in groups.values())
    return sorted(clusters, key=lambda c: (-c.count, c.lang, c.wordings[0]))
