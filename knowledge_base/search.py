"""Retrieval signals over one loaded index version: per FAQ entry, how well a query matches it, four ways.

Every signal is on a scale that means the same on any KB (cosines, or a share of the query's own weight),
so the decision model (``decision.py``) that turns them into probabilities carries over from one lender's
FAQs to another's.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np

from knowledge_base.lexical import LexicalIndex

DENSE_K = 4096  # texts fetched from FAISS per query; entries beyond it count as dense 0
BM25_K1 = 1.2
QUESTION_KINDS = ("title", "question")


@dataclass(frozen=True)
class Signals:
    """Per entry of one language (aligned with ``entries``): the raw match of one query."""

    entries: np.ndarray  # entry numbers (into the snapshot's entries list)
    dense: np.ndarray  # best cosine over the entry's title and questions
    passage: np.ndarray  # best cosine over the entry's answer passages (0 when none are indexed)
    tfidf: np.ndarray  # TF-IDF cosine (mean of best text and pooled texts)
    bm25: np.ndarray  # BM25 over the pooled title + questions, as a share of the query's best possible
    passage_words: np.ndarray  # best TF-IDF cosine over the entry's answer passages
    coverage: float  # idf-weighted share of the query's tokens that this language's FAQs (answers too) contain


class LangIndex:
    """The texts of one language: FAISS vectors, lexical indexes, and which entry each text belongs to."""

    def __init__(self, lang: str, faiss_index: Any, texts: list[dict[str, Any]], n_entries: int) -> None:
        self.lang = lang
        self.faiss = faiss_index
        self.text_entry = np.asarray([t["entry"] for t in texts], dtype=np.int64)
        self.is_question = np.asarray([t["kind"] in QUESTION_KINDS for t in texts], dtype=bool)
        self.entries = np.unique(self.text_entry[self.is_question]) if len(texts) else np.zeros(0, np.int64)
        self.n_entries = n_entries
        asked = [t for t in texts if t["kind"] in QUESTION_KINDS]
        passages = [t for t in texts if t["kind"] not in QUESTION_KINDS]
        self._passage_entry = np.asarray([t["entry"] for t in passages], dtype=np.int64)
        self._vocabulary = {tok for t in texts for tok in t["tokens"]}
        self.passage_lexical = LexicalIndex([t["tokens"] for t in passages])
        self._asked_entry = np.asarray([t["entry"] for t in asked], dtype=np.int64)
        self.lexical = LexicalIndex([t["tokens"] for t in asked])
        # The same tokens pooled per entry: a query may share words with the title and with a question.
        pooled: dict[int, list[str]] = {int(e): [] for e in self.entries}
        for t in asked:
            pooled[t["entry"]].extend(t["tokens"])
        docs = [pooled[int(e)] for e in self.entries]
        self.pooled = LexicalIndex(docs)
        self._bm25 = bm25s.BM25(k1=BM25_K1, b=0.75)
        if docs:
            self._bm25.index([d or [""] for d in docs], show_progress=False)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        n = max(len(docs), 1)
        self._idf = {t: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unseen_idf = math.log(1.0 + (n + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self.text_entry)

    def signals(self, qvec: np.ndarray, tokens: list[str]) -> Signals:
        """Every signal for every entry of this language (vectorised; about a millisecond at 1,000 FAQs)."""
        n = len(self.entries)
        if not n:
            empty = np.zeros(0, dtype=np.float32)
            return Signals(self.entries, empty, empty, empty, empty, empty, 0.0)
        dense = np.zeros(self.n_entries, dtype=np.float32)
        passage = np.zeros(self.n_entries, dtype=np.float32)
        k = min(len(self), DENSE_K)
        sims, rows = self.faiss.search(qvec.reshape(1, -1).astype(np.float32), k)
        valid = rows[0] >= 0
        rows_v, sims_v = rows[0][valid], np.clip(sims[0][valid], 0.0, 1.0)
        asked = self.is_question[rows_v]
        np.maximum.at(dense, self.text_entry[rows_v[asked]], sims_v[asked])
        np.maximum.at(passage, self.text_entry[rows_v[~asked]], sims_v[~asked])
        lex = np.zeros(self.n_entries, dtype=np.float32)
        np.maximum.at(lex, self._asked_entry, self.lexical.scores(tokens))
        tfidf = (lex[self.entries] + self.pooled.scores(tokens)) / 2.0
        weights = [self._idf.get(t, self._unseen_idf) for t in tokens]
        total = sum(weights)
        known = [t for t in tokens if t in self._idf]
        bm25 = np.zeros(n, dtype=np.float32)
        if known:
            bm25 = np.asarray(self._bm25.get_scores(known), dtype=np.float32) / (total * (BM25_K1 + 1.0))
        # Words of the answers count too: a borrower may use the answer's words and none of the title's.
        coverage = sum(w for t, w in zip(tokens, weights, strict=True) if t in self._vocabulary) / total \
            if total else 0.0
        words = np.zeros(self.n_entries, dtype=np.float32)
        if len(self._passage_entry):
            np.maximum.at(words, self._passage_entry, self.passage_lexical.scores(tokens))
        return Signals(self.entries, dense[self.entries], passage[self.entries], tfidf.astype(np.float32),
                       np.clip(bm25, 0.0, 1.0), words[self.entries], float(coverage))
