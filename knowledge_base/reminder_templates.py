"""Repayment-reminder templates: one markdown file per kind and language, kept by the editors next to the FAQs
(`knowledge_base/reminders/<lang>/<kind>.md`) and checked by `python -m knowledge_base validate`.

    ---
    kind: due_soon
    lang: en
    title: Your payment is due on {due_date}
    ---
    Your payment of {amount} for loan {loan} is due on {due_date}. ...

The title is the push/SMS headline, the body the message. Placeholders are `{name}`; each kind allows the
ones in `PLACEHOLDERS` (what the scheduler knows for it), and every kind needs both languages.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.errors import Issue
from knowledge_base.faq import LANGS, _load_yaml, _split
from knowledge_base.source import display_path

_DUE = ("loan", "amount", "due_date")
_MISSED = ("loan", "amount_past_due", "past_due_since", "days_past_due")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "due_soon": _DUE,
    "due_today": _DUE,
    "missed_1": _MISSED,
    "missed_7": _MISSED,
    "payoff_letter_ready": ("loan", "letter_date"),
    "autopay_failed": ("loan", "amount", "due_date", "failed_on"),
}
KINDS: tuple[str, ...] = tuple(PLACEHOLDERS)
KNOWN_KEYS = ("kind", "lang", "title")


@dataclass(frozen=True)
class ReminderTemplate:
    kind: str
    lang: str
    title: str
    body: str
    source: str

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        """(title, body) with the placeholders filled in (validated templates use only known names)."""
        return self.title.format_map(values), self.body.format_map(values)


def _placeholder_issues(text: str, *, kind: str, rel: str, line: int, where: str) -> list[Issue]:
    allowed = PLACEHOLDERS.get(kind, ())
    try:
        names = [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        return [Issue(rel, line, f"{where}: {exc}; write placeholders as {{name}} and a literal brace as {{{{ or }}}}")]
    return [
        Issue(rel, line, f"{where}: unknown placeholder {{{name}}} for {kind}; allowed: "
              + ", ".join(f"{{{a}}}" for a in allowed))
        for name in names if name not in allowed
    ]


def parse_template(text: str, rel: str, *, folder_lang: str | None, stem: str) -> tuple[ReminderTemplate | None,
                                                                                        list[Issue]]:
    split = _split(text, rel)
    if isinstance(split, Issue):
        return None, [split]
    front, body, offset, body_line = split
    loaded = _load_yaml(front, rel, offset)
    if isinstance(loaded, Issue):
        return None, [loaded]
    data, lines = loaded
    if not isinstance(data, dict):
        return None, [Issue(rel, offset, "front matter must be `key: value` lines (kind, lang, title)")]
    issues = [Issue(rel, lines.get(str(key), offset), f"unknown key '{key}'; allowed keys are "
                    f"{', '.join(KNOWN_KEYS)}") for key in data if str(key) not in KNOWN_KEYS]
    kind = str(data.get("kind") or "").strip()
    if kind not in PLACEHOLDERS:
        issues.append(Issue(rel, lines.get("kind", offset), f"'kind' must be one of {', '.join(KINDS)}"))
    elif kind != stem:
        issues.append(Issue(rel, lines.get("kind", offset), f"kind {kind!r} must match the file name; "
                            f"rename the file to {kind}.md or fix the kind"))
    lang = str(data.get("lang") or "").strip()
    if lang not in LANGS:
        issues.append(Issue(rel, lines.get("lang", offset), "'lang' must be en or zh"))
    elif folder_lang is not None and lang != folder_lang:
        issues.append(Issue(rel, lines.get("lang", offset), f"lang {lang!r} but the file is in the "
                            f"{folder_lang}/ folder; move the file or fix the lang"))
    title = " ".join(str(data.get("title") or "").split())
    if not title:
        issues.append(Issue(rel, lines.get("title", offset), "missing 'title' (the push/SMS headline)"))
    body = body.strip()
    if not body:
        issues.append(Issue(rel, body_line, "the message is empty; write it below the front matter"))
    issues += _placeholder_issues(title, kind=kind, rel=rel, line=lines.get("title", offset), where="title")
    for n, body_text in enumerate(body.splitlines()):
        issues += _placeholder_issues(body_text, kind=kind, rel=rel, line=body_line + n, where="message")
    if issues:
        return None, issues
    return ReminderTemplate(kind=kind, lang=lang, title=title, body=body, source=rel), []


@dataclass(frozen=True)
class ReminderTemplates:
    templates: dict[tuple[str, str], ReminderTemplate]  # (kind, lang) -> template
    issues: list[Issue]
    files: int

    def get(self, kind: str, lang: str) -> ReminderTemplate:
        return self.templates.get((kind, lang)) or self.templates[(kind, "en")]


def read_templates(folder: Path, root: Path) -> ReminderTemplates:
    """Every `<lang>/<kind>.md` under `folder`, with every problem (file:line), and a missing one per kind
    and language."""
    shown = display_path(folder, root)
    if not folder.is_dir():
        return ReminderTemplates({}, [Issue(shown, 0, "reminder template folder not found")], 0)
    paths = sorted(p for p in folder.rglob("*.md") if p.is_file())
    issues: list[Issue] = []
    found: dict[tuple[str, str], ReminderTemplate] = {}
    for path in paths:
        rel = display_path(path, root)
        parts = path.relative_to(folder).parts
        folder_lang = parts[0] if len(parts) == 2 and parts[0] in LANGS else None
        if folder_lang is None:
            issues.append(Issue(rel, 1, "reminder templates belong in <folder>/en/ or <folder>/zh/ as <kind>.md"))
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            issues.append(Issue(rel, 1, f"file is not UTF-8 ({exc.reason}); save it as UTF-8"))
            continue
        template, problems = parse_template(text, rel, folder_lang=folder_lang, stem=path.stem)
        issues += problems
        if template is not None:
            found[(template.kind, template.lang)] = template
    for kind in KINDS:
        for lang in LANGS:
            if (kind, lang) not in found and not any(i.path.endswith(f"{lang}/{kind}.md") for i in issues):
                issues.append(Issue(f"{shown}/{lang}/{kind}.md", 0, f"missing: every reminder kind needs a "
                                    f"template in both languages; add {lang}/{kind}.md"))
    return ReminderTemplates(found, sorted(issues), len(paths))
