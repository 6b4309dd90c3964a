"""The markdown report of benchmarks/kb_lenders.py (benchmarks/results/kb_lenders.md): the held-out and
in-set tables per lender, the methods compared and the held-out mistakes."""

from __future__ import annotations

from typing import Any

LANGS = ("en", "zh")


def row(name: str, r: dict[str, Any]) -> str:
    cells = []
    for lang in LANGS:
        x = r[lang]
        cells += [f"{x['right']:.2f}", f"{x['useful']:.2f}", f"{x['wrong']:.3f}", f"{x['none']:.2f}",
                  f"{x['oos_answered']:.2f}"]
    return f"| {name} | " + " | ".join(cells) + " |"


HEADER = ("| set | en right | en useful | en wrong | en none | en OOS answered | zh right | zh useful | zh wrong "
          "| zh none | zh OOS answered |\n|---|" + "---:|" * 10)
TARGETS = "| target | >= 0.70 | >= 0.92 | <= 0.03 | | <= 0.05 | | >= 0.88 | <= 0.05 | <= 0.10 | <= 0.05 |"


def markdown(report: dict[str, Any]) -> str:
    names = report["sets"]
    count = {5: "five", 9: "nine"}.get(len(names), str(len(names)))
    final = "; ".join(f"{lang}: dense weight {t['dense_weight']}, answer at P >= {t['answer']}, clarify at "
                      f"P >= {t['clarify']}" for lang, t in report["final"].items())
    out = [f"# Knowledge base on {count} lenders' FAQs: leave-one-KB-out", "",
           (f"Chosen method: **{report['chosen']}** (best mean held-out result). Shipped (chosen on all sets): "
            f"{final}."), "", "## Held out: everything chosen on the other sets only", "", HEADER, TARGETS]
    out += [row(n, report["held_out"][n]) for n in names]
    out += ["", "Chosen per held-out set: " + "; ".join(
        f"{n} " + ", ".join(f"{lang} w={c['dense_weight']} a={c['answer']} c={c['clarify']}"
                            for lang, c in report["held_out"][n]["chosen"].items()) for n in names)]
    out += ["", "## Held out: the ceiling of ranking and separation", "",
            ("The fused ranking's top-1 and top-3 (in-scope questions), and the most *right* any answer threshold "
             "could reach on the held-out set itself with wrong answers within the cap (0.03 en, 0.05 zh): an "
             "oracle, for telling a threshold problem (right far below it) from a ranking or separation one "
             "(the oracle itself is low)."), "",
            "| set | en top-1 | en top-3 | en best right | en right | zh top-1 | zh top-3 | zh best right | zh right |",
            "|---|" + "---:|" * 8]
    out += [f"| {n} | " + " | ".join(
        f"{c[lang]['top1']:.2f} | {c[lang]['top3']:.2f} | {c[lang]['best_right']:.2f} | "
        f"{report['held_out'][n][lang]['right']:.2f}" for lang in LANGS) + " |"
        for n in names if (c := report["held_out"][n].get("ceiling"))]
    out += ["", ("## In-set: the shipped model (chosen on all five sets)" if count == "five" else
                   f"## In-set: the model chosen on all {count} sets"), "", HEADER, TARGETS]
    out += [row(n, report["in_set"][n]) for n in names]
    out += ["", "Same, with the cross-lingual fallback (on by default; the tables above search the question's language only):", "", HEADER]
    out += [row(n, report["in_set_fallback"][n]) for n in names]
    if report["extra_results"]:
        out += ["", "## Extra lenders (never tuned on; the model chosen on all the tuning sets)", "", HEADER, TARGETS]
        out += [row(n, r) for n, r in report["extra_results"].items()]
    for path, c in report.get("compared", {}).items():
        out += ["", f"## Decided with the stored model {path} (" + "; ".join(
            f"{lang}: answer at P >= {t['answer']}, clarify at P >= {t['clarify']}"
            for lang, t in c["thresholds"].items()) + ")", "", HEADER, TARGETS]
        out += [row(n, r) for n, r in {**c["tuning"], **c["extra"]}.items()]
    if report.get("options"):
        out += ["", f"Threshold choice: {report['options']} (kb_lenders.py --objective / --cap-on / --gain-zh)."]
    public = report["in_set"].get("northwind", {}).get("public_oos")
    held_public = report["held_out"].get("northwind", {}).get("public_oos")
    if public and held_public:
        out += [""] + [f"{name} ({t['n']} questions, asked of our KB): answered in-set {t['answered']:.3f} "
                       f"(buttons {t['offered']:.3f}), held-out {held_public[name]['answered']:.3f}."
                       for name, t in public.items()]
    sizes = sorted({s for r in report["in_set"].values() for lang in LANGS for s in r[lang]["clarify_options"]})
    out += ["", f"Clarify options offered (in-set, any set): {sizes} (never one)."]
    out += ["", "## Methods compared (held out, each set chosen without it)", ""]
    for method, held in report["methods"].items():
        out += [f"### {method}", "", HEADER] + [row(n, held[n]) for n in names] + [""]
    out += ["## Held-out mistakes of the chosen method (wrong answers, out-of-scope answered)", ""]
    for n in names:
        out += [f"- {n}: {m}" for m in report["held_out"][n]["mistakes"]]
    for n, r in report["extra_results"].items():
        out += [f"- {n} (extra): {m}" for m in r["mistakes"]]
    return "\n".join(out) + "\n"
