"""Parsing of FAQ files and every validation error, each with file, line and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.faq import parse_faq
from knowledge_base.source import normalize_question, read_source

GOOD = """---
id: payoff-quote
lang: en
title: How do I get a payoff quote?
questions:
  - What is my payoff amount?
  - How much to close my loan?
tags: [payoff, Fees]
---
Sign in and choose **Payoff quote**.
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for rel, text in files.items():
        write(tmp_path / "faq", rel, text)
    return [str(i) for i in read_source(tmp_path / "faq", tmp_path).issues]


def test_parse_good_file_with_lines() -> None:
    faq, issues = parse_faq(GOOD, "faq/en/payoff-quote.md", "en")
    assert issues == []
    assert faq is not None
    assert (faq.id, faq.lang, faq.title) == ("payoff-quote", "en", "How do I get a payoff quote?")
    assert faq.questions == ("What is my payoff amount?", "How much to close my loan?")
    assert faq.tags == ("payoff", "fees")
    assert faq.answer == "Sign in and choose **Payoff quote**."
    assert faq.lines["id"] == 2 and faq.lines["questions.1"] == 7 and faq.lines["answer"] == 10
    assert [k for k, _ in faq.texts()] == ["title", "question", "question"]
    assert faq.texts(include_answer=True)[-1] == ("answer", faq.answer)


def test_good_source_has_no_issues(tmp_path: Path) -> None:
    write(tmp_path / "faq", "en/payoff-quote.md", GOOD)
    write(tmp_path / "faq", "zh/payoff-quote-zh.md",
          GOOD.replace("id: payoff-quote", "id: payoff-quote-zh").replace("lang: en", "lang: zh"))
    source = read_source(tmp_path / "faq", tmp_path)
    assert source.ok and source.files == 2
    assert {f.source for f in source.faqs} == {"faq/en/payoff-quote.md", "faq/zh/payoff-quote-zh.md"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: x\n", "faq/en/payoff-quote.md:1: file must start with a '---' line"),
        ("---\nid: payoff-quote\n", "faq/en/payoff-quote.md:1: front matter is not closed"),
        ("---\nid: payoff-quote\nlang: en\ntitle: [unclosed\n---\nA.\n",
         "faq/en/payoff-quote.md:5: invalid YAML in front matter"),
        ("---\nid: payoff-quote\nlang: en\ntitle: a: b\n---\nA.\n",
         "faq/en/payoff-quote.md:4: invalid YAML in front matter"),
        ("---\n- just\n- a list\n---\nA.\n", "faq/en/payoff-quote.md:2: front matter must be `key: value` lines"),
        ("---\nlang: en\ntitle: T\n---\nA.\n", "faq/en/payoff-quote.md:2: missing 'id'; add `id: payoff-quote`"),
        ("---\nid: Payoff_Quote\nlang: en\ntitle: T\n---\nA.\n",
         "faq/en/payoff-quote.md:2: 'id' 'Payoff_Quote' may only hold lowercase letters"),
        ("---\nid: late-fee\nlang: en\ntitle: T\n---\nA.\n",
         "faq/en/payoff-quote.md:2: 'id' 'late-fee' does not match the file name 'payoff-quote'"),
        ("---\nid: payoff-quote\nlang: fr\ntitle: T\n---\nA.\n",
         "faq/en/payoff-quote.md:3: 'lang' must be en or zh"),
        ("---\nid: payoff-quote\ntitle: T\n---\nA.\n", "faq/en/payoff-quote.md:2: missing 'lang'"),
        ("---\nid: payoff-quote\nlang: zh\ntitle: T\n---\nA.\n",
         "faq/en/payoff-quote.md:3: 'lang' is zh but the file is in the en/ folder"),
        ("---\nid: payoff-quote\nlang: en\ntitle: '  '\n---\nA.\n",
         "faq/en/payoff-quote.md:4: empty or missing 'title'"),
        ("---\nid: payoff-quote\nlang: en\n---\nA.\n", "faq/en/payoff-quote.md:2: empty or missing 'title'"),
        ("---\nid: payoff-quote\nlang: en\ntitle: T\n---\n\n  \n", "faq/en/payoff-quote.md:6: empty answer"),
        ("---\nid: payoff-quote\nlang: en\ntitle: T\nquestion:\n  - Q\n---\nA.\n",
         "faq/en/payoff-quote.md:5: unknown key 'question'"),
        ("---\nid: payoff-quote\nlang: en\ntitle: T\nquestions: {a: b}\n---\nA.\n",
         "faq/en/payoff-quote.md:5: 'questions' must be a list"),
        ("---\nid: payoff-quote\nlang: en\ntitle: T\nquestions:\n  - Q\n  -\n---\nA.\n",
         "faq/en/payoff-quote.md:7: 'questions' item 2 must be non-empty text"),
        ("---\nid: payoff-quote\nlang: en\ntitle: T\ntags: 5\n---\nA.\n", "faq/en/payoff-quote.md:5: 'tags' must be a list"),
        ("---\nid: payoff-quote\nlang: en\ntitle: Same?\nquestions:\n  - same\n---\nA.\n",
         "faq/en/payoff-quote.md:6: question 'same' repeats line 4 of the same file"),
    ],
)
def test_each_error_has_file_line_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    issues = issues_of(tmp_path, {"en/payoff-quote.md": text})
    assert any(i.startswith(expected) for i in issues), issues


