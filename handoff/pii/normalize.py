"""The text as the detectors see it: NFKC, character by character, each mapped back to the raw text.

NFKC turns full-width digits and letters (`４１１１`, `ＮＷ`), the full-width `＠`, `－`, `．`, `／` and the
ideographic and no-break spaces into their ASCII forms, so one set of patterns covers them all. It is
applied per character so that every normalised character knows the raw character it came from: the
masked text keeps the borrower's own punctuation (`，`, `：`) everywhere outside a masked span.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# What may stand between the digits of one number: whitespace (tabs, newlines, NBSP after NFKC), dots,
# underscores, slashes and the dash family (hyphen, en dash, em dash, minus).
SEP_CHARS = r"\s._/\u2010-\u2015\u2212-"
SEP_RUN = rf"[{SEP_CHARS}]{{1,8}}"  # "any run", bounded so that a table's columns stay apart


@dataclass(frozen=True)
class Normalized:
    text: str
    origin: Sequence[int]  # origin[i]: index in the raw text of text[i]; origin[len(text)] == len(raw)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw characters behind text[start:end] (whole raw characters, even when one of them
        normalised to several)."""
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1

    def blank(self, raw_spans: Sequence[tuple[int, int]]) -> Normalized:
        """The same text with the characters of `raw_spans` (already claimed) replaced by NUL, so that
        a later detector neither looks at them nor joins its numbers to them."""
        if not raw_spans:
            return self
        chars = list(self.text)
        for i, at in enumerate(self.origin[: len(chars)]):
            if any(start <= at < end for start, end in raw_spans):
                chars[i] = "\0"
        return Normalized("".join(chars), self.origin)

    def substitute(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> Normalized:
        """A further rewrite (e.g. for the phone matcher) that still maps back to the raw text."""
        parts: list[str] = []
        origin: list[int] = []
        pos = 0
        for m in pattern.finditer(self.text):
            parts.append(self.text[pos : m.start()])
            origin.extend(self.origin[pos : m.start()])
            new = repl(m)
            parts.append(new)
            if len(new) == m.end() - m.start():  # character for character
                origin.extend(self.origin[m.start() : m.end()])
            else:  # all of it stands for the first character replaced
                origin.extend([self.origin[m.start()]] * len(new))
            pos = m.end()
        if pos == 0:
            return self
        parts.append(self.text[pos:])
        origin.extend(self.origin[pos:])
        return Normalized("".join(parts), origin)


def normalize(raw: str) -> Normalized:
    if raw.isascii():
        return Normalized(raw, range(len(raw) + 1))
    parts: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(raw):
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch
        parts.append(folded)
        origin.extend([i] * len(folded))
    origin.append(len(raw))
    return Normalized("".join(parts), origin)
