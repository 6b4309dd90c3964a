"""Phone numbers: libphonenumber's matcher for any region, plus two shapes it is too strict for.

`phonenumbers.PhoneNumberMatcher` (Google's libphonenumber) finds valid numbers in free text:
international ones (`+44 20 7946 0958`), Chinese landlines (`010-62345678`), numbers with dots,
and it skips dates and times. It knows which number ranges are assigned, so it leaves out
numbers such as a CN mobile in a range not yet issued; the two patterns below keep masking those
by shape (a CN mobile `1[3-9]` + 9 digits, a North-American `(NXX) NXX-XXXX`), as before.
All spans that overlap are merged, so a number is masked whole whichever found more of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import phonenumbers

from handoff.pii.normalize import SEP_CHARS, Normalized
from handoff.pii.span import Span

# Phone numbers have at least 6 digits in a row, give or take spaces, dashes, dots, brackets and a '+';
# text without such a stretch is not given to the (slower) matcher.
_CANDIDATE = re.compile(r"[0-9](?:[\s().+\-/]{0,3}[0-9]){5}")

_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ .-]?)?1[3-9]\d[ .-]?\d{4}[ .-]?\d{4}(?!\d)")
_NANP = re.compile(r"(?<![\d+])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[ .-]?[2-9]\d{2}[ .-]?\d{4}(?!\d)")
# libphonenumber reads one space, dash, dot or slash between digit groups; tabs, line breaks, several
# spaces and underscores become one space for it (and for the patterns above).
_ODD_SEPARATOR = re.compile(rf"(?<=[0-9])(?![ ./-][0-9])[{SEP_CHARS}]{{1,8}}(?=[0-9])")


def _found(text: str, regions: Iterable[str]) -> Iterator[tuple[int, int]]:
    for pattern in (_CN_MOBILE, _NANP):
        for m in pattern.finditer(text):
            yield m.start(), m.end()
    if not _CANDIDATE.search(text):
        return
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            yield match.start, match.end


def phones(norm: Normalized, regions: Iterable[str]) -> Iterator[Span]:
    view = norm.substitute(_ODD_SEPARATOR, lambda m: " ")
    merged: list[list[int]] = []
    for start, end in sorted(_found(view.text, regions)):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        yield Span(*view.raw_span(start, end), "phone", "[PHONE]")


def e164_readings(text: str, regions: Iterable[str]) -> set[str]:
    """`+<country><number>` for each region in which `text` is a valid phone number."""
    readings = set()
    for region in regions:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            readings.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return readings
