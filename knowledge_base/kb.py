"""KnowledgeBase: the object the action server holds. Loads the index and the model once, answers searches,
and picks up a rebuilt index without a restart (checks manifest.json at most every reload_interval_s)."""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base import e5, store
from knowledge_base.config import KBSettings
from knowledge_base.decision import LangModel, Thresholds, Verdict, decide, load_models
from knowledge_base.e5 import E5Embedder
from knowledge_base.embedder import Embedder, OnnxEmbedder, QueryEmbedder, model_id
from knowledge_base.errors import IndexNotBuiltError, KBError, ModelLoadError
from knowledge_base.faq import LANGS
from knowledge_base.results import Decision, Hit, SearchResponse
from knowledge_base.search import LangIndex, Signals
from knowledge_base.text import Tokenizer, clean, detect_lang


def limits(settings: KBSettings, lang: str) -> Thresholds:
    answer, clarify = settings.thresholds(lang)
    return Thresholds(answer=answer, clarify=clarify)


@dataclass(frozen=True)
class Analysis:
    """What one query looks like to the decision: its language and, per language to try in order, the
    retrieval signals (the part benchmarks re-decide with other models)."""

    lang: str
    tried: list[tuple[str, Signals]]


def resolve(analysis: Analysis, models: dict[str, LangModel], limits: dict[str, Thresholds],
            clarify_max: int) -> tuple[Decision, list[tuple[int, float]]]:
    """Decide in the query's language first; when nothing fits there and the other language is tried
    (``cross_lingual_fallback``), only a clear answer there counts (buttons in a language the borrower did
    not write in help nobody). Returns the decision and (entry, score) pairs to show, best first."""
    first: tuple[Decision, list[tuple[int, float]]] | None = None
    for search_lang, sig in analysis.tried:
        verdict: Verdict = decide(sig, models[search_lang], limits[search_lang], clarify_max)
        found = (verdict.decision, [(int(sig.entries[i]), s) for i, s in zip(verdict.positions, verdict.scores,
                                                                              strict=True)])
        if first is None:
            if verdict.decision != "none":
                return found
            first = found
        elif verdict.decision == "answer":
            return found
    return first or ("none", [])


@dataclass(frozen=True)
class _Snapshot:
    """One loaded, immutable index version; searches hold a reference, reloads replace it whole."""

    manifest: dict[str, Any]
    stamp: tuple[int, int] | None
    entries: list[dict[str, Any]]
    by_id: dict[str, int]
    langs: dict[str, LangIndex]
    embedder: QueryEmbedder  # the model the version was built with: query and index vectors always match
    exact: dict[str, int]  # an FAQ's own title or question, as `exact_key` writes it -> its entry
    lang_embedders: dict[str, E5Embedder]  # languages built with another model (manifest "lang_models")

    def encoder(self, lang: str) -> QueryEmbedder | E5Embedder:
        """What embeds a query searched among the FAQs of ``lang``."""
        return self.lang_embedders.get(lang, self.embedder)


EXACT_MIN_CHARS = 4  # shorter keys ("hi", "ok") are too likely to be something else


def exact_key(text: str) -> str:
    """A title or question as a borrower may type it: no case, spaces or punctuation, full-width folded
    ("How do I pay?" = "how do i pay", "怎么还款？" = "怎么还款")."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def exact_questions(entries: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Each FAQ's title and questions -> the FAQ; a wording two FAQs share belongs to neither."""
    found: dict[str, int | None] = {}
    for n, entry in enumerate(entries):
        for text in (entry["title"], *entry.get("questions", ())):
            key = exact_key(str(text))
            if len(key) >= EXACT_MIN_CHARS:
                found[key] = n if found.get(key, n) == n else None
    return {key: n for key, n in found.items() if n is not None}


