"""knowledge_base/faq/test-questions.tsv: the format (question, FAQ id or none, language; no header), the
errors with file and line, and appending each wording once per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import question_set as qs
from knowledge_base.errors import KBError


def test_read_skips_comments_blank_lines_and_a_header(tmp_path: Path) -> None:
    path = tmp_path / qs.FILE_NAME
    path.write_text("question\tfaq_id\tlang\n# from the console\n\nhow do I pay\tpayment-methods\ten\n"
                    "能用比特币吗\tnone\tzh\n", encoding="utf-8")
    assert qs.read(path) == [qs.QuestionCase("how do I pay", "payment-methods", "en"),
                             qs.QuestionCase("能用比特币吗", "none", "zh")]
    assert qs.read(tmp_path / "missing.tsv") == []


def test_the_language_column_may_be_left_out(tmp_path: Path) -> None:
    """Hand-written lines (question<TAB>id) and the console's three columns are one format."""
    path = tmp_path / qs.FILE_NAME
    path.write_text("how do I pay\tpayment-methods\n怎么还款\tpayment-methods-zh\n能用比特币吗\tnone\n"
                    "can I pay in bitcoin\tnone\n", encoding="utf-8")
    assert [(q.faq_id, q.lang) for q in qs.read(path)] == [
        ("payment-methods", "en"), ("payment-methods-zh", "zh"), ("none", "zh"), ("none", "en")]
    qs.append(path, [qs.QuestionCase("how can I pay", "payment-methods", "en")])
    assert qs.read(path)[-1] == qs.QuestionCase("how can I pay", "payment-methods", "en")


@pytest.mark.parametrize("line", ["only a question", "q\tfaq\tfr", "\tfaq\ten", "q\tfaq\ten\textra"])
def test_bad_lines_name_the_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / qs.FILE_NAME
    path.write_text(f"fine\tnone\ten\n{line}\n", encoding="utf-8")
    with pytest.raises(KBError, match=rf"{qs.FILE_NAME}:2: write question<TAB>faq_id"):
        qs.read(path)


def test_append_adds_each_wording_once_per_language(tmp_path: Path) -> None:
    path = tmp_path / qs.FILE_NAME
    path.write_text("Can I pay by card\tpayment-methods\ten", encoding="utf-8")  # no final newline
    added = qs.append(path, [qs.QuestionCase("can i pay by card", "payment-methods", "en"),  # same, other case
                             qs.QuestionCase("pay\twith\nbitcoin", "payment-methods", "en"),
                             qs.QuestionCase("pay with bitcoin", "payment-methods", "en"),  # now a duplicate
                             qs.QuestionCase("can i pay by card", "payment-methods-zh", "zh")])
    assert [(q.question, q.lang) for q in added] == [("pay with bitcoin", "en"), ("can i pay by card", "zh")]
    assert path.read_text("utf-8").splitlines() == [
        "Can I pay by card\tpayment-methods\ten", "pay with bitcoin\tpayment-methods\ten",
        "can i pay by card\tpayment-methods-zh\tzh"]
    assert qs.append(path, added) == []
