"""Personal values with letters in them: e-mail addresses, our loan numbers, IBANs and VINs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban

from handoff.pii.normalize import SEP_CHARS, Normalized
from handoff.pii.span import Span

LOAN_NUMBER_FORMAT = "NW-" + "8 digits (e.g. NW-20240117)"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# NW, then 8 digits; any short run of separators after NW and between the digits (NW-2024-0117, NW_20240117).
_LOAN_SEP = rf"[{SEP_CHARS}]{{0,3}}"
_LOAN = re.compile(
    rf"(?<![A-Za-z0-9])NW{_LOAN_SEP}((?:[0-9]{_LOAN_SEP}){{7}}[0-9])(?![0-9])", re.IGNORECASE
)
# An IBAN: country, two check digits, then letters and digits, usually in groups of four.
_GAP = rf"[{SEP_CHARS}]{{1,3}}"  # between the groups of an IBAN or a VIN
_IBAN = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}[0-9]{{2}}[A-Za-z0-9]*(?:{_GAP}[A-Za-z0-9]+)*")
_VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])", re.IGNORECASE)
# A VIN written in groups (1HGCM 82633 A004352, or split over two messages): capitals and digits only,
# so that ordinary words and numbers never add up to one.
_SPACED_VIN = re.compile(
    rf"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{{3,14}}(?:{_GAP}[A-HJ-NPR-Z0-9]{{3,14}}){{1,5}}(?![A-Za-z0-9])"
)
_WORD = re.compile(r"[A-Za-z0-9]+")

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_char(vin: str) -> str:
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin.upper(), _VIN_WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


def vin_valid(value: str) -> bool:
    """ISO 3779 characters (no I, O, Q), letters and digits both; North-American VINs (first
    character 1-5) must also carry a valid check digit in position 9. (python-stdnum has no VIN.)"""
    vin = value.upper()
    if len(vin) != 17 or any(c in "IOQ" for c in vin) or vin.isdigit() or vin.isalpha():
        return False
    if not all(c in _VIN_VALUES for c in vin):
        return False
    if vin[0] in "12345":  # North America: the check digit is mandatory
        return vin[8] == vin_check_char(vin)
    return True


def emails(norm: Normalized) -> Iterator[Span]:
    if "@" not in norm.text:  # the pattern would scan every word for one
        return
    for m in _EMAIL.finditer(norm.text):
        yield Span(*norm.raw_span(m.start(), m.end()), "email", "[EMAIL]")


def loans(norm: Normalized) -> Iterator[Span]:
    for m in _LOAN.finditer(norm.text):
        yield Span(*norm.raw_span(m.start(), m.end()), "loan", f"[LOAN ****{m.group(1)[-4:]}]")


def ibans(norm: Normalized) -> Iterator[Span]:
    """The longest run of whole groups that python-stdnum accepts (country format and MOD 97-10)."""
    for m in _IBAN.finditer(norm.text):
        words = [(m.start() + w.start(), m.start() + w.end()) for w in _WORD.finditer(m.group())]
        compact = ""
        best = None
        for start, end in words:
            compact += norm.text[start:end]
            if len(compact) > 34:
                break
            if len(compact) >= 15 and iban.is_valid(compact):
                best = end
        if best is not None:
            yield Span(*norm.raw_span(m.start(), best), "iban", "[IBAN]")


def vins(norm: Normalized) -> Iterator[Span]:
    for m in _VIN.finditer(norm.text):
        if vin_valid(m.group()):
            yield Span(*norm.raw_span(m.start(), m.end()), "vin", "[VIN]")
    for m in _SPACED_VIN.finditer(norm.text):
        words = [(m.start() + w.start(), m.start() + w.end()) for w in _WORD.finditer(m.group())]
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                value = "".join(norm.text[s:e] for s, e in words[i : j + 1])
                if len(value) > 17:
                    break
                # Most VINs end in a serial of digits; asking for 4 keeps "ABS 2019 ..." out.
                if len(value) == 17 and value[-4:].isdigit() and vin_valid(value):
                    yield Span(*norm.raw_span(words[i][0], words[j][1]), "vin", "[VIN]")
