"""Query embeddings on ONNX Runtime (knowledge_base/onnx_query.py) with the real model: the same vectors as
PyTorch on every evaluation question, the same search answers, the export made once; an export that
cannot be trusted is refused at build time, and at query time (no PyTorch to fall back on) it is an error
that names the fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import KBSettings, KnowledgeBase, onnx_query
from knowledge_base.embedder import Embedder, OnnxEmbedder
from knowledge_base.errors import OnnxExportError

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
    [export] = onnx_dir.glob("*.onnx")  # exported once, named after the model id
    weights = onnx_query.data_path(export)  # in a file of their own, which ONNX Runtime maps instead of copying
    assert weights.stat().st_size > 100 * export.stat().st_size
    questions = eval_questions()
    assert len(questions) > 250
    worst = max(float(np.abs(fast.encode([q]) - reference.encode([q])).max()) for q in questions)
    assert worst < onnx_query.TOLERANCE
    batch = questions[:8]  # a small batch (padding) goes to ONNX Runtime too
    assert float(np.abs(fast.encode(batch) - reference.encode(batch)).max()) < onnx_query.TOLERANCE


def test_search_answers_are_unchanged(both: tuple[Embedder, Embedder], onnx_dir: Path) -> None:
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
    """At build time: an export that differs from PyTorch is refused (and an `Embedder` stays on PyTorch)."""
    _, reference = both
    real_encode = onnx_query.OnnxQueryEncoder.encode
    monkeypatch.setattr(onnx_query.OnnxQueryEncoder, "encode",
                        lambda self, texts: real_encode(self, texts) * 0.5)  # a wrong export
    with pytest.raises(OnnxExportError, match="differs from PyTorch"):
        reference.export_onnx(tmp_path)
    assert not onnx_query.probes_path(onnx_query.export_path(tmp_path, reference.id)).exists()
    assert Embedder(reference.model, onnx_dir=tmp_path).runtime == "torch"
    monkeypatch.setattr(onnx_query, "_export_model", lambda st, target: (_ for _ in ()).throw(OSError("disk full")))
    assert Embedder(reference.model, onnx_dir=tmp_path / "other").runtime == "torch"


def test_queries_without_pytorch_need_a_checked_export(tmp_path: Path, both: tuple[Embedder, Embedder],
                                                        onnx_dir: Path) -> None:
    """At query time (no PyTorch): no export, or one whose probe vectors it no longer gives, is an error
    that names the fix; a good one gives PyTorch's vectors."""
    _, reference = both
    with pytest.raises(OnnxExportError, match=r"python -m knowledge_base build"):
        OnnxEmbedder(reference.model, onnx_dir=tmp_path)
    export = onnx_query.export_path(onnx_dir, reference.id)
    for part in (export, onnx_query.data_path(export)):
        shutil.copy(part, tmp_path / part.name)
    stored = json.loads(onnx_query.probes_path(export).read_text(encoding="utf-8"))
    stored["vectors"] = (np.array(stored["vectors"]) * 0.5).tolist()
    onnx_query.probes_path(tmp_path / export.name).write_text(json.dumps(stored), encoding="utf-8")
    with pytest.raises(OnnxExportError, match="differs from its probe vectors"):
        OnnxEmbedder(reference.model, onnx_dir=tmp_path)
    alone = OnnxEmbedder(reference.model, onnx_dir=onnx_dir)
    questions = eval_questions()[::9]
    assert float(np.abs(alone.encode(questions) - reference.encode(questions)).max()) < onnx_query.TOLERANCE
