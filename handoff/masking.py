"""Masking of personal numbers before a borrower's text is stored, logged or sent to Rasa.

What is masked (and how it is recognised):
- card numbers: 13-19 digits, spaces or dashes between groups allowed, Luhn-valid -> `[CARD ****1234]`
- Chinese resident ID numbers: 17 digits + digit/X, ISO 7064 MOD 11-2 checksum -> `[ID]`
- phone numbers: CN mobile `1[3-9]` + 9 digits (optional +86), NANP `(NXX) NXX-XXXX` (optional +1) -> `[PHONE]`
- e-mail addresses -> `[EMAIL]`
- VINs: 17 characters without I, O, Q, at least one letter and one digit; North-American VINs
  (first character 1-5) must also carry a valid check digit (position 9) -> `[VIN]`
- our loan numbers: `NW-` followed by 8 digits (the dash may be a space or missing, any case),
  e.g. `NW-20240117` -> `[LOAN ****0117]`

Detection is regular expressions plus checksum validators over the raw characters rather than a
spaCy tokenizer: Chinese text has no spaces, so a number glued to Chinese characters
("卡号4111111111111111") is not a token of its own and token-based matchers would miss it.
Near-misses (a wrong check digit) are left alone so that amounts and order numbers stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

LOAN_NUMBER_FORMAT = "NW-" + "8 digits (e.g. NW-20240117)"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_LOAN = re.compile(r"(?<![A-Za-z0-9])NW[- ]?(\d{8})(?!\d)", re.IGNORECASE)
_VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])", re.IGNORECASE)
_CN_ID = re.compile(r"(?<![A-Za-z0-9])\d{17}[\dXx](?![A-Za-z0-9])")
# A run of digit groups joined by single spaces or dashes; card numbers are searched inside it.
_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_NANP = re.compile(r"(?<![\d+])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[ .-]?[2-9]\d{2}[ .-]?\d{4}(?!\d)")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def cn_id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def cn_id_valid(value: str) -> bool:
    value = value.upper()
    return len(value) == 18 and value[:17].isdigit() and cn_id_check_char(value[:17]) == value[17]


def vin_check_char(vin: str) -> str:
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin.upper(), _VIN_WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


def vin_valid(value: str) -> bool:
    vin = value.upper()
    if len(vin) != 17 or any(c in "IOQ" for c in vin) or vin.isdigit() or vin.isalpha():
        return False
    if not all(c in _VIN_VALUES for c in vin):
        return False
    if vin[0] in "12345":  # North America: the check digit is mandatory
        return vin[8] == vin_check_char(vin)
    return True


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    replacement: str


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...]  # what was masked, in text order (for logs and tests)

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "email", "[EMAIL]")


def _loans(text: str) -> Iterator[Span]:
    for m in _LOAN.finditer(text):
        yield Span(m.start(), m.end(), "loan", f"[LOAN ****{m.group(1)[-4:]}]")


def _vins(text: str) -> Iterator[Span]:
    for m in _VIN.finditer(text):
        if vin_valid(m.group()):
            yield Span(m.start(), m.end(), "vin", "[VIN]")


def _cn_ids(text: str) -> Iterator[Span]:
    for m in _CN_ID.finditer(text):
        if cn_id_valid(m.group()):
            yield Span(m.start(), m.end(), "cn_id", "[ID]")


def _cards(text: str) -> Iterator[Span]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start() + run.start(), g.end() + run.start()) for g in re.finditer(r"\d+", run.group())]
        yield from _cards_in_groups(text, groups)


def _cards_in_groups(text: str, groups: list[tuple[int, int]]) -> Iterator[Span]:
    """The longest Luhn-valid 13-19 digit stretch of whole groups, left to right, without overlap."""
    i = 0
    while i < len(groups):
        found = None
        for j in range(len(groups) - 1, i - 1, -1):
            start, end = groups[i][0], groups[j][1]
            digits = re.sub(r"\D", "", text[start:end])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                if _looks_like_phone(text, start, digits):  # masked all the same, whatever the grouping
                    found = (j, Span(start, end, "phone", "[PHONE]"))
                else:
                    found = (j, Span(start, end, "card", f"[CARD ****{digits[-4:]}]"))
                break
        if found is None:
            i += 1
            continue
        yield found[1]
        i = found[0] + 1


def _looks_like_phone(text: str, start: int, digits: str) -> bool:
    """+86 mobiles are 13 digits and Luhn-valid one time in ten; cards are never written with '+'."""
    return (start > 0 and text[start - 1] == "+") or re.fullmatch(r"861[3-9]\d{9}", digits) is not None


def _phones(text: str) -> Iterator[Span]:
    for pattern in (_CN_MOBILE, _NANP):
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), "phone", "[PHONE]")


# Order matters: earlier detectors claim their characters first.
DETECTORS: tuple[Callable[[str], Iterator[Span]], ...] = (_emails, _loans, _vins, _cn_ids, _cards, _phones)


def find_spans(text: str) -> list[Span]:
    taken: list[Span] = []
    for detector in DETECTORS:
        for span in detector(text):
            if all(span.end <= t.start or span.start >= t.end for t in taken):
                taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def mask(text: str) -> Masked:
    spans = find_spans(text)
    if not spans:
        return Masked(text, ())
    out, pos = [], 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(span.replacement)
        pos = span.end
    out.append(text[pos:])
    return Masked("".join(out), tuple(s.kind for s in spans))


def mask_text(text: str) -> str:
    return mask(text).text
