"""Decision-side variants of kb_lenders.py, each judged by leave-one-KB-out over the tuning sets (an experiment,
not a test; results in benchmarks/results/kb_lenders9.md, "Decision-side variants").

Every variant keeps kb_lenders.py's method (the shipped features), its dense weight choice, its two logistic
models and its caps on each training set; only how the two thresholds are chosen, or one decision rule,
changes. For every held-out set the variant is tuned on the other sets only and the held-out set decided as
KnowledgeBase.search does (kb_lenders.measure), then the variants are ranked by kb_lenders.score (the same
mean held-out score that picks kb_lenders.py's method). The "close" rule (buttons instead of "I don't know"
when the two best FAQs are within a share g of the leader's fused score, g chosen on the training sets with
the two thresholds) is simulated here: shipping it would need the same rule in knowledge_base/decision.py.

`PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/kb_lenders_variants.py --sets nine` (run kb_lenders.py
with the same --sets once first: caches). Writes --json (default /tmp/kb_lenders_variants.json) and prints
the markdown section.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kb_lenders as L  # the script's folder is on sys.path when it runs
import numpy as np
from kb_lenders_report import HEADER, TARGETS, row

import knowledge_base.kb as kb_module
from knowledge_base.decision import FEATURES, THIRD_SHARE, Thresholds, Verdict, decide, query_features

KBSet = L.KBSet  # kb_lenders.py pickles its sets as __main__.KBSet
METHOD = "relative + fixed-scale + another product named"
CLOSE_GRID = (0.0, 0.02, 0.05, 0.1, 0.15)  # 0.0: the rule is off
GAP_REL = FEATURES.index("gap_rel")
VARIANTS: dict[str, dict[str, Any]] = {
    "as shipped: mean gain, caps on each set": {},
    "worst training set's gain": {"objective": "worst"},
    "half mean, half worst set's gain": {"objective": "blend"},
    "caps on the training sets' mean": {"cap_on": "mean"},
    "caps on all training sets but one": {"cap_on": "all_but_one"},
    "worst set's gain, caps on all sets but one": {"objective": "worst", "cap_on": "all_but_one"},
    "zh gain = useful only (zh has no right target)": {"gain_zh": (0.0, 1.0)},
    "close rule: buttons when the 2nd is within g of the leader": {"close": True},
}


@dataclass(frozen=True)
class CloseThresholds(Thresholds):
    close: float = 0.0  # offer buttons instead of "none" when (top1 - top2) / top1 < close


def close_decide(sig: Any, model: Any, limits: Thresholds, clarify_max: int, keep: int = 5) -> Verdict:
    verdict = decide(sig, model, limits, clarify_max, keep)
    g = getattr(limits, "close", 0.0)
    if verdict.decision != "none" or not g or sig.foreign or len(sig.entries) < 2:
        return verdict
    feats, order, scores = query_features(sig, model.dense_weight)
    if float(feats[GAP_REL]) >= g:
        return verdict
    lead = float(scores[0]) or 1e-6
    k = 2 + sum(1 for s in scores[2:clarify_max] if float(s) >= THIRD_SHARE * lead)
    shown = [verdict.p_answer * max(float(s), 0.0) / lead for s in scores[:k]]
    return Verdict("clarify", [int(i) for i in order[:k]], shown, verdict.p_answer, verdict.p_offer)


def choose_close(tables: list[dict[str, np.ndarray]], model: Any, lang: str) -> Thresholds:
    """kb_lenders.choose_thresholds with the close rule's g as a third grid axis (same caps, same gain)."""
    probs = [(np.asarray([model.answer.probability(x) for x in t["x"]]),
              np.asarray([model.offer.probability(x) for x in t["x"]])) for t in tables]
    caps, best = L.CAPS[lang], None
    for a, c, g in itertools.product(L.ANSWER_GRID, L.CLARIFY_GRID, CLOSE_GRID):
        rates = []
        for t, (pa, po) in zip(tables, probs, strict=True):
            close = (t["x"][:, GAP_REL] < g) & (t["x"][:, FEATURES.index("foreign")] < 0.5)
            rates.append(L.grid_rates(t, pa, np.where(close, 1.0, po), float(a), float(c)))
        excess = sum(max(0.0, r[k] - caps[k]) for r in rates for k in ("wrong", "oos", "none"))
        wr, wu = L.GAIN[lang]
        gain = float(np.mean([wr * r["right"] + wu * r["useful"] - L.OOS_OFFER_COST * r["oos_offered"]
                              for r in rates]))
        if best is None or (-excess, gain) > best[0]:
            best = ((-excess, gain), CloseThresholds(answer=float(a), clarify=float(c), close=float(g)))
    assert best is not None
    return best[1]


