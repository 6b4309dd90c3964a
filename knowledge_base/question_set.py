"""The editors' test questions: `knowledge_base/faq/test-questions.tsv`, next to the FAQs.

One question per line, tab-separated, no header: the question as a borrower asked it (masked), the id of
the FAQ that should answer it or `none` (nothing should: out of scope), and optionally the language (`en` or
`zh`; without it, an id ending in `-zh` or a question in Chinese characters is Chinese). `append` always
writes all three. Lines starting with `#` and blank lines are ignored, and so is a first line that reads
`question<TAB>faq_id<TAB>lang`. Marking a cluster of unanswered questions "answered by FAQ X" in the console
appends its wordings here with X (`append`); a wording already in the file for its language is not added
again.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from knowledge_base.errors import KBError

FILE_NAME: Final = "test-questions.tsv"
NONE: Final = "none"
HEADER: Final = ("question", "faq_id", "lang")
LANGS: Final = ("en", "zh")
_SPACE = re.compile(r"[\t\r\n]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
_LOCK = threading.Lock()  # one writer per process; appends are single writes (O_APPEND) besides


@dataclass(frozen=True)
class QuestionCase:
    question: str
    faq_id: str  # or NONE
    lang: str


def path_in(source: Path) -> Path:
    """The file of the FAQ folder `source` (knowledge_base/faq)."""
    return source / FILE_NAME


def one_line(question: str) -> str:
    """The question as one TSV cell: tabs and line breaks become single spaces."""
    return _SPACE.sub(" ", question).strip()


def _lang_of(question: str, faq_id: str) -> str:
    if faq_id != NONE:
        return "zh" if faq_id.endswith("-zh") else "en"
    return "zh" if _HAN.search(question) else "en"


def read(path: Path) -> list[QuestionCase]:
    """Every test question of the file (none when it does not exist); KBError names the line at fault."""
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#") or (number == 1 and tuple(line.split("\t")) == HEADER):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) not in (2, 3) or not cells[0] or not cells[1] or (len(cells) == 3 and cells[2] not in LANGS):
            raise KBError(f"{path}:{number}: write question<TAB>faq_id or none<TAB>en or zh (the language may be "
                          "left out)")
        lang = cells[2] if len(cells) == 3 else _lang_of(cells[0], cells[1])
        found.append(QuestionCase(question=cells[0], faq_id=cells[1], lang=lang))
    return found


def append(path: Path, questions: list[QuestionCase]) -> list[QuestionCase]:
    """Add the questions not yet in the file for their language (in order, each once); returns those added."""
    with _LOCK:
        known = {(q.question.casefold(), q.lang) for q in read(path)}
        added = []
        for q in questions:
            text = one_line(q.question)
            if q.lang not in LANGS or not text or (text.casefold(), q.lang) in known:
                continue
            known.add((text.casefold(), q.lang))
            added.append(QuestionCase(question=text, faq_id=q.faq_id, lang=q.lang))
        if added:
            needs_newline = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
            body = ("\n" if needs_newline else "") + "".join(f"{q.question}\t{q.faq_id}\t{q.lang}\n" for q in added)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, body.encode("utf-8"))
            finally:
                os.close(fd)
        return added
