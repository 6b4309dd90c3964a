"""Retrieval quality of the knowledge base on benchmarks/eval and public negatives. Prints numbers and writes
benchmarks/results/kb_quality.{json,md}. Not a test: run `python benchmarks/kb_quality.py`.

Builds (incrementally) the index of knowledge_base/faq into var/kb_bench_index, then asks every query through
KnowledgeBase.search with lang=None, exactly as the action server does (batched encode via
KnowledgeBase.search_many: same vectors, far less wall time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from knowledge_base import KBSettings, KnowledgeBase, build_index

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "benchmarks" / "eval"
PUBLIC = Path("/work/shared/data")


def _tsv(path: Path) -> list[tuple[str, str]]:
    rows = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return [(r[0], r[1]) for r in rows if len(r) >= 2 and r[0].strip()]


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def in_scope(kb: KnowledgeBase, rows: list[tuple[str, str]]) -> dict[str, Any]:
    decisions: Counter[str] = Counter()
    correct_answers = top1 = top3 = clarify_hit = 0
    wrong: list[dict[str, Any]] = []
    for (query, expected), resp in zip(rows, kb.search_many([q for q, _ in rows]), strict=True):
        decisions[resp.decision] += 1
        ids = [h.id for h in resp.results]
        if resp.decision == "answer":
            if ids[0] == expected:
                correct_answers += 1
            else:
                wrong.append({"query": query, "expected": expected, "answered": ids[0],
                              "score": round(resp.results[0].score, 3)})
        if resp.decision == "clarify" and expected in ids:
            clarify_hit += 1
        if resp.decision != "none":
            top1 += bool(ids) and ids[0] == expected
            top3 += expected in ids[:3]
    n = len(rows)
    answered = decisions["answer"]
    return {
        "queries": n,
        "answer_rate": round(answered / n, 3),
        "clarify_rate": round(decisions["clarify"] / n, 3),
        "none_rate": round(decisions["none"] / n, 3),
        "answer_top1_accuracy": round(correct_answers / answered, 3) if answered else None,
        "clarify_contains_expected": round(clarify_hit / decisions["clarify"], 3) if decisions["clarify"] else None,
        "helpful_rate": round((correct_answers + clarify_hit) / n, 3),
        "wrong_answers": wrong,
    }


def out_of_scope(kb: KnowledgeBase, queries: list[str]) -> dict[str, Any]:
    decisions: Counter[str] = Counter()
    answered_with: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    responses = [r for start in range(0, len(queries), 256) for r in kb.search_many(queries[start : start + 256])]
    for query, resp in zip(queries, responses, strict=True):
        decisions[resp.decision] += 1
        if resp.decision == "answer":
            answered_with[resp.results[0].id] += 1
            examples.append({"query": query, "answered": resp.results[0].id,
                             "score": round(resp.results[0].score, 3)})
    n = len(queries)
    return {"queries": n, "answered_rate": round(decisions["answer"] / n, 3),
            "clarify_rate": round(decisions["clarify"] / n, 3), "none_rate": round(decisions["none"] / n, 3),
            "answered_with": dict(answered_with.most_common(10)), "answered_examples": examples[:40]}


def _markdown(report: dict[str, Any]) -> str:
    out = ["# Knowledge-base retrieval quality", "", (f"Index version `{report['version']}`, "
           f"model `{report['model_id']}`, {report['seconds']:.0f}s."), "",
           "| set | n | answer | clarify | none | top-1 acc. of answers | clarify holds expected | helpful |",
           "|---|---|---|---|---|---|---|---|"]
    for name, r in report["in_scope"].items():
        out.append(f"| {name} | {r['queries']} | {r['answer_rate']:.1%} | {r['clarify_rate']:.1%} | "
                   f"{r['none_rate']:.1%} | {r['answer_top1_accuracy']} | {r['clarify_contains_expected']} | "
                   f"{r['helpful_rate']:.1%} |")
    out += ["", "| out-of-scope set | n | answered (must be <= 10%) | clarify | none |", "|---|---|---|---|---|"]
    for name, r in report["out_of_scope"].items():
        out.append(f"| {name} | {r['queries']} | {r['answered_rate']:.1%} | {r['clarify_rate']:.1%} | "
                   f"{r['none_rate']:.1%} |")
    out += ["", "## Wrong answers (query -> answered, expected)"]
    for name, r in report["in_scope"].items():
        for w in r["wrong_answers"]:
            out.append(f"- [{name}] {w['query']!r} -> `{w['answered']}` ({w['score']}), expected `{w['expected']}`")
    out += ["", "## Out-of-scope queries answered"]
    for name, r in report["out_of_scope"].items():
        for e in r["answered_examples"]:
            out.append(f"- [{name}] {e['query']!r} -> `{e['answered']}` ({e['score']})")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "var" / "kb_bench_index")
    parser.add_argument("--banking-limit", type=int, default=0, help="only the first N BANKING77 lines (0: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    settings = KBSettings(root=ROOT, index_dir=args.index)
    started = time.perf_counter()
    print("\n".join(build_index(settings, progress=sys.stderr.isatty()).lines()), file=sys.stderr)
    kb = KnowledgeBase(settings)
    report: dict[str, Any] = {"version": kb.version, "model_id": kb.manifest["model_id"],
                              "settings": settings.model_dump(mode="json", exclude={"root"}),
                              "in_scope": {}, "out_of_scope": {}}
    for lang in ("en", "zh"):
        report["in_scope"][lang] = in_scope(kb, _tsv(EVAL / f"{lang}.tsv"))
    negatives = {"ours_en": _lines(EVAL / "oos_en.txt"), "ours_zh": _lines(EVAL / "oos_zh.txt")}
    if PUBLIC.is_dir():
        negatives["clinc150_oos"] = _lines(PUBLIC / "clinc150_oos_train.txt") + \
            _lines(PUBLIC / "clinc150_oos_valid.txt")
        banking = [r[0] for r in _tsv(PUBLIC / "banking77_test.tsv")]
        negatives["banking77"] = banking[: args.banking_limit] if args.banking_limit else banking
    for name, queries in negatives.items():
        print(f"{name}: {len(queries)} queries", file=sys.stderr)
        report["out_of_scope"][name] = out_of_scope(kb, queries)
    report["seconds"] = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kb_quality.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    markdown = _markdown(report)
    (args.out / "kb_quality.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
