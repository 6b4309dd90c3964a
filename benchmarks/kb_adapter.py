"""A domain adapter on the frozen MiniLM vectors, measured leave-one-KB-out (an experiment, not a test; not
shipped: benchmarks/results/kb_adapter.md says why).

A linear map W (384 x 384, pulled toward the identity) is fitted on (borrower question -> its FAQ) pairs of the
training sets (their in-scope test questions and each FAQ's own alternative questions) and applied to the query
vectors (``apply: query``) or to the query and FAQ-text vectors (``both``), re-normalised. The dense signal is
then recomputed as search.py computes it (best clipped cosine over the entry's texts) and the decision is tuned
and measured with benchmarks/kb_lenders.py's own functions (method "relative + fixed-scale + another product
named", the one shipped). Strict: for a held-out set the adapter never sees its questions nor its FAQs. With
``nested`` (the default) each training set's features come from an adapter that did not see it either, so the
decision model learns from features like a new lender's, not from ones the adapter was fitted on.

Fits: ``identity`` (W = I: reproduces kb_lenders.py), ``ridge`` (closed form, W = argmin ||XW - Y||^2 +
lam ||W - I||^2, Y = the normalised centroid of the FAQ's title and questions) and ``contrastive`` (torch, CPU:
a softmax over the set's FAQs, each scored by its best text, temperature 0.05, lam ||W - I||^2, 300 full-batch
Adam steps; ``oos``: the training sets' out-of-scope questions too, as one more class scored by a learned
cosine level). ``langs``: the languages that get a map (zh: MiniLM reads Chinese poorly; dense weight 0 today).
``en_wrong_cap`` / ``oos_cap``: the en caps while tuning the thresholds (kb_lenders.CAPS; default as there).

Run `python benchmarks/kb_lenders.py` once first (it fills the caches under var/kb_lenders/), then
`nice -n 10 python benchmarks/kb_adapter.py --md /tmp/kb_adapter_runs.md` (about 3 minutes per config on 2 cores).
The one-shot blind check on benchmarks/lenders_blind/ is benchmarks/kb_adapter_blind.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import kb_lenders as L  # the script's folder is on sys.path when it runs
import numpy as np
import torch
from kb_lenders_report import HEADER, TARGETS, row

from knowledge_base import KBSettings, store
from knowledge_base.kb import Analysis
from knowledge_base.text import clean

ROOT = L.ROOT
KBSet = L.KBSet  # kb_lenders.py pickles its sets as __main__.KBSet
DIM = 384


class SetVectors:
    """One set's FAQ-text vectors per language (with the entry of each text) and its questions' vectors."""

    def __init__(self, s: Any, cache: Path, embedder: Any) -> None:
        index = cache / f"index-{s.name}"
        meta, faiss_indexes = store.load_version(index, store.read_manifest(index))
        self.texts: dict[str, np.ndarray] = {}
        self.entry: dict[str, np.ndarray] = {}
        self.kind: dict[str, np.ndarray] = {}
        for lang, idx in faiss_indexes.items():
            self.texts[lang] = idx.reconstruct_n(0, idx.ntotal) if idx.ntotal else np.zeros((0, DIM), np.float32)
            self.entry[lang] = np.asarray([t["entry"] for t in meta["texts"][lang]], dtype=np.int64)
            self.kind[lang] = np.asarray([t["kind"] for t in meta["texts"][lang]])
        limit = KBSettings().max_query_chars
        cleaned = [clean(q.text)[:limit] for q in s.questions]
        vecs = embedder.encode([c for c in cleaned if c]) if any(cleaned) else np.zeros((0, DIM), np.float32)
        it = iter(vecs)
        self.queries = np.vstack([next(it) if c else np.zeros(DIM, np.float32) for c in cleaned])


def normalise(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)
    return out


def pairs(s: Any, v: SetVectors, lang: str, faq_questions: bool, oos: bool = False,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query vectors, their FAQ's entry number, row of the FAQ among this language's entries) for the set's
    in-scope test questions of ``lang`` and, with ``faq_questions``, each FAQ's own alternative questions."""
    by_id = {fid: n for n, fid in enumerate(s.ids)}
    xs, ents = [], []
    for i, q in enumerate(s.questions):
        if q.line > 0 and q.lang == lang and (q.expected != "none" or oos):
            xs.append(v.queries[i])
            ents.append(by_id.get(q.expected, -1))  # -1: out of scope
    if faq_questions:
        m = v.kind[lang] == "question"
        xs += list(v.texts[lang][m])
        ents += list(v.entry[lang][m])
    return np.asarray(xs, np.float32).reshape(-1, DIM), np.asarray(ents, np.int64), np.zeros(0)


