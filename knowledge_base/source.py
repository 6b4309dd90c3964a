"""Read a folder of FAQ files and check it as a whole: every problem at once, each with file and line."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.errors import Issue
from knowledge_base.faq import FAQ, LANGS, parse_faq
from knowledge_base.markup import problems


@dataclass(frozen=True)
class Source:
    """The outcome of reading a source folder: valid entries plus every issue found."""

    faqs: list[FAQ]
    issues: list[Issue]
    files: int
    warnings: list[Issue] = field(default_factory=list)  # markdown the pages cannot show as written

    @property
    def ok(self) -> bool:
        return not self.issues


def display_path(path: Path, root: Path) -> str:
    """Path relative to the repository root when inside it (as shown to editors and stored in hits)."""
    try:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix() \
            if path.resolve().is_relative_to(root.resolve()) else path.resolve().as_posix()
    except ValueError:
        return path.resolve().as_posix()


_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def normalize_question(text: str) -> str:
    """Key under which two question texts count as the same (case, width, spaces, punctuation ignored)."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).casefold())


def _check_duplicates(faqs: list[FAQ], issues: list[Issue]) -> None:
    first_id: dict[str, FAQ] = {}
    first_text: dict[tuple[str, str], tuple[FAQ, int]] = {}
    for faq in faqs:
        if faq.id:
            other = first_id.get(faq.id)
            if other is not None:
                issues.append(Issue(faq.source, faq.lines.get("id", 1),
                                    f"duplicate id {faq.id!r}, also used by {other.source}:"
                                    f"{other.lines.get('id', 1)}; ids must be unique, rename one"))
            else:
                first_id[faq.id] = faq
        candidates = [("title", faq.title, faq.lines.get("title", 1))] + [
            (f"questions.{n}", q, faq.lines.get(f"questions.{n}", faq.lines.get("questions", 1)))
            for n, q in enumerate(faq.questions)]
        for _field, text, line in candidates:
            key = normalize_question(text)
            if not key:
                continue
            seen = first_text.get((faq.lang, key))
            if seen is None:
                first_text[(faq.lang, key)] = (faq, line)
            elif seen[0] is faq:
                issues.append(Issue(faq.source, line, f"question {text!r} repeats line {seen[1]} of the "
                                    "same file; delete the repeat"))
            else:
                issues.append(Issue(faq.source, line, f"question {text!r} is also in {seen[0].source}:"
                                    f"{seen[1]}; a question may lead to one FAQ only, keep it in one file"))


def read_source(source: Path, root: Path) -> Source:
    """Parse every ``*.md`` under ``source`` and run the cross-file checks."""
    issues: list[Issue] = []
    faqs: list[FAQ] = []
    if not source.is_dir():
        return Source([], [Issue(display_path(source, root), 0,
                                 "source folder not found; pass --source DIR or set KB_SOURCE")], 0)
    paths = sorted(p for p in source.rglob("*.md") if p.is_file())
    if not paths:
        return Source([], [Issue(display_path(source, root), 0, "no FAQ files (*.md) in the source folder; "
                                 "add <lang>/<id>.md files or pass the right --source")], 0)
    for path in paths:
        rel = display_path(path, root)
        parts = path.relative_to(source).parts
        folder_lang = parts[0] if len(parts) == 2 and parts[0] in LANGS else None
        if folder_lang is None:
            issues.append(Issue(rel, 1, "FAQ files belong in <source>/en/ or <source>/zh/ as <id>.md; "
                                "move the file there"))
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            issues.append(Issue(rel, 1, f"file is not UTF-8 ({exc.reason} at byte {exc.start}); "
                                "save it as UTF-8"))
            continue
        faq, found = parse_faq(text, rel, folder_lang)
        issues.extend(found)
        if faq is not None:
            faqs.append(faq)
    _check_duplicates(faqs, issues)
    bad = {i.path for i in issues}
    warnings = [Issue(f.source, f.lines.get("answer", 1) + line, f"warning: {message}")
                for f in faqs for line, message in problems(f.answer)]
    return Source([f for f in faqs if f.source not in bad], sorted(issues), len(paths), sorted(warnings))
