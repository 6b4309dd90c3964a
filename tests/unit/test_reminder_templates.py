"""Issue 16, templates: the reminder texts editors keep next to the FAQs are validated like the FAQs
(`python -m knowledge_base validate`): placeholders checked against each kind's allowed set, both languages
present, every problem as file:line."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from knowledge_base.cli import main
from knowledge_base.reminder_templates import KINDS, PLACEHOLDERS, read_templates

REPO = Path(__file__).resolve().parents[2]
REMINDERS = REPO / "knowledge_base" / "reminders"


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "knowledge_base" / "faq", tmp_path / "faq")
    shutil.copytree(REMINDERS, tmp_path / "rem")
    return tmp_path / "rem"


def test_the_shipped_templates_cover_every_kind_in_both_languages() -> None:
    found = read_templates(REMINDERS, REPO)
    assert found.issues == []
    assert set(found.templates) == {(kind, lang) for kind in KINDS for lang in ("en", "zh")}
    for (kind, lang), template in found.templates.items():
        title, body = template.render({name: f"<{name}>" for name in PLACEHOLDERS[kind]})
        assert "<loan>" in body, (kind, lang)  # every reminder names the (masked) loan it is about
        assert "{" not in title + body


def test_validate_reports_placeholders_languages_and_front_matter_with_file_and_line(copy: Path) -> None:
    due = copy / "en" / "due_soon.md"
    due.write_text(due.read_text("utf-8").replace("{amount}", "{balance}", 1), "utf-8")
    (copy / "zh" / "missed_7.md").unlink()
    letter = copy / "zh" / "payoff_letter_ready.md"
    letter.write_text(letter.read_text("utf-8").replace("lang: zh", "lang: en"), "utf-8")
    broken = copy / "en" / "autopay_failed.md"
    broken.write_text(broken.read_text("utf-8").replace("{failed_on}", "{failed_on"), "utf-8")
    code, _, err = run(["validate", "--source", "faq", "--reminders", "rem"])
    assert code == 1 and "Traceback" not in err
    assert "rem/en/due_soon.md:6: message: unknown placeholder {balance} for due_soon; allowed: {loan}, {amount}, " \
           "{due_date}" in err
    assert "rem/zh/missed_7.md:0: missing: every reminder kind needs a template in both languages; add " \
           "zh/missed_7.md" in err
    assert "rem/zh/payoff_letter_ready.md:3: lang 'en' but the file is in the zh/ folder" in err
    assert "rem/en/autopay_failed.md:6: message: unexpected '{' in field name" in err
    assert "4 problem(s)" in err


def test_a_kind_that_does_not_match_its_file_name_is_refused(copy: Path) -> None:
    (copy / "en" / "due_today.md").write_text(
        "---\nkind: due_soon\nlang: en\ntitle: Due {due_date}\n---\nPay {amount}.\n", "utf-8")
    code, _, err = run(["validate", "--source", "faq", "--reminders", "rem"])
    assert code == 1
    assert "rem/en/due_today.md:2: kind 'due_soon' must match the file name" in err