def test_duplicate_id_and_question_across_files(tmp_path: Path) -> None:
    other = GOOD.replace("id: payoff-quote", "id: payoff-amount").replace(
        "How do I get a payoff quote?", "Payoff amount?").replace("How much to close my loan?", "Other?")
    issues = issues_of(tmp_path, {
        "en/payoff-quote.md": GOOD,
        "en/payoff-amount.md": other,
        "zh/payoff-quote.md": GOOD.replace("lang: en", "lang: zh"),
    })
    assert any(i.startswith("faq/en/payoff-quote.md:6: question 'What is my payoff amount?' is also in "
                            "faq/en/payoff-amount.md:6") for i in issues), issues
    assert any("duplicate id 'payoff-quote', also used by faq/en/payoff-quote.md:2" in i for i in issues), issues


def test_wrong_folder_bad_utf8_and_missing_source(tmp_path: Path) -> None:
    write(tmp_path / "faq", "payoff-quote.md", GOOD)
    (tmp_path / "faq" / "en").mkdir()
    (tmp_path / "faq" / "en" / "late-fee.md").write_bytes(b"---\nid: late-fee\ntitle: \xff\xfe\n---\n")
    issues = [str(i) for i in read_source(tmp_path / "faq", tmp_path).issues]
    assert any(i.startswith("faq/payoff-quote.md:1: FAQ files belong in <source>/en/") for i in issues)
    assert any(i.startswith("faq/en/late-fee.md:1: file is not UTF-8") for i in issues)
    missing = read_source(tmp_path / "nope", tmp_path)
    assert not missing.ok and "source folder not found" in str(missing.issues[0])
    (tmp_path / "empty").mkdir()
    assert str(read_source(tmp_path / "empty", tmp_path).issues[0]) == (
        "empty:0: no FAQ files (*.md) in the source folder; add <lang>/<id>.md files or pass the right --source")


def test_all_problems_reported_at_once_and_sorted(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, {
        "en/a.md": "---\nid: b\nlang: fr\ntitle: ''\n---\n",
        "en/c.md": "no front matter\n",
    })
    assert len(issues) == 5, issues
    assert issues == sorted(issues)
    assert read_source(tmp_path / "faq", tmp_path).faqs == []


def test_normalize_question_ignores_case_width_punctuation() -> None:
    assert normalize_question("What is my Payoff amount?") == normalize_question("what is my payoff amount")
    assert normalize_question("提前还款要收违约金吗？") == normalize_question("提前还款要收违约金吗?")
