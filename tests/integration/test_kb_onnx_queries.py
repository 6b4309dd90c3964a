"""Query embeddings on ONNX Runtime (knowledge_base/onnx_query.py) with the real model: the same vectors as
PyTorch on every evaluation question, the same search answers, the export cached, and PyTorch kept
whenever the export cannot be trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base import KBSettings, KnowledgeBase, onnx_query
from knowledge_base.embedder import Embedder

REPO = Path(__file__).resolve().parents[2]


def eval_questions() -> list[str]:
    questions = []
    for name in ("en.tsv", "zh.tsv"):
        lines = (REPO / "benchmarks" / "eval" / name).read_text(encoding="utf-8").splitlines()
        questions += [line.split("\t")[0] for line in lines if line.strip()]
    return questions


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def both(onnx_dir: Path) -> tuple[Embedder, Embedder]:
    model = KBSettings().model
    return Embedder(model, onnx_dir=onnx_dir), Embedder(model)


def test_onnx_queries_give_the_pytorch_vectors(both: tuple[Embedder, Embedder], onnx_dir: Path) -> None:
    fast, reference = both
    assert (fast.runtime, reference.runtime) == ("onnx", "torch")
    assert len(list(onnx_dir.glob("*.onnx"))) == 1  # exported once, named after the model id
    questions = eval_questions()
    assert len(questions) > 250
    worst = max(float(np.abs(fast.encode([q]) - reference.encode([q])).max()) for q in questions)
    assert worst < onnx_query.TOLERANCE
    batch = questions[:8]  # a small batch (padding) goes to ONNX Runtime too
    assert float(np.abs(fast.encode(batch) - reference.encode(batch)).max()) < onnx_query.TOLERANCE


def test_search_answers_are_unchanged(onnx_dir: Path) -> None:
    index = KBSettings().index_path()
    if not (index / "manifest.json").exists():
        pytest.skip("no built index (make kb)")
    fast = KnowledgeBase(settings=KBSettings(onnx_dir=onnx_dir))
    reference = KnowledgeBase(settings=KBSettings(query_runtime="torch"))
    assert (fast._snapshot.embedder.runtime, reference._snapshot.embedder.runtime) == ("onnx", "torch")
    for question in eval_questions()[::7]:
        a, b = fast.search(question), reference.search(question)
        assert (a.decision, [h.id for h in a.results]) == (b.decision, [h.id for h in b.results]), question


def test_an_export_that_does_not_match_keeps_pytorch(tmp_path: Path, both: tuple[Embedder, Embedder],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, reference = both
    real_encode = onnx_query.OnnxQueryEncoder.encode
    monkeypatch.setattr(onnx_query.OnnxQueryEncoder, "encode",
                        lambda self, texts: real_encode(self, texts) * 0.5)  # a wrong export
    assert onnx_query.load(reference._st, reference.id, tmp_path, 1) is None
    monkeypatch.setattr(onnx_query, "_export", lambda st, target: (_ for _ in ()).throw(OSError("disk full")))
    assert onnx_query.load(reference._st, reference.id, tmp_path / "other", 1) is None
