"""Precision and recall of the service's local handoff detector (`handoff/triage/`), the one that queues a
borrower while the bot is down. Prints the numbers and writes benchmarks/results/triage_quality.md.
Not a test: run `python benchmarks/triage_quality.py` (a unit test checks the floors).

Positives (`benchmarks/eval/triage_positive.tsv`): requests for a person, angry messages and complaints in
English and Chinese, written before the detector's phrase lists. Negatives: near misses written at the same
time (`triage_negative.tsv`), plus a fixed sample of ordinary borrower questions (`en.tsv`, `zh.tsv`, without
the complaint, dispute and contact FAQs, whose paraphrases are requests for a person or complaints by
design), BANKING77 and CLINC150 out-of-scope queries (/work/shared/data, or --data).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handoff.triage.detector import detect

EVAL = ROOT / "benchmarks" / "eval"
RESULTS = ROOT / "benchmarks" / "results" / "triage_quality.md"
DEFAULT_DATA = Path("/work/shared/data")
SEED = 13
EXCLUDED_FAQS = {
    "contact-northwind", "credit-report-dispute", "escalate-complaint", "file-complaint", "complaints-zh",
    "contact-agent-zh", "credit-dispute-zh",
}


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    label: str  # person | anger | complaint | none
    source: str


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def load_examples(data: Path) -> list[Example]:
    rng = random.Random(SEED)
    found = [Example(r["text"], r["lang"], r["label"], "written") for r in _tsv(EVAL / "triage_positive.tsv")]
    found += [Example(r["text"], r["lang"], "none", "near miss") for r in _tsv(EVAL / "triage_negative.tsv")]
    for lang in ("en", "zh"):
        rows = [line.split("\t") for line in (EVAL / f"{lang}.tsv").read_text(encoding="utf-8").splitlines()]
        kept = [text for text, faq, *_ in rows if faq not in EXCLUDED_FAQS]
        found += [Example(t, lang, "none", "kb paraphrase") for t in rng.sample(kept, 40)]
    banking = [line.split("\t")[0] for line in (data / "banking77_test.tsv").read_text().splitlines() if line]
    found += [Example(t, "en", "none", "BANKING77") for t in rng.sample(banking, 60)]
    clinc = (data / "clinc150_oos_valid.txt").read_text().splitlines()
    found += [Example(t, "en", "none", "CLINC150") for t in rng.sample([c for c in clinc if c], 40)]
    return found


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.3f}" if den else "-"


def evaluate(examples: list[Example]) -> tuple[str, list[Example], list[Example]]:
    lines = ["| set | positives | negatives | recall | precision | false positives |", "|---|---|---|---|---|---|"]
    misses: list[Example] = []
    false_alarms: list[Example] = []
    for lang in ("en", "zh", "all"):
        chosen = [e for e in examples if lang in ("all", e.lang)]
        hits = {e: detect(e.text).reason is not None for e in chosen}
        tp = sum(1 for e, hit in hits.items() if hit and e.label != "none")
        fp = sum(1 for e, hit in hits.items() if hit and e.label == "none")
        pos = sum(1 for e in chosen if e.label != "none")
        neg = len(chosen) - pos
        lines.append(f"| {lang} | {pos} | {neg} | {_ratio(tp, pos)} | {_ratio(tp, tp + fp)} | {fp} |")
        if lang == "all":
            misses = [e for e, hit in hits.items() if not hit and e.label != "none"]
            false_alarms = [e for e, hit in hits.items() if hit and e.label == "none"]
    lines += ["", "| label | examples | recall |", "|---|---|---|"]
    for label in ("person", "anger", "complaint"):
        chosen = [e for e in examples if e.label == label]
        tp = sum(1 for e in chosen if detect(e.text).reason is not None)
        lines.append(f"| {label} | {len(chosen)} | {_ratio(tp, len(chosen))} |")
    return "\n".join(lines), misses, false_alarms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with BANKING77 and CLINC150 files")
    args = parser.parse_args()
    table, misses, false_alarms = evaluate(load_examples(args.data))
    report = ["# Local handoff detector (handoff/triage)", "", table, "", "Missed:"]
    report += [f"- [{e.lang}/{e.label}] {e.text}" for e in misses] or ["- none"]
    report += ["", "False alarms:"]
    report += [f"- [{e.lang}/{e.source}] {e.text}  ->  {detect(e.text).cues}" for e in false_alarms] or ["- none"]
    text = "\n".join(report) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
