"""Test questions next to the FAQs, and how well the bot answers them (``python -m knowledge_base evaluate``).

``<source>/test-questions.tsv``: one question per line, a tab, then the id of the FAQ it should get, or
``none`` for a question the bot must not answer (another lender's product, small talk, ...). Lines starting
with ``#`` are comments. A question's language is its FAQ's; for ``none`` it is detected from the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.errors import Issue
from knowledge_base.faq import FAQ, LANGS
from knowledge_base.results import SearchResponse
from knowledge_base.text import detect_lang

TEST_QUESTIONS = "test-questions.tsv"
NONE = "none"


@dataclass(frozen=True)
class TestQuestion:
    text: str
    expected: str  # an FAQ id, or "none"
    lang: str
    line: int


def read_test_questions(path: Path, rel: str, faqs: Iterable[FAQ], zh_ratio: float = 0.5,
                        ) -> tuple[list[TestQuestion], list[Issue]]:
    """Parse a test-questions file; every bad line is an issue with its line number and the fix."""
    langs = {f.id: f.lang for f in faqs}
    out: list[TestQuestion] = []
    issues: list[Issue] = []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Issue(rel, 1, f"file is not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8")]
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in raw.split("\t")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1] or (len(parts) == 3 and parts[2] not in LANGS):
            issues.append(Issue(rel, n, "write the question, one tab, then the FAQ id it should get (or "
                                f"'{NONE}'), and optionally a tab and its language (en or zh)"))
            continue
        question, expected = parts[0], parts[1]
        if expected == NONE:
            lang = parts[2] if len(parts) == 3 else detect_lang(question, zh_ratio)
            out.append(TestQuestion(question, NONE, lang, n))
        elif expected not in langs:
            issues.append(Issue(rel, n, f"no FAQ has the id {expected!r}; use an existing id or '{NONE}'"))
        else:
            out.append(TestQuestion(question, expected, langs[expected], n))
    return out, issues


@dataclass
class Scores:
    """The table of one language: shares of in-scope questions, and of out-of-scope ones answered."""

    questions: int = 0
    right: int = 0  # answered with the expected FAQ
    clarify_hit: int = 0  # expected FAQ among the clarify options
    wrong: int = 0  # answered with another FAQ
    none: int = 0
    out_of_scope: int = 0
    oos_answered: int = 0

    def rates(self) -> dict[str, float]:
        n, m = max(self.questions, 1), max(self.out_of_scope, 1)
        return {"right": self.right / n, "useful": (self.right + self.clarify_hit) / n,
                "wrong": self.wrong / n, "none": self.none / n, "oos_answered": self.oos_answered / m}


@dataclass
class Evaluation:
    by_lang: dict[str, Scores] = field(default_factory=lambda: {lang: Scores() for lang in LANGS})
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, answered)
    missed: list[tuple[TestQuestion, SearchResponse]] = field(default_factory=list)

    def add(self, q: TestQuestion, resp: SearchResponse) -> None:
        s = self.by_lang[q.lang]
        ids = [h.id for h in resp.results]
        if q.expected == NONE:
            s.out_of_scope += 1
            if resp.decision == "answer":
                s.oos_answered += 1
                self.confusions[(NONE, ids[0])] += 1
                self.missed.append((q, resp))
            return
        s.questions += 1
        if resp.decision == "answer" and ids[0] == q.expected:
            s.right += 1
            return
        if resp.decision == "answer":
            s.wrong += 1
            self.confusions[(q.expected, ids[0])] += 1
        elif resp.decision == "clarify" and q.expected in ids:
            s.clarify_hit += 1
            return
        elif resp.decision == "none":
            s.none += 1
        self.missed.append((q, resp))

    def attractors(self) -> Counter[str]:
        """FAQs that were answered for questions meant for another FAQ, or for none."""
        out: Counter[str] = Counter()
        for (_expected, answered), n in self.confusions.items():
            out[answered] += n
        return out


def evaluate(questions: list[TestQuestion], responses: list[SearchResponse]) -> Evaluation:
    ev = Evaluation()
    for q, resp in zip(questions, responses, strict=True):
        ev.add(q, resp)
    return ev


TABLE_HEADER = ("| lang | questions | answered right | useful | wrong | none | out-of-scope | OOS answered |\n"
                "|---|---:|---:|---:|---:|---:|---:|---:|")


def table_rows(ev: Evaluation, label: str = "") -> list[str]:
    rows = []
    for lang, s in ev.by_lang.items():
        if not s.questions and not s.out_of_scope:
            continue
        r = s.rates()
        rows.append(f"| {label}{lang} | {s.questions} | {r['right']:.3f} | {r['useful']:.3f} | {r['wrong']:.3f} | "
                    f"{r['none']:.3f} | {s.out_of_scope} | {r['oos_answered']:.3f} |")
    return rows