class KnowledgeBase:
    """Thread-safe FAQ search. ``embedder`` may be shared (e.g. one model for a whole test session)."""

    def __init__(self, settings: KBSettings | None = None, *, embedder: QueryEmbedder | None = None,
                 tokenizer: Tokenizer | None = None, models: dict[str, LangModel] | None = None) -> None:
        self.settings = settings or KBSettings()
        self.index_dir = self.settings.index_path()
        self._embedder = embedder
        self._tokenizer = tokenizer or Tokenizer()
        self.models = models or load_models(zh_model=self.settings.zh_model)
        self.limits = {lang: limits(self.settings, lang) for lang in LANGS}
        self._reload_lock = threading.Lock()
        self._checked = time.monotonic()
        self._snapshot = self._load()

    @classmethod
    def open(cls, index_dir: str | Path, settings: KBSettings | None = None, **kwargs: Any) -> KnowledgeBase:
        settings = (settings or KBSettings()).model_copy(update={"index_dir": Path(index_dir)})
        return cls(settings, **kwargs)

    # -- loading ---------------------------------------------------------------------------------------
    def _load(self) -> _Snapshot:
        for attempt in range(3):
            stamp = store.manifest_stamp(self.index_dir)
            manifest = store.read_manifest(self.index_dir)
            try:
                meta, indexes = store.load_version(self.index_dir, manifest)
                break
            except IndexNotBuiltError:
                if attempt == 2:  # a concurrent build may have pruned the version we just read about
                    raise
        embedder = self._embedder
        if embedder is None or embedder.id != manifest.get("model_id"):
            # The configured model when it is the one the index was built with (the path recorded in the
            # manifest may belong to another machine or virtualenv), else the recorded one.
            name = self.settings.model if model_id(self.settings.model) == manifest.get("model_id") \
                else str(manifest["model"])
            embedder = self._embedder_for(name)
        lang_embedders = {lang: self._lang_embedder(mid) for lang, mid in manifest.get("lang_models", {}).items()}
        entries: list[dict[str, Any]] = meta["entries"]
        langs = {lang: LangIndex(lang, indexes[lang], meta["texts"][lang], len(entries))
                 for lang in meta["texts"] if lang in indexes}
        self._embedder = embedder
        return _Snapshot(manifest, stamp, entries, {e["id"]: n for n, e in enumerate(entries)}, langs, embedder,
                         exact_questions(entries), lang_embedders)

    def _lang_embedder(self, mid: str) -> E5Embedder:
        """The e5 model a language of the index was built with; ModelLoadError when this machine has another."""
        found = e5.shared(self.settings.query_threads)
        if found.id != mid:
            raise ModelLoadError(mid, f"the index was built with it and this machine has {found.id}; run "
                                 f"`python -m knowledge_base build --index {self.index_dir}` again")
        return found

    def _embedder_for(self, name: str) -> QueryEmbedder:
        """ONNX Runtime alone (no PyTorch in this process) unless KB_QUERY_RUNTIME=torch."""
        onnx_dir = self.settings.onnx_path()
        if onnx_dir is None:
            return Embedder(name, self.settings.device, self.settings.batch_size)
        return OnnxEmbedder(name, onnx_dir=onnx_dir, query_threads=self.settings.query_threads,
                            batch_size=self.settings.batch_size)

    def reload(self, force: bool = False) -> bool:
        """Load the published version if it changed (or ``force``); True when a new one was loaded."""
        with self._reload_lock:
            self._checked = time.monotonic()
            current = self._snapshot
            if not force and store.manifest_stamp(self.index_dir) == current.stamp:
                return False
            try:
                fresh = self._load()
            except KBError:
                return False  # unreadable version or model: keep serving the version we have
            changed = fresh.manifest.get("version") != current.manifest.get("version")
            self._snapshot = fresh
            return changed or force

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._checked >= self.settings.reload_interval_s and \
                not self._reload_lock.locked():
            self.reload()

    @property
    def version(self) -> str:
        return str(self._snapshot.manifest["version"])

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self._snapshot.manifest)

    # -- queries ---------------------------------------------------------------------------------------
    def search(self, text: str, lang: str | None = None) -> SearchResponse:
        """Search the FAQs of ``lang`` (detected from the text when None) first, then the other language when
        nothing fits. Never raises for odd input: empty or junk text gives decision ``none``."""
        return self.search_many([text], lang)[0]

    def search_many(self, texts: Sequence[str], lang: str | None = None) -> list[SearchResponse]:
        """``search`` for several queries with one batched encode (benchmarks, bulk reports)."""
        if lang is not None and lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)} or None, not {lang!r}")
        self._maybe_reload()
        snap = self._snapshot
        analyses = self._analyse(snap, texts, lang, fallback=False)
        if self.settings.cross_lingual_fallback:  # the other language only for what its own cannot answer
            redo = [i for i, a in enumerate(analyses)
                    if resolve(a, self.models, self.limits, self.settings.clarify_max)[0] == "none"]
            analyses = self._fallbacks(snap, analyses, texts, redo) if redo else analyses
        out = []
        for text, analysis in zip(texts, analyses, strict=True):
            decision, chosen = resolve(analysis, self.models, self.limits, self.settings.clarify_max)
            # The borrower typed one of an FAQ's own questions: the editor wrote that wording for that FAQ, so
            # it is answered, whatever the scores of its near twins (`evaluate` tells editors to add wordings).
            exact = snap.exact.get(exact_key(clean(str(text))[: self.settings.max_query_chars]))
            if decision != "answer" and exact is not None and (lang is None or snap.entries[exact]["lang"] == lang):
                decision, chosen = "answer", [(exact, 1.0)]
            if decision != "clarify":
                chosen = chosen[: self.settings.top_k]
            out.append(SearchResponse(str(text), analysis.lang, decision,
                                      [to_hit(snap.entries[e], p) for e, p in chosen],
                                      str(snap.manifest["version"])))
        return out

    def analyse_many(self, texts: Sequence[str], lang: str | None = None, *,
                     fallback: bool | None = None) -> list[Analysis]:
        """Retrieval signals of each query, in every language it would be tried in (only its own language
        when ``fallback`` is False; None: as ``cross_lingual_fallback`` says)."""
        if lang is not None and lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)} or None, not {lang!r}")
        self._maybe_reload()
        return self._analyse(self._snapshot, texts, lang,
                             self.settings.cross_lingual_fallback if fallback is None else fallback)

    def _analyse(self, snap: _Snapshot, texts: Sequence[str], lang: str | None, fallback: bool) -> list[Analysis]:
        queries = [clean(str(t))[: self.settings.max_query_chars] for t in texts]
        primaries = [lang or detect_lang(q, self.settings.zh_ratio) for q in queries]
        orders = [[p] + ([o for o in LANGS if o != p] if fallback else []) for p in primaries]
        return self._signals(snap, queries, primaries, orders)

    def _fallbacks(self, snap: _Snapshot, analyses: list[Analysis], texts: Sequence[str],
                   redo: list[int]) -> list[Analysis]:
        """``analyses`` with the other language tried too for the queries at ``redo``."""
        queries = [clean(str(texts[i]))[: self.settings.max_query_chars] for i in redo]
        primaries = [analyses[i].lang for i in redo]
        orders = [[o for o in LANGS if o != p] for p in primaries]
        more = self._signals(snap, queries, primaries, orders)
        out = list(analyses)
        for i, extra in zip(redo, more, strict=True):
            out[i] = Analysis(analyses[i].lang, analyses[i].tried + extra.tried)
        return out

    def _signals(self, snap: _Snapshot, queries: list[str], primaries: list[str],
                 orders: list[list[str]]) -> list[Analysis]:
        """Each query embedded once per model its languages need (one batch per model), then searched."""
        orders = [[lg for lg in order if lg in snap.langs] if q else [] for q, order in zip(queries, orders,
                                                                                            strict=True)]
        vectors: dict[tuple[str, int], np.ndarray] = {}
        for search_lang in LANGS:
            encoder = snap.encoder(search_lang)
            todo = [i for i, order in enumerate(orders) if search_lang in order and (encoder.id, i) not in vectors]
            if todo:
                vectors.update(((encoder.id, i), v) for i, v in
                               zip(todo, encoder.encode([queries[i] for i in todo]), strict=True))
        out = []
        for i, (query, primary, order) in enumerate(zip(queries, primaries, orders, strict=True)):
            tokens = self._tokenizer.tokens(query) if order else []
            out.append(Analysis(primary, [(lg, snap.langs[lg].signals(vectors[(snap.encoder(lg).id, i)], tokens))
                                          for lg in order]))
        return out

    @property
    def embedder(self) -> QueryEmbedder:
        """The model the loaded index was built with (to embed other text in the same space)."""
        return self._snapshot.embedder

    def get(self, faq_id: str) -> Hit | None:
        snap = self._snapshot
        n = snap.by_id.get(faq_id)
        if n is None:
            return None
        return to_hit(snap.entries[n], 1.0)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._snapshot.entries)


def to_hit(entry: dict[str, Any], probability: float) -> Hit:
    return Hit(id=entry["id"], title=entry["title"], score=probability, source=entry["source"],
               lang=entry["lang"], answer=entry["answer"], tags=tuple(entry["tags"]))
