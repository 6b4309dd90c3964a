"""validate's warnings (FAQs without alternative questions, near twins) and the test-questions file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from knowledge_base.cli import main
from knowledge_base.evaluation import NONE, Evaluation, read_test_questions, table_rows
from knowledge_base.lint import warnings_for
from knowledge_base.results import Hit, SearchResponse
from knowledge_base.source import read_source


def faq(faq_id: str, lang: str, title: str, questions: list[str], answer: str = "An answer.") -> str:
    qs = ("questions:\n" + "".join(f"  - {q}\n" for q in questions)) if questions else ""
    return f"---\nid: {faq_id}\nlang: {lang}\ntitle: {title}\n{qs}---\n{answer}\n"


@pytest.fixture
def kb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    files = {
        "en/autopay-cancel.md": faq("autopay-cancel", "en", "How do I cancel autopay?",
                                    ["How do I stop autopay payments?"]),
        "en/autopay-stop.md": faq("autopay-stop", "en", "How do I stop autopay?",
                                  ["How do I cancel autopay payments?"]),
        "en/late-fee.md": faq("late-fee", "en", "How much is the late fee?", []),
        "zh/late-fee-zh.md": faq("late-fee-zh", "zh", "逾期费是多少？", ["晚还要交多少滞纳金"]),
        "zh/grace-zh.md": faq("grace-zh", "zh", "有宽限期吗？", ["还款日后几天内还款不算逾期"]),
    }
    for rel, text in files.items():
        (tmp_path / "faq" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "faq" / rel).write_text(text, encoding="utf-8")
    return tmp_path


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_near_twins_and_missing_questions_are_warnings_with_file_and_line(kb_dir: Path) -> None:
    code, out, err = run(["validate", "--source", "faq"])
    assert (code, err) == (0, "")
    assert "faq/en/autopay-cancel.md:4: warning: too similar to faq/en/autopay-stop.md (autopay-stop" in out
    assert "faq/en/late-fee.md:4: warning: no alternative questions" in out
    assert "; 2 warning(s)" in out
    assert "late-fee-zh" not in out and "grace-zh" not in out, "distinct FAQs are not reported"


def test_similarity_bar_is_a_parameter(kb_dir: Path) -> None:
    faqs = read_source(kb_dir / "faq", kb_dir).faqs
    assert not [w for w in warnings_for(faqs, too_similar=1.01) if "too similar" in w.message]
    twins = [w for w in warnings_for(faqs, too_similar=0.6) if "too similar" in w.message]
    assert len(twins) == 1, "each pair once"


def test_test_questions_file_errors_name_the_line(kb_dir: Path) -> None:
    path = kb_dir / "faq" / "test-questions.tsv"
    path.write_text("# comment\nhow much is the late fee\tlate-fee\n晚还几天会罚款吗\tlate-fee-zh\n"
                    "what's the weather\tnone\nno tab here\nwho are you\tno-such-faq\n今天天气怎么样\tnone\tzh\n"
                    "late again\tlate-fee\tfr\n", encoding="utf-8")
    faqs = read_source(kb_dir / "faq", kb_dir).faqs
    questions, issues = read_test_questions(path, "faq/test-questions.tsv", faqs)
    assert [(q.expected, q.lang, q.line) for q in questions] == [
        ("late-fee", "en", 2), ("late-fee-zh", "zh", 3), (NONE, "en", 4), (NONE, "zh", 7)]
    how = "write the question, one tab, then the FAQ id it should get (or 'none'), and optionally a tab and its " \
        "language (en or zh)"
    assert [str(i) for i in issues] == [
        f"faq/test-questions.tsv:5: {how}",
        "faq/test-questions.tsv:6: no FAQ has the id 'no-such-faq'; use an existing id or 'none'",
        f"faq/test-questions.tsv:8: {how}"]
    code, _, err = run(["evaluate", "--source", "faq", "--index", "idx"])
    assert code == 1 and "faq/test-questions.tsv:6: no FAQ has the id" in err


def test_evaluate_without_questions_file_says_what_to_write(kb_dir: Path) -> None:
    code, _, err = run(["evaluate", "--source", "faq", "--index", "idx"])
    assert code == 1 and "faq/test-questions.tsv:0: no test questions; write one question per line" in err


def _resp(decision: str, *ids: str) -> SearchResponse:
    hits = [Hit(id=i, title=i, score=0.5, source=f"{i}.md", lang="en", answer="") for i in ids]
    return SearchResponse("q", "en", decision, hits)  # type: ignore[arg-type]


def test_evaluation_counts_right_useful_wrong_none_and_out_of_scope(kb_dir: Path) -> None:
    path = kb_dir / "faq" / "test-questions.tsv"
    path.write_text("a\tlate-fee\nb\tlate-fee\nc\tlate-fee\nd\tlate-fee\ne\tnone\nf\tnone\n", encoding="utf-8")
    questions, _ = read_test_questions(path, "t.tsv", read_source(kb_dir / "faq", kb_dir).faqs)
    ev = Evaluation()
    for q, r in zip(questions, [_resp("answer", "late-fee"), _resp("clarify", "autopay-stop", "late-fee"),
                                _resp("answer", "autopay-stop"), _resp("none", "late-fee"),
                                _resp("answer", "autopay-stop"), _resp("clarify", "late-fee", "autopay-stop")],
                    strict=True):
        ev.add(q, r)
    rates = ev.by_lang["en"].rates()
    assert rates == {"right": 0.25, "useful": 0.5, "wrong": 0.25, "none": 0.25, "oos_answered": 0.5}
    assert ev.confusions == {("late-fee", "autopay-stop"): 1, (NONE, "autopay-stop"): 1}
    assert ev.attractors().most_common(1) == [("autopay-stop", 2)]
    assert table_rows(ev) == ["| en | 4 | 0.250 | 0.500 | 0.250 | 0.250 | 2 | 0.500 |"]
