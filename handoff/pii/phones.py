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

_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ ./-]?)?1[3-9]\d[ ./-]?\d{4}[ ./-]?\d{4}(?!\d)")
_NANP = re.compile(
    r"(?<![\d+])(?:\+?1[ ./-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[ ./-]?[2-9]\d{2}[ ./-]?\d{4}(?!\d)"
)
# libphonenumber reads one space, dash, dot or slash between digit groups; tabs, line breaks, several
# spaces and underscores become one space for it (and for the patterns above), and so does every
# separator inside an international number (+49/30/1234567).
_ODD_SEPARATOR = re.compile(rf"(?<=[0-9)])(?![ ./-][0-9])[{SEP_CHARS}]{{1,8}}(?=[0-9(])")
_INTERNATIONAL = re.compile(rf"\+[0-9]{{1,3}}(?:[(){SEP_CHARS}]{{1,8}}[0-9]+)+")
_INNER_SEPARATOR = re.compile(rf"[{SEP_CHARS}]")
_DATE = re.compile(r"(?:19|20)\d\d[./-][01]?\d[./-](?:[0-3]\d|\d(?!\d))|[0-3]?\d[./-][01]?\d[./-](?:19|20)\d\d")
_TIME_AFTER = re.compile(r":[0-5]\d")
_AMOUNT = re.compile(r"[0-9]+\.[0-9]{2}")
_COUNTRY_CODE_BEFORE = re.compile(r"\+[0-9]{1,3}[ ./-]?$")
# A person's line; toll-free, premium-rate, shared-cost (CN 400) and access numbers belong to firms,
# and short ones among them look like amounts (16800000, 1 310 0000).
PERSONAL_TYPES = frozenset({
    phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE, phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.VOIP, phonenumbers.PhoneNumberType.PAGER,
})


def _found(text: str, regions: Iterable[str]) -> list[tuple[int, int]]:
    """Each source looks at what the ones before it left: once no 6 digits in a row are left, the
    matcher (the slow part) is not run for the remaining regions."""
    found = [
        (m.start(), m.end())
        for pattern in (_CN_MOBILE, _NANP)
        for m in pattern.finditer(text)
        if not _COUNTRY_CODE_BEFORE.search(text, max(0, m.start() - 5), m.start())  # +39 312 345 6789
    ]
    for region in regions:
        rest = _blank(text, found)
        if not _CANDIDATE.search(rest):
            break
        found += [
            (match.start, match.end)
            for match in phonenumbers.PhoneNumberMatcher(rest, region)
            if phonenumbers.number_type(match.number) in PERSONAL_TYPES
        ]
    return [(start, end) for start, end in found if not _date_time_or_amount(text, start, end)]


def _date_time_or_amount(text: str, start: int, end: int) -> bool:
    """`2024.05.01 12:30` and `131000.00` read as valid numbers; libphonenumber only rules out
    dates written with dashes or slashes before a time."""
    return (
        _DATE.match(text, start) is not None
        or _TIME_AFTER.match(text, end) is not None
        or _AMOUNT.fullmatch(text, start, end) is not None
    )


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + "\0" * (end - start) + text[end:]
    return text


def phones(norm: Normalized, regions: Iterable[str]) -> Iterator[Span]:
    view = norm.substitute(_INTERNATIONAL, lambda m: _INNER_SEPARATOR.sub(" ", m.group())).substitute(
        _ODD_SEPARATOR, lambda m: " "
    )
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