def configure(cfg: dict[str, Any]) -> None:
    L.OBJECTIVE, L.CAP_ON = cfg.get("objective", "mean"), cfg.get("cap_on", "each")
    L.GAIN["zh"] = cfg.get("gain_zh", (1.0, 1.0))
    L.choose_thresholds = choose_close if cfg.get("close") else ORIGINAL_CHOOSE  # type: ignore[assignment]
    kb_module.decide = close_decide if cfg.get("close") else decide  # type: ignore[assignment]


ORIGINAL_CHOOSE = L.choose_thresholds


def run(sets: dict[str, Any], names: list[str], cfg: dict[str, Any]) -> dict[str, Any]:
    configure(cfg)
    features = L.METHODS[METHOD]
    held = {}
    for name in names:
        models, limits = L.tune([sets[n] for n in names if n != name], features)
        held[name] = L.measure(sets[name], models, limits)
        held[name]["chosen"] = {lang: {"dense_weight": models[lang].dense_weight, **vars(limits[lang])}
                                for lang in L.LANGS}
    models, limits = L.tune([sets[n] for n in names], features)
    out = {"held_out": held, "score": float(np.mean([L.score(r) for r in held.values()])),
           "final": {lang: {"dense_weight": models[lang].dense_weight, **vars(limits[lang])} for lang in L.LANGS},
           "in_set": {n: L.measure(sets[n], models, limits) for n in names}}
    configure({})
    return out


def summary(name: str, r: dict[str, Any], names: list[str]) -> str:
    h = r["held_out"]
    cells = [f"{r['score']:.3f}"]
    for lang in L.LANGS:
        useful = [h[n][lang]["useful"] for n in names]
        cells += [f"{np.mean([h[n][lang]['right'] for n in names]):.3f}", f"{np.mean(useful):.3f}",
                  f"{min(useful):.2f}", f"{max(h[n][lang]['wrong'] for n in names):.3f}",
                  f"{max(h[n][lang]['oos_answered'] for n in names):.2f}"]
    pub = h["northwind"].get("public_oos", {}) if "northwind" in h else {}
    ins = r["in_set"].get("northwind", {}).get("public_oos", {})
    cells += [" / ".join(f"{ins[k]['answered']:.3f} ({ins[k]['offered']:.2f})" for k in ins),
              " / ".join(f"{pub[k]['answered']:.3f}" for k in pub)]
    final = "; ".join(f"{lang} {t['dense_weight']} / {t['answer']} / {t['clarify']}"
                      + (f" / g={t['close']}" if "close" in t else "") for lang, t in r["final"].items())
    return f"| {name} | " + " | ".join(cells) + f" | {final} |"


def markdown(results: dict[str, Any], names: list[str]) -> str:
    out = ["## Decision-side variants (held out over the tuning sets, the shipped method)", "",
           ("Mean held-out score is kb_lenders.score averaged over the held-out sets (targets missed x -10, then "
            "en right + en useful + zh right + zh useful): the number that picks kb_lenders.py's method. Public "
            "negatives: CLINC150 OOS / BANKING77 asked of northwind, answered (buttons) in-set with the model "
            "chosen on all sets, and answered held out."), "",
           ("| variant | score | en right | en useful | en worst useful | en worst wrong | en worst OOS answered "
            "| zh right | zh useful | zh worst useful | zh worst wrong | zh worst OOS answered | public in-set "
            "| public held out | chosen on all (w / answer / clarify) |"), "|---|" + "---:|" * 13 + "---|"]
    out += [summary(name, r, names) for name, r in results.items()]
    for name, r in results.items():
        out += ["", f"### {name}", "", HEADER, TARGETS] + [row(n, r["held_out"][n]) for n in names]
        out += ["", "Chosen per held-out set: " + "; ".join(
            f"{n} " + ", ".join(f"{lang} " + "/".join(str(v) for v in c.values())
                                for lang, c in r["held_out"][n]["chosen"].items()) for n in names)]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="nine")
    parser.add_argument("--only", default="", help="only these variants (comma-separated numbers, from 0)")
    parser.add_argument("--cache", type=Path, default=L.ROOT / "var" / "kb_lenders")
    parser.add_argument("--json", type=Path, default=Path("/tmp/kb_lenders_variants.json"))
    args = parser.parse_args()
    names, dirs = L.tuning_names(args.sets)
    embedder = L.CachedEmbedder(args.cache)
    sets = {n: L.load_set(n, L.source_of(n, dirs), args.cache, n == "northwind", embedder) for n in names}
    results = {}
    for i, (name, cfg) in enumerate(VARIANTS.items()):
        if args.only and str(i) not in args.only.split(","):
            continue
        results[name] = run(sets, names, cfg)
        print(summary(name, results[name], names), file=sys.stderr, flush=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=list), encoding="utf-8")
    print(markdown(results, names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
