"""The command line without the model: validate, build refusing an invalid KB, stats, settings errors."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from knowledge_base.cli import main

REMINDERS = Path(__file__).resolve().parents[2] / "knowledge_base" / "reminders"
GOOD = "---\nid: late-fee\nlang: en\ntitle: How much is the late fee?\ntags: [fees]\n---\nFive percent.\n"


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def kb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "faq" / "en").mkdir(parents=True)
    (tmp_path / "faq" / "en" / "late-fee.md").write_text(GOOD, encoding="utf-8")
    shutil.copytree(REMINDERS, tmp_path / "knowledge_base" / "reminders")  # validate checks them too
    return tmp_path


def test_validate_ok(kb_dir: Path) -> None:
    code, out, err = run(["validate", "--source", "faq"])
    assert (code, err) == (0, "")
    assert "ok: 1 file(s), 1 en" in out


def test_validate_lists_every_problem_without_traceback(kb_dir: Path) -> None:
    (kb_dir / "faq" / "en" / "late-fee.md").write_text(GOOD.replace("lang: en", "lang: fr"), encoding="utf-8")
    (kb_dir / "faq" / "en" / "bad.md").write_text("---\nid: other\n---\n", encoding="utf-8")
    code, _, err = run(["validate", "--source", "faq"])
    assert code == 1
    assert "faq/en/late-fee.md:3: 'lang' must be en or zh" in err
    assert "faq/en/bad.md:2: 'id' 'other' does not match the file name 'bad'" in err
    assert "faq/en/bad.md:4: empty answer" in err
    assert "Traceback" not in err


def test_validate_checks_the_test_questions_next_to_the_faqs(kb_dir: Path) -> None:
    questions = kb_dir / "faq" / "test-questions.tsv"
    questions.write_text("# ours\nhow much if I pay late\tlate-fee\n逾期罚多少钱\tlate-fee\nbitcoin price\tnone\n",
                         encoding="utf-8")
    assert run(["validate", "--source", "faq"])[0] == 0
    questions.write_text("how much if I pay late\tlate-fees\n逾期罚多少钱 没有制表符\n", encoding="utf-8")
    code, _, err = run(["validate", "--source", "faq"])
    assert code == 1
    assert "faq/test-questions.tsv:1: no FAQ has the id 'late-fees'" in err
    assert "faq/test-questions.tsv:2:" in err and "Traceback" not in err


def test_build_refuses_invalid_kb_and_writes_nothing(kb_dir: Path) -> None:
    (kb_dir / "faq" / "en" / "late-fee.md").write_text(GOOD.replace("title: How", "title: ''\n#"), encoding="utf-8")
    code, _, err = run(["build", "--source", "faq", "--index", "idx"])
    assert code == 1
    assert "faq/en/late-fee.md:4: empty or missing 'title'" in err and "nothing was indexed" in err
    assert not (kb_dir / "idx" / "manifest.json").exists()


def test_search_without_index_is_a_clear_error(kb_dir: Path) -> None:
    code, _, err = run(["search", "--index", "idx", "--json"], stdin="late fee\n")
    assert code == 3
    assert "run `python -m knowledge_base build" in err and "Traceback" not in err


def test_stats_counts_without_index(kb_dir: Path) -> None:
    code, out, _ = run(["stats", "--source", "faq", "--index", "idx"])
    assert code == 0
    assert "en: 1 FAQ(s)" in out and "fees: 1" in out and "no knowledge-base index" in out


def test_bad_setting_from_environment(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_TOP_K", "many")
    code, _, err = run(["validate", "--source", "faq"])
    assert code == 2 and "setting top_k" in err


def test_unknown_setting_in_environment_is_refused(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_TOPK", "3")
    code, _, err = run(["validate", "--source", "faq"])
    assert code == 2 and "unknown setting(s) KB_TOPK" in err


def test_validate_warns_about_markdown_the_pages_cannot_show_and_still_passes(kb_dir: Path) -> None:
    body = "Five percent.\n\n<b>Late</b> fees\n\n## Waivers\n\n![chart](https://example.com/c.png)\n"
    (kb_dir / "faq" / "en" / "late-fee.md").write_text(GOOD.replace("Five percent.\n", body), encoding="utf-8")
    (kb_dir / "faq" / "zh").mkdir()
    (kb_dir / "faq" / "zh" / "late-fee-zh.md").write_text(
        "---\nid: late-fee-zh\nlang: zh\ntitle: 滞纳金是多少？\n---\n\n滞纳金说明：\n1、逾期一天\n2、逾期三天\n", encoding="utf-8")
    code, out, err = run(["validate", "--source", "faq"])
    assert code == 0 and "3 warning(s)" not in out and "warning(s) about markdown the pages cannot show" in out
    lines = err.splitlines()
    assert "faq/en/late-fee.md:9: warning: raw HTML '<b>' is shown as text; use markdown instead" in err
    assert any(line.startswith("faq/en/late-fee.md:11: warning: headings are shown as a bold line") for line in lines)
    assert any(line.startswith("faq/en/late-fee.md:13: warning: images are not shown") for line in lines)
    assert any(line.startswith("faq/zh/late-fee-zh.md:8: warning: '1、' does not start a numbered list") for line in lines)
    assert all(": warning: " in line for line in lines), lines
