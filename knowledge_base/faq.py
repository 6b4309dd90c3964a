"""One FAQ file: YAML front matter + markdown answer, parsed with line numbers for every field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.errors import Issue

LANGS = ("en", "zh")
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KNOWN_KEYS = ("id", "lang", "title", "questions", "tags")
FENCE = "---"
PASSAGE_CHARS = 600  # the model reads about 256 word pieces
_MARKS = re.compile(r"(\*\*|__|`|^\s*(?:[-*+]|\d+[.)])\s|^#+\s)", re.MULTILINE)


@dataclass(frozen=True)
class FAQ:
    """A parsed FAQ entry; ``lines`` maps field names (and ``questions.N``) to 1-based line numbers."""

    id: str
    lang: str
    title: str
    answer: str
    source: str
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def texts(self, include_answer: bool = False) -> list[tuple[str, str]]:
        """The (kind, text) pairs this entry is found by: title, each question, optionally the answer."""
        out = [("title", self.title)] + [("question", q) for q in self.questions]
        if include_answer:
            out.append(("answer", self.answer))
        return out

    def passages(self) -> list[str]:
        """The answer cut into paragraphs and list items, markdown marks removed: each is embedded on its
        own so that one topic of a long, many-topic answer can be found."""
        out: list[str] = []
        for block in re.split(r"\n\s*\n", self.answer):
            items = re.split(r"\n(?=\s*(?:[-*+]|\d+[.)])\s)", block)
            for item in items:
                text = " ".join(_MARKS.sub(" ", item).split())
                if len(text) >= 8:
                    out.append(text[:PASSAGE_CHARS])
        return out


def _split(text: str, rel: str) -> tuple[str, str, int, int] | Issue:
    """Return (front matter, body, first front-matter line, body line) or an issue."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        return Issue(rel, 1, "file must start with a '---' line opening the YAML front matter")
    for i in range(1, len(lines)):
        if lines[i].rstrip() == FENCE:
            return "".join(lines[1:i]), "".join(lines[i + 1 :]), 2, i + 2
    return Issue(rel, 1, "front matter is not closed: add a '---' line after the YAML block")


def _node_lines(node: yaml.Node, offset: int) -> dict[str, int]:
    """Line of each top-level key and of each item of ``questions``/``tags``."""
    out: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key, value in node.value:
        name = str(key.value)
        out[name] = key.start_mark.line + offset
        if isinstance(value, yaml.SequenceNode):
            for n, item in enumerate(value.value):
                out[f"{name}.{n}"] = item.start_mark.line + offset
    return out


def _load_yaml(front: str, rel: str, offset: int) -> tuple[Any, dict[str, int]] | Issue:
    loader = yaml.SafeLoader(front)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        return loader.construct_document(node), _node_lines(node, offset)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + offset if mark is not None else offset
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Issue(rel, line, f"invalid YAML in front matter ({problem}); check indentation and quote "
                     "values containing ':' or '#'")
    finally:
        loader.dispose()


def _str_list(data: dict[str, Any], key: str, rel: str, lines: dict[str, int],
              issues: list[Issue]) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    line = lines.get(key, 1)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        issues.append(Issue(rel, line, f"'{key}' must be a list, e.g. `{key}: [a, b]` or one '- item' per line"))
        return ()
    out: list[str] = []
    for n, item in enumerate(value):
        item_line = lines.get(f"{key}.{n}", line)
        if not isinstance(item, str | int | float) or isinstance(item, bool) or not str(item).strip():
            issues.append(Issue(rel, item_line, f"'{key}' item {n + 1} must be non-empty text; "
                                "remove it or write the text"))
            continue
        out.append(" ".join(str(item).split()))
    return tuple(out)


def parse_faq(text: str, rel: str, folder_lang: str | None = None) -> tuple[FAQ | None, list[Issue]]:
    """Parse one file's text; ``rel`` is the path shown in messages, ``folder_lang`` its ``<lang>/`` folder."""
    split = _split(text, rel)
    if isinstance(split, Issue):
        return None, [split]
    front, body, offset, body_line = split
    loaded = _load_yaml(front, rel, offset)
    if isinstance(loaded, Issue):
        return None, [loaded]
    data, lines = loaded
    if not isinstance(data, dict):
        return None, [Issue(rel, offset, "front matter must be `key: value` lines (id, lang, title, ...)")]

    issues: list[Issue] = []
    for key in data:
        if str(key) not in KNOWN_KEYS:
            issues.append(Issue(rel, lines.get(str(key), offset), f"unknown key '{key}'; allowed keys are "
                                f"{', '.join(KNOWN_KEYS)} (check the spelling)"))

    stem = Path(rel).stem
    faq_id = data.get("id")
    if faq_id is None or str(faq_id).strip() == "":
        issues.append(Issue(rel, lines.get("id", offset), f"missing 'id'; add `id: {stem}`"))
        faq_id = ""
    else:
        faq_id = str(faq_id).strip()
        if not ID_RE.match(faq_id):
            issues.append(Issue(rel, lines["id"], f"'id' {faq_id!r} may only hold lowercase letters, digits "
                                "and single hyphens, e.g. `payoff-quote`"))
        elif faq_id != stem:
            issues.append(Issue(rel, lines["id"], f"'id' {faq_id!r} does not match the file name {stem!r}; "
                                f"rename the file to {faq_id}.md or set `id: {stem}`"))

    lang = data.get("lang")
    if lang is None:
        issues.append(Issue(rel, offset, f"missing 'lang'; add `lang: {folder_lang or 'en'}` (en or zh)"))
        lang = ""
    elif str(lang) not in LANGS:
        issues.append(Issue(rel, lines["lang"], "'lang' must be en or zh"))
    elif folder_lang is not None and str(lang) != folder_lang:
        issues.append(Issue(rel, lines["lang"], f"'lang' is {lang} but the file is in the {folder_lang}/ "
                            f"folder; move it to {lang}/ or set `lang: {folder_lang}`"))

    title = data.get("title")
    if not isinstance(title, str | int | float) or isinstance(title, bool) or not str(title).strip():
        issues.append(Issue(rel, lines.get("title", offset), "empty or missing 'title'; write the question "
                            "as a borrower would ask it, e.g. `title: How do I get a payoff quote?`"))
        title = ""
    questions = _str_list(data, "questions", rel, lines, issues)
    tags = _str_list(data, "tags", rel, lines, issues)

    answer = body.strip()
    answer_line = body_line + body[: len(body) - len(body.lstrip())].count("\n")
    if not answer:
        issues.append(Issue(rel, body_line, "empty answer; write the answer in markdown below the closing '---'"))

    faq = FAQ(id=str(faq_id), lang=str(lang), title=" ".join(str(title).split()), answer=answer,
              source=rel, questions=questions, tags=tuple(t.lower() for t in tags),
              lines={**lines, "answer": answer_line})
    return faq, issues
