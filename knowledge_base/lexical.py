"""Lexical scorer: TF-IDF cosine (sublinear tf) over tokens, in [0, 1] so it mixes with the dense cosine."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


class LexicalIndex:
    """Inverted index over documents given as token lists; ``scores`` costs O(postings of query tokens)."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.size = len(docs)
        df: Counter[str] = Counter()
        for tokens in docs:
            df.update(set(tokens))
        self._idf = {t: math.log((1 + self.size) / (1 + n)) + 1.0 for t, n in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for row, tokens in enumerate(docs):
            weights = {t: (1.0 + math.log(n)) * self._idf[t] for t, n in Counter(tokens).items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for t, w in weights.items():
                rows, values = postings.setdefault(t, ([], []))
                rows.append(row)
                values.append(w / norm)
        self._postings = {t: (np.asarray(r, dtype=np.int64), np.asarray(v, dtype=np.float32))
                          for t, (r, v) in postings.items()}

    def scores(self, tokens: list[str]) -> np.ndarray:
        """Cosine of the query against every document (unknown tokens still count in the query norm)."""
        out = np.zeros(self.size, dtype=np.float32)
        if not tokens:
            return out
        unseen_idf = math.log(1 + self.size) + 1.0
        weights = {t: (1.0 + math.log(n)) * self._idf.get(t, unseen_idf) for t, n in Counter(tokens).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for t, w in weights.items():
            posting = self._postings.get(t)
            if posting is not None:
                out[posting[0]] += posting[1] * (w / norm)
        return out
