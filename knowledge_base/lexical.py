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


class BM25Index:
    """Okapi BM25 over token lists (k1, b as usual); ``scores`` is each document's BM25 divided by the best
    score any document could get for this query (every query token at its idf), so it lies in [0, 1] on any KB."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(docs)
        self.k1 = k1
        df: Counter[str] = Counter()
        for tokens in docs:
            df.update(set(tokens))
        n = max(self.size, 1)
        self._idf = {t: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unseen_idf = math.log(1.0 + (n + 0.5) / 0.5)
        avg = sum(len(d) for d in docs) / n if docs else 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for row, tokens in enumerate(docs):
            norm = k1 * (1.0 - b + b * len(tokens) / (avg or 1.0))
            for t, f in Counter(tokens).items():
                rows, values = postings.setdefault(t, ([], []))
                rows.append(row)
                values.append(f * (k1 + 1.0) / (f + norm))
        self._postings = {t: (np.asarray(r, dtype=np.int64), np.asarray(v, dtype=np.float32))
                          for t, (r, v) in postings.items()}

    def idf(self, token: str) -> float:
        return self._idf.get(token, self._unseen_idf)

    def scores(self, tokens: list[str]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        query = set(tokens)
        total = sum(self.idf(t) for t in query) * (self.k1 + 1.0)
        if not total:
            return out
        for t in query:
            posting = self._postings.get(t)
            if posting is not None:
                out[posting[0]] += posting[1] * self._idf[t]
        shares: np.ndarray = np.clip(out / total, 0.0, 1.0)
        return shares

    def has(self, token: str) -> bool:
        return token in self._idf

    def coverage(self, tokens: list[str]) -> float:
        """Idf-weighted share of the query's distinct tokens that some document contains."""
        query = set(tokens)
        total = sum(self.idf(t) for t in query)
        return sum(self._idf[t] for t in query if t in self._idf) / total if total else 0.0