def centroids(v: SetVectors, lang: str) -> dict[int, np.ndarray]:
    m = np.isin(v.kind[lang], ("title", "question"))
    out = {}
    for e in np.unique(v.entry[lang][m]):
        out[int(e)] = normalise(v.texts[lang][m & (v.entry[lang] == e)].mean(axis=0))
    return out


def fit_ridge(train: list[tuple[Any, SetVectors]], lang: str, lam: float, faq_questions: bool) -> np.ndarray:
    xs, ys = [], []
    for s, v in train:
        x, ents, _ = pairs(s, v, lang, faq_questions)
        cent = centroids(v, lang)
        xs.append(x)
        ys.append(np.vstack([cent[int(e)] for e in ents]) if len(ents) else np.zeros((0, DIM), np.float32))
    x, y = np.vstack(xs).astype(np.float64), np.vstack(ys).astype(np.float64)
    eye = np.eye(DIM)
    w: np.ndarray = np.linalg.solve(x.T @ x + lam * eye, x.T @ y + lam * eye)
    return w.astype(np.float32)


def fit_contrastive(train: list[tuple[Any, SetVectors]], lang: str, lam: float, faq_questions: bool,
                    apply: str, steps: int = 300, tau: float = 0.05, lr: float = 2e-3, oos: bool = False,
                    ) -> np.ndarray:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = []
    for s, v in train:
        x, ents, _ = pairs(s, v, lang, faq_questions, oos)
        if not len(ents):
            continue
        uniq = np.unique(v.entry[lang])
        col = {int(e): k for k, e in enumerate(uniq)}
        text_col = torch.tensor([col[int(e)] for e in v.entry[lang]])
        # out of scope: the class after the FAQs, scored by a learned cosine level ("none of them")
        data.append((torch.tensor(x), torch.tensor([col.get(int(e), len(uniq)) for e in ents]),
                     torch.tensor(v.texts[lang]),
                     text_col, len(uniq)))
    w = torch.eye(DIM, requires_grad=True)
    level = torch.tensor(0.6, requires_grad=True)
    eye = torch.eye(DIM)
    opt = torch.optim.Adam([w, level] if oos else [w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = lam * ((w - eye) ** 2).sum()
        for x, target, texts, text_col, n in data:
            q = torch.nn.functional.normalize(x @ w, dim=-1)
            t = torch.nn.functional.normalize(texts @ w, dim=-1) if apply == "both" else texts
            sims = (q @ t.T) / tau  # queries x texts
            # an FAQ's score: soft maximum over its texts (search.py takes the maximum)
            per = torch.full((len(x), n), -1e9)
            per = per.scatter_reduce(1, text_col.expand(len(x), -1), sims, reduce="amax", include_self=True)
            if oos:
                per = torch.cat([per, (level / tau).expand(len(x), 1)], dim=1)
            loss = loss + torch.nn.functional.cross_entropy(per, target) / len(data)
        loss.backward()
        opt.step()
    out: np.ndarray = w.detach().numpy().astype(np.float32)
    return out


def adapt(s: Any, v: SetVectors, maps: dict[str, np.ndarray], apply: str) -> Any:
    """The set with every query's dense signal recomputed through the maps (a language without a map: as is)."""
    dense: dict[str, np.ndarray] = {}
    qv = {lang: normalise(v.queries @ w) for lang, w in maps.items()}
    for lang, w in maps.items():
        texts = normalise(v.texts[lang] @ w) if apply == "both" else v.texts[lang]
        sims = np.clip(qv[lang] @ texts.T, 0.0, 1.0)
        per = np.zeros((len(v.queries), len(s.ids)), np.float32)
        for e in np.unique(v.entry[lang]):
            per[:, e] = sims[:, v.entry[lang] == e].max(axis=1)
        dense[lang] = per
    analyses = []
    for i, a in enumerate(s.analyses):
        tried = [(lang, replace(sig, dense=dense[lang][i, sig.entries]) if lang in dense else sig)
                 for lang, sig in a.tried]
        analyses.append(Analysis(a.lang, tried))
    return replace(s, analyses=analyses)


def fit(train: list[tuple[Any, SetVectors]], lang: str, cfg: dict[str, Any]) -> np.ndarray:
    if cfg["fit"] == "identity":
        return np.eye(DIM, dtype=np.float32)
    if cfg["fit"] == "ridge":
        return fit_ridge(train, lang, cfg["lam"], cfg["faq_questions"])
    return fit_contrastive(train, lang, cfg["lam"], cfg["faq_questions"], cfg["apply"], steps=cfg["steps"],
                           oos=cfg["oos"])


class Folds:
    """The sets as each fold sees them: a set's dense signals through an adapter fitted on the sets of
    ``names`` outside ``excluded`` (fitted once per excluded group, then kept)."""

    def __init__(self, sets: dict[str, Any], vecs: dict[str, SetVectors], names: list[str],
                 cfg: dict[str, Any]) -> None:
        self.sets, self.vecs, self.names, self.cfg = sets, vecs, names, cfg
        self._maps: dict[frozenset[str], dict[str, np.ndarray]] = {}

    def maps(self, excluded: set[str]) -> dict[str, np.ndarray]:
        key = frozenset(excluded)
        if key not in self._maps:
            train = [(self.sets[n], self.vecs[n]) for n in self.names if n not in key]
            self._maps[key] = {lang: fit(train, lang, self.cfg) for lang in self.cfg["langs"]}
        return self._maps[key]

    def view(self, name: str, excluded: set[str]) -> Any:
        return adapt(self.sets[name], self.vecs[name], self.maps(excluded), self.cfg["apply"])

    def held_out(self, name: str, nested: bool = True) -> tuple[Any, list[Any]]:
        """(the held-out set through an adapter that never saw it (its questions nor its FAQs), the training
        sets through adapters that saw neither it nor, with ``nested``, themselves: features as a new lender's
        look, for the decision model to learn from)."""
        train = [self.view(n, {name, n} if nested else {name}) for n in self.names if n != name]
        return self.view(name, {name}), train


def dense_top1(s: L.KBSet) -> dict[str, float]:
    """Share of in-scope questions whose best dense FAQ is the one meant (the dense signal alone), per language."""
    out = {}
    for lang in L.LANGS:
        hits = [s.ids[sig.entries[int(np.argmax(sig.dense))]] == q.expected for q, sig in L.own(s, lang)
                if q.expected != "none" and len(sig.entries)]
        out[lang] = float(np.mean(hits)) if hits else 0.0
    return out


CAP_KEYS = ("en_wrong_cap", "oos_cap")  # tuning caps (kb_lenders.CAPS), not the adapter: fits are shared
_FOLDS: dict[str, Folds] = {}


def folds_for(sets: dict[str, L.KBSet], vecs: dict[str, SetVectors], cfg: dict[str, Any]) -> Folds:
    """The folds of ``cfg``'s adapter, fitted once per adapter config (configs differing only in caps share)."""
    key = json.dumps({k: v for k, v in cfg.items() if k not in CAP_KEYS}, sort_keys=True)
    if key not in _FOLDS:
        _FOLDS[key] = Folds(sets, vecs, list(sets), cfg)
    return _FOLDS[key]


def tune(train: list[Any], features: tuple[str, ...], cfg: dict[str, Any]) -> Any:
    """kb_lenders.tune under the config's caps (default: kb_lenders.CAPS as they are)."""
    saved = json.loads(json.dumps(L.CAPS))
    try:
        if cfg.get("en_wrong_cap") is not None:
            L.CAPS["en"]["wrong"] = cfg["en_wrong_cap"]
        if cfg.get("oos_cap") is not None:
            L.CAPS["en"]["oos"] = cfg["oos_cap"]
        return L.tune(train, features)
    finally:
        L.CAPS.clear()
        L.CAPS.update(saved)


def run(sets: dict[str, L.KBSet], vecs: dict[str, SetVectors], cfg: dict[str, Any]) -> dict[str, Any]:
    names = list(sets)
    folds = folds_for(sets, vecs, cfg)
    features = L.METHODS["relative + fixed-scale + another product named"]
    held: dict[str, Any] = {}
    for name in names:
        test, train = folds.held_out(name, cfg["nested"])
        models, limits = tune(train, features, cfg)
        held[name] = L.measure(test, models, limits)
        held[name]["chosen"] = {lang: {"dense_weight": models[lang].dense_weight, **vars(limits[lang])}
                                for lang in L.LANGS}
        held[name]["ceiling"] = L.ceiling(test, models)
        held[name]["dense_top1"] = dense_top1(test)
    train = [folds.view(n, {n} if cfg["nested"] else set()) for n in names]
    models, limits = tune(train, features, cfg)
    in_set = {n: L.measure(folds.view(n, set()), models, limits) for n in names}
    return {"config": cfg, "held_out": held, "in_set": in_set,
            "final": {lang: {"dense_weight": models[lang].dense_weight, **vars(limits[lang])} for lang in L.LANGS}}


def summary(title: str, r: dict[str, Any]) -> str:
    held = r["held_out"]
    cells = []
    for name, x in held.items():
        c = x["ceiling"]
        cells.append(f"{name[:5]} en r={x['en']['right']:.2f} w={x['en']['wrong']:.3f} u={x['en']['useful']:.2f} "
                     f"t1={c['en']['top1']:.2f} t3={c['en']['top3']:.2f} best={c['en']['best_right']:.2f} d1={x['dense_top1']['en']:.2f} zh r={x['zh']['right']:.2f} w={x['zh']['wrong']:.3f} "
                     f"u={x['zh']['useful']:.2f} t1={c['zh']['top1']:.2f} best={c['zh']['best_right']:.2f} d1={x['dense_top1']['zh']:.2f}")
    pub = held["northwind"].get("public_oos", {})
    pubs = " ".join(f"{k}={v['answered']:.3f}" for k, v in pub.items())
    return f"{title}: score {np.mean([L.score(x) for x in held.values()]):.3f} {pubs}\n  " + "\n  ".join(cells)


CONFIGS: list[dict[str, Any]] = [
    {"fit": "identity"},
    {"fit": "ridge", "lam": 1.0},
    {"fit": "ridge", "lam": 10.0},
    {"fit": "ridge", "lam": 10.0, "apply": "both"},
    {"fit": "contrastive", "lam": 0.01, "apply": "both"},
    {"fit": "contrastive", "lam": 0.001, "apply": "both"},
    {"fit": "contrastive", "lam": 0.003, "apply": "both", "oos": True},
    {"fit": "contrastive", "lam": 0.001, "apply": "both", "oos": True},
    {"fit": "contrastive", "lam": 0.0003, "apply": "both", "oos": True},
    {"fit": "contrastive", "lam": 0.001, "apply": "both", "oos": True, "langs": ["en", "zh"]},
]


def label(cfg: dict[str, Any]) -> str:
    if cfg["fit"] == "identity":
        return "none (MiniLM as is)" + "".join(f", {k} {cfg[k]:g}" for k in CAP_KEYS if cfg.get(k) is not None)
    extra = (", out-of-scope class" if cfg["oos"] else "") + (", en+zh" if "zh" in cfg["langs"] else "")
    caps = "".join(f", {k.replace('_cap', '').replace('_', ' ')} cap {cfg[k]:g}" for k in CAP_KEYS
                   if cfg.get(k) is not None)
    return f"{cfg['fit']} lam={cfg['lam']:g}, {cfg['apply']}{extra}{caps}"


def markdown(results: list[dict[str, Any]]) -> str:
    names = list(results[0]["held_out"])
    out = ["## Held out, every config (en right per set; worst en wrong; public negatives; zh right per set)", "",
           "| adapter | " + " | ".join(f"en right {n}" for n in names) + " | worst en wrong | clinc150 answered "
           "| banking77 answered | " + " | ".join(f"zh right {n}" for n in names) + " |",
           "|---|" + "---:|" * (2 * len(names) + 3)]
    for r in results:
        held = r["held_out"]
        pub = held[names[0]].get("public_oos", {})
        out.append(f"| {label(r['config'])} | " + " | ".join(f"{held[n]['en']['right']:.2f}" for n in names)
                   + f" | {max(held[n]['en']['wrong'] for n in names):.3f} | "
                   + " | ".join(f"{pub[k]['answered']:.3f}" if k in pub else "" for k in ("clinc150_oos", "banking77"))
                   + " | " + " | ".join(f"{held[n]['zh']['right']:.2f}" for n in names) + " |")
    for r in results:
        held = r["held_out"]
        out += ["", f"### {label(r['config'])}", "", HEADER, TARGETS, *(row(n, held[n]) for n in names), "",
                ("| set | en top-1 | en top-3 | en best right | en dense-only top-1 | zh top-1 | zh top-3 | "
                 "zh best right | zh dense-only top-1 |"), "|---|" + "---:|" * 8]
        for n in names:
            c, d = held[n]["ceiling"], held[n]["dense_top1"]
            out.append(f"| {n} | " + " | ".join(f"{c[lang]['top1']:.2f} | {c[lang]['top3']:.2f} | "
                                                 f"{c[lang]['best_right']:.2f} | {d[lang]:.2f}" for lang in L.LANGS)
                       + " |")
        pub = r["in_set"][names[0]].get("public_oos", {})
        out += ["", "In-set (adapter and decision fitted on all five sets, measured on them): en right "
                + ", ".join(f"{n} {r['in_set'][n]['en']['right']:.2f}" for n in names) + "; public negatives "
                "answered " + ", ".join(f"{k} {v['answered']:.3f}" for k, v in pub.items()) + "."]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="northwind,kestrel,harborlane,ruitong,mapleridge")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "kb_lenders")
    parser.add_argument("--configs", default=json.dumps(CONFIGS), help="JSON list of configs (fit, lam, ...)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kb_adapter.json"))
    parser.add_argument("--md", type=Path, help="also write the tables as markdown here")
    args = parser.parse_args()
    embedder = L.CachedEmbedder(args.cache)
    names = args.sets.split(",")
    sets = {n: L.load_set(n, L.source_of(n, {}), args.cache, n == "northwind", embedder) for n in names}
    vecs = {n: SetVectors(sets[n], args.cache, embedder) for n in names}
    defaults = {"fit": "ridge", "lam": 10.0, "apply": "query", "langs": ["en"], "faq_questions": True,
                "nested": True, "steps": 300, "oos": False, "en_wrong_cap": None, "oos_cap": None}
    results = []
    for raw in json.loads(args.configs):
        cfg = {**defaults, **raw}
        started = time.perf_counter()
        r = run(sets, vecs, cfg)
        r["seconds"] = round(time.perf_counter() - started, 1)
        results.append(r)
        print(summary(json.dumps(raw), r) + f"  ({r['seconds']}s)", file=sys.stderr, flush=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        if args.md:
            args.md.write_text(markdown(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
