"""Blind check of the domain adapter of benchmarks/kb_adapter.py on lenders never tuned on (an experiment, not a
test; results in benchmarks/results/kb_adapter.md, "Blind check").

One shot, one config: the best row of kb_adapter.md (contrastive, out-of-scope class, lam = 0.001, map on
queries and FAQ texts, English only, seed 0). The adapter is fitted on ALL the tuning sets; the decision model
and thresholds are chosen on all of them the way `kb_lenders.py --write-model` does, from nested features (each
tuning set seen through an adapter fitted without it, as kb_adapter.py does for held-out); each blind set is
then seen through the adapter fitted on all the tuning sets and decided as KnowledgeBase.search does
(kb_lenders.measure). The same is done with W = I (no adapter), which must reproduce `kb_lenders.py --extra`.

`nice -n 10 .venv/bin/python benchmarks/kb_adapter_blind.py --extra benchmarks/lenders_blind/copperfield
--extra benchmarks/lenders_blind/hengxin` (run kb_lenders.py with the same --extra once first: caches).
``--config`` (JSON, kb_adapter.py's keys) picks another adapter config, tuning caps included: the second check,
on benchmarks/lenders_blind2/, used ``{"fit": "contrastive", "lam": 0.001, "apply": "both", "oos": true,
"oos_cap": 0.03}`` (kb_adapter.md, "Tighter caps, then a second blind check"). Both sets are spent for adapters.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import kb_adapter as A  # the script's folder is on sys.path when it runs
import kb_lenders as L
from kb_lenders_report import HEADER, row

KBSet = L.KBSet  # kb_lenders.py pickles its sets as __main__.KBSet
BEST = {"fit": "contrastive", "lam": 0.001, "apply": "both", "oos": True}
DEFAULTS = {"fit": "ridge", "lam": 10.0, "apply": "query", "langs": ["en"], "faq_questions": True,
            "nested": True, "steps": 300, "oos": False, "en_wrong_cap": None, "oos_cap": None}
FEATURES = L.METHODS["relative + fixed-scale + another product named"]  # the shipped method


def blind(sets: dict[str, Any], vecs: dict[str, A.SetVectors], names: list[str], extra: list[str],
          cfg: dict[str, Any]) -> dict[str, Any]:
    folds = A.Folds(sets, vecs, names, cfg)
    models, limits = A.tune([folds.view(n, {n}) for n in names], FEATURES, cfg)  # under cfg's caps, if any
    maps = folds.maps(set())
    out: dict[str, Any] = {
        "final": {lang: {"dense_weight": models[lang].dense_weight, **vars(limits[lang])} for lang in L.LANGS},
        "in_set": {n: L.measure(folds.view(n, set()), models, limits) for n in names},
        "blind": {n: L.measure(A.adapt(sets[n], vecs[n], maps, cfg["apply"]), models, limits) for n in extra}}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="northwind,kestrel,harborlane,ruitong,mapleridge")
    parser.add_argument("--extra", type=Path, action="append", default=[], help="a blind lender directory")
    parser.add_argument("--cache", type=Path, default=L.ROOT / "var" / "kb_lenders")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kb_adapter_blind.json"))
    parser.add_argument("--config", default=json.dumps(BEST),
                        help="the adapter config (JSON, kb_adapter.py's keys, caps included); the W = I row keeps "
                             "kb_lenders.py's caps")
    args = parser.parse_args()
    names = args.sets.split(",")
    extra = {f"extra:{p.resolve().name}": p.resolve() for p in args.extra}
    embedder = L.CachedEmbedder(args.cache)
    sets = {n: L.load_set(n, L.source_of(n, extra), args.cache, n == "northwind", embedder) for n in [*names, *extra]}
    vecs = {n: A.SetVectors(sets[n], args.cache, embedder) for n in sets}
    results = {}
    for label, raw in (("none (MiniLM as is)", {"fit": "identity"}), ("adapter", json.loads(args.config))):
        results[label] = blind(sets, vecs, names, list(extra), {**DEFAULTS, **raw})
        r = results[label]
        pub = r["in_set"][names[0]].get("public_oos", {})
        print(f"### {label}: final {r['final']}", file=sys.stderr)
        print("in-set public answered: " + ", ".join(f"{k} {v['answered']:.3f}" for k, v in pub.items()),
              file=sys.stderr)
        print(HEADER + "\n" + "\n".join(row(n, x) for n, x in r["blind"].items()), file=sys.stderr, flush=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
