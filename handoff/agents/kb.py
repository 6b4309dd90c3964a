"""The knowledge base as the console uses it: loaded lazily, once per process.

Loading the embedding model takes seconds, so nothing happens until the first search. Without a
built index every search raises `KBUnavailableError` (503) with the command that fixes it, and the
next call tries again. The editors' report clusters with the same embedder (or, without an index, with
the model alone) and reads the FAQ list and the test questions from the source folder.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from handoff.errors import NotFoundError, UnavailableError
from knowledge_base import KBError, KBSettings, KnowledgeBase, read_source
from knowledge_base import question_set as qs
from knowledge_base.clusters import Cluster, cluster
from knowledge_base.embedder import Embedder, QueryEmbedder
from knowledge_base.markup import to_html, to_plain
from knowledge_base.text import Tokenizer
from knowledge_base.unanswered import Asked
from knowledge_base.unanswered_report import CLUSTER_DENSE_WEIGHT

FAQ_ID = re.compile(r"^[a-z0-9-]{1,80}$")
VECTOR_CACHE = 50_000  # wordings whose vectors are kept between reports


class KBUnavailableError(UnavailableError):
    code = "kb_unavailable"


class LazyKnowledgeBase:
    """Thread-safe holder of the knowledge base that `settings` (built by the entry point) describe."""

    def __init__(self, settings: KBSettings) -> None:
        self._settings = settings
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()
        self._embedder: QueryEmbedder | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._tokenizer = Tokenizer()

    def _get(self) -> KnowledgeBase:
        with self._lock:
            if self._kb is None:
                try:
                    self._kb = KnowledgeBase(self._settings)
                except (KBError, OSError) as exc:
                    raise KBUnavailableError(
                        f"the FAQ search index is not available ({type(exc).__name__}); "
                        "build it with `python -m knowledge_base build`"
                    ) from None
            return self._kb

    def search(self, text: str, *, lang: str | None = None) -> dict[str, Any]:
        """Hits with the answer three ways: `answer` (the markdown), `html` (sanitised, for showing) and
        `text` (plain, for inserting into a reply: agents' messages are shown as plain text)."""
        response = self._get().search(text, lang=lang)
        return {
            "query": text,
            "decision": response.decision,
            "results": [
                {"id": h.id, "title": h.title, "score": round(h.score, 4), "source": h.source, "lang": h.lang,
                 "answer": h.answer, "html": to_html(h.answer), "text": to_plain(h.answer), "tags": list(h.tags), "link": f"/api/agent/kb/faq/{h.lang}/{h.id}"}
                for h in response.results
            ],
        }

    def source_text(self, *, lang: str, faq_id: str) -> dict[str, str]:
        """The markdown source file of one FAQ, found by id (never by a path from the client)."""
        if lang not in ("en", "zh") or not FAQ_ID.match(faq_id):
            raise NotFoundError("no such FAQ", target_id=faq_id)
        settings = self._settings
        path: Path = settings.source_path() / lang / f"{faq_id}.md"
        if not path.is_file():
            raise NotFoundError("no such FAQ", target_id=faq_id)
        return {"id": faq_id, "lang": lang, "source": f"{settings.source.as_posix()}/{lang}/{faq_id}.md",
                "markdown": path.read_text(encoding="utf-8")}

    def _encoder(self) -> QueryEmbedder:
        with self._lock:
            if self._embedder is None:
                if self._kb is not None:
                    self._embedder = self._kb.embedder
                else:
                    try:
                        self._embedder = Embedder(self._settings.model, self._settings.device)
                    except (KBError, OSError) as exc:
                        raise KBUnavailableError(f"the embedding model cannot be loaded ({type(exc).__name__})") \
                            from None
            return self._embedder

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts`, from the cache where the same wording was seen before."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            fresh = self._encoder().encode(missing)
            if len(self._vectors) + len(missing) > VECTOR_CACHE:
                self._vectors.clear()
            self._vectors.update(zip(missing, fresh, strict=True))
        return np.vstack([self._vectors[t] for t in texts])

    def clusters(self, asked: Sequence[Asked], *, start: datetime, end: datetime) -> list[Cluster]:
        """The unanswered questions grouped as `python -m knowledge_base unanswered` groups them."""
        if not asked:
            return []
        return cluster(asked, self.encode, start=start, end=end, tokens=self._tokenizer.tokens,
                       dense_weight=CLUSTER_DENSE_WEIGHT.__getitem__)

    def faqs(self) -> list[dict[str, str]]:
        """Every FAQ of the source folder (id, language, title), for an editor to pick from."""
        source = read_source(self._settings.source_path(), self._settings.root)
        return [{"id": f.id, "lang": f.lang, "title": f.title} for f in sorted(source.faqs, key=lambda f: (f.lang, f.id))]

    def test_questions_path(self) -> Path:
        return qs.path_in(self._settings.source_path())

    def test_questions(self) -> list[qs.QuestionCase]:
        try:
            return qs.read(self.test_questions_path())
        except KBError as exc:
            raise KBUnavailableError(str(exc)) from None

    def add_test_questions(self, *, faq_id: str, lang: str, questions: Sequence[str]) -> list[qs.QuestionCase]:
        """Append `questions` as test questions of FAQ `faq_id` (NotFoundError for an unknown FAQ or language)."""
        if not any(f["id"] == faq_id and f["lang"] == lang for f in self.faqs()):
            raise NotFoundError(f"no {lang} FAQ {faq_id!r}", target_id=faq_id)
        try:
            return qs.append(self.test_questions_path(),
                             [qs.QuestionCase(question=q, faq_id=faq_id, lang=lang) for q in questions])
        except KBError as exc:
            raise KBUnavailableError(str(exc)) from None
