"""`evaluate` on a real index: the editors' table, confusions and misses, in both languages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from knowledge_base.cli import main

FAQS = {
    "en/payoff-quote.md": ("payoff-quote", "How do I get a payoff quote?", ["What is my payoff amount?"],
                           "Sign in and choose **Payoff quote**."),
    "en/late-fee.md": ("late-fee", "How much is the late fee?", ["Why was a late charge added?"],
                       "5% of the late payment, up to $25."),
    "en/autopay-enroll.md": ("autopay-enroll", "How do I sign up for autopay?",
                             ["Can payments come out of my checking account automatically?"],
                             "Open the app and turn on Autopay."),
    "zh/payoff-quote-zh.md": ("payoff-quote-zh", "如何查询提前结清金额？", ["我想一次性还清车贷要多少钱"],
                              "登录 App，选择“提前结清”。"),
    "zh/late-fee-zh.md": ("late-fee-zh", "逾期会收多少滞纳金？", ["晚还几天要罚款吗"], "宽限期后收取逾期费。"),
}
QUESTIONS = """# question<TAB>expected
how much do i need to pay off the car loan	payoff-quote
what is the charge for paying late	late-fee
what is the charge for paying late	autopay-enroll
一次性还清要多少钱	payoff-quote-zh
what is the capital of france	none
今天天气怎么样	none
"""


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.fixture
def kb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_QUERY_RUNTIME", "torch")
    for rel, (faq_id, title, questions, answer) in FAQS.items():
        path = tmp_path / "faq" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        qs = "".join(f"  - {q}\n" for q in questions)
        path.write_text(f"---\nid: {faq_id}\nlang: {rel[:2]}\ntitle: {title}\nquestions:\n{qs}---\n{answer}\n",
                        encoding="utf-8")
    (tmp_path / "faq" / "test-questions.tsv").write_text(QUESTIONS, encoding="utf-8")
    return tmp_path


def test_evaluate_prints_table_confusions_and_misses(kb_dir: Path) -> None:
    code, _, err = run(["build", "--source", "faq", "--index", "idx"])
    assert code == 0, err
    code, out, err = run(["evaluate", "--source", "faq", "--index", "idx"])
    assert (code, err) == (0, "")
    assert "6 test question(s) from faq/test-questions.tsv" in out
    assert "| lang | questions | answered right | useful | wrong | none | out-of-scope | OOS answered |" in out
    rows = {line.split(" | ")[0]: line for line in out.splitlines() if line.startswith(("| en |", "| zh |"))}
    # The deliberately mislabelled line (expects autopay-enroll for a late-fee question) is a wrong answer;
    # the other two English questions are answered right or offered among the buttons.
    en = rows["| en"].split(" | ")
    assert (en[1], en[3], en[4], en[6], en[7]) == ("3", "0.667", "0.333", "1", "0.000 |"), rows["| en"]
    zh = rows["| zh"].split(" | ")
    assert (zh[1], zh[3], zh[4], zh[6], zh[7]) == ("1", "1.000", "0.000", "1", "0.000 |"), rows["| zh"]
    assert "autopay-enroll -> late-fee" in out
    assert "FAQs that attract wrong answers:" in out
    assert ("faq/test-questions.tsv:4: 'what is the charge for paying late': answer (late-fee"
            in out and "expected autopay-enroll" in out)


def test_evaluate_without_index_is_a_clear_error(kb_dir: Path) -> None:
    code, _, err = run(["evaluate", "--source", "faq", "--index", "idx"])
    assert code == 3 and "run `python -m knowledge_base build" in err and "Traceback" not in err
