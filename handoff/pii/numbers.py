"""Personal numbers made of digits alone: cards, Chinese resident IDs, US SSNs, routing + account numbers.

A number may be written in groups with any run of separators between them (`4111 1111`, `4111.1111`,
`4111\t1111`, `4111 – 1111`, over a line break). Each detector looks at the digit runs of the normalised
text and, from left to right, at the longest stretch of whole groups that is a valid number of its
kind; only whole groups count, so `2024-05-01 12000` never yields `0501120` or the like.
Validity comes from python-stdnum (Luhn, the ID's ISO 7064 check character, the SSN's reserved
areas, the ABA routing checksum): a near miss (a wrong check digit) is left alone, so that order
numbers and amounts stay readable.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.us import rtn, ssn

from handoff.pii.normalize import SEP_RUN, Normalized
from handoff.pii.span import Span

MAX_DIGITS = 19  # the longest number looked for (cards); bounds the work per digit run

_RUN = re.compile(rf"(?<![0-9])[0-9]+(?:{SEP_RUN}[0-9]+)*(?:[Xx](?![A-Za-z0-9]))?")
_GROUP = re.compile(r"[0-9]+[Xx]?")
_SSN_CONTEXT = re.compile(r"(?i)ssn|social\s*security|社会安全|社保号|安全号")
_ROUTING_CONTEXT = re.compile(r"(?i)routing|\baba\b|\brtn\b|transit|路由|汇款路线")
_ACCOUNT_CONTEXT = re.compile(r"(?i)(?:account|acct|a/c)\s*(?:number|no\b|no\.|num|#)|\ba/c\b|账号|帐号|账户号码")
_ACCOUNT_WORD = re.compile(r"(?i)account|acct|a/c|账号|帐号|账户")
_OLD_ID_SHAPES = ((15,), (6, 6, 3), (6, 9))


@dataclass(frozen=True)
class Group:
    start: int  # offsets in the normalised text
    end: int
    digits: str  # may end in X (the check character of a resident ID)


def digit_runs(text: str) -> Iterator[list[Group]]:
    for run in _RUN.finditer(text):
        at = run.start()
        yield [Group(at + g.start(), at + g.end(), g.group()) for g in _GROUP.finditer(run.group())]


# A rule looks at a stretch of whole groups, its digits and the text around it; it returns (kind,
# replacement) or None. Rules check lengths first: they run for every stretch of every digit run.
Rule = Callable[[Normalized, list[Group], str], tuple[str, str] | None]


def _stretches(norm: Normalized, rule: Rule, lengths: range | tuple[int, ...]) -> Iterator[Span]:
    """The longest stretch of whole groups the rule accepts, left to right, without overlap; the
    rule only sees stretches of one of the `lengths` (in digits)."""
    for groups in digit_runs(norm.text):
        i = 0
        while i < len(groups):
            prefixes = []
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j].digits
                if len(digits) > MAX_DIGITS:
                    break
                if len(digits) in lengths:
                    prefixes.append((j, digits))
            for j, digits in reversed(prefixes):
                found = rule(norm, groups[i : j + 1], digits)
                if found is not None:
                    first = groups[i].start
                    if found[0] == "phone" and first > 0 and norm.text[first - 1] == "+":
                        first -= 1  # the '+' of +86 belongs to the number
                    start, end = norm.raw_span(first, groups[j].end)
                    yield Span(start, end, *found)
                    i = j + 1
                    break
            else:
                i += 1


def _digits(groups: list[Group]) -> str:
    return "".join(g.digits for g in groups)


def _shape(groups: list[Group]) -> tuple[int, ...]:
    return tuple(len(g.digits) for g in groups)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2099


def _known_region(code: str) -> bool:
    return any("county" in props for _, props in numdb.get("cn/loc").info(code))


def _cn_id(norm: Normalized, groups: list[Group], digits: str) -> tuple[str, str] | None:
    if len(digits) not in (15, 18):
        return None
    value = digits.upper()
    if len(value) == 18 and value[:17].isdigit():
        valid = ric.calc_check_digit(value) == value[17] and _valid_date(
            int(value[6:10]), int(value[10:12]), int(value[12:14])
        )
        return ("cn_id", "[ID]") if valid else None
    # The 15-digit form (issued until 2004) has no check character: region and birth date must hold,
    # and it must be written whole or grouped as region / birth date / serial.
    if len(value) != 15 or not value.isdigit() or _shape(groups) not in _OLD_ID_SHAPES:
        return None
    born = _valid_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return ("cn_id", "[ID]") if born and _known_region(value[:6]) else None


def _ssn(norm: Normalized, groups: list[Group], digits: str) -> tuple[str, str] | None:
    if len(digits) != 9 or not digits.isdigit():
        return None
    shape = _shape(groups)
    said = shape == (9,) and _SSN_CONTEXT.search(_before(norm, groups[0].start, 24)) is not None
    return ("ssn", "[SSN]") if (shape == (3, 2, 4) or said) and ssn.is_valid(digits) else None


def _looks_like_phone(norm: Normalized, start: int, digits: str) -> bool:
    """+86 mobiles are 13 digits and Luhn-valid one time in ten; cards are never written with '+'."""
    return (start > 0 and norm.text[start - 1] == "+") or re.fullmatch(r"861[3-9]\d{9}", digits) is not None


def _card(norm: Normalized, groups: list[Group], digits: str) -> tuple[str, str] | None:
    if not (13 <= len(digits) <= 19 and digits.isdigit() and digits[0] != "0"):
        return None
    # Card groups are 4-6 digits (the last may be shorter): two-digit groups are dates and times.
    if any(len(g.digits) < 3 for g in groups[:-1]) or not luhn.is_valid(digits):
        return None
    if _looks_like_phone(norm, groups[0].start, digits):  # masked all the same, whatever the grouping
        return "phone", "[PHONE]"
    return "card", f"[CARD ****{digits[-4:]}]"


def _before(norm: Normalized, start: int, width: int) -> str:
    return norm.text[max(0, start - width) : start]


def cn_ids(norm: Normalized) -> Iterator[Span]:
    return _stretches(norm, _cn_id, (15, 18))


def ssns(norm: Normalized) -> Iterator[Span]:
    return _stretches(norm, _ssn, (9,))


def cards(norm: Normalized) -> Iterator[Span]:
    return _stretches(norm, _card, range(13, 20))


def bank_accounts(norm: Normalized) -> Iterator[Span]:
    """An ABA routing number (9 digits, whole or 3-3-3) called one, or followed by the words
    "account" / 账号 and a number; and the account number after it, or after "account number" /
    账号. The routing checksum passes one number in ten and an account number has none, so both
    are only recognised by the words around them."""
    runs = list(digit_runs(norm.text))
    after_routing = -1  # normalised offset up to which the next run is an account number
    for k, groups in enumerate(runs):
        digits = _digits(groups)
        start, end = groups[0].start, groups[-1].end
        if _shape(groups) in ((9,), (3, 3, 3)) and rtn.is_valid(digits):
            following = runs[k + 1][0].start if k + 1 < len(runs) else None
            account_next = following is not None and following - end <= 40 and _ACCOUNT_WORD.search(
                norm.text, end, following
            )
            if account_next or _ROUTING_CONTEXT.search(_before(norm, start, 30)):
                yield Span(*norm.raw_span(start, end), "routing", "[ROUTING]")
                after_routing = end + 40
                continue
        if not (4 <= len(digits) <= 20 and digits.isdigit()):
            continue
        said = len(digits) >= 6 and _ACCOUNT_CONTEXT.search(_before(norm, start, 20))
        if start <= after_routing or said:
            yield Span(*norm.raw_span(start, end), "account", f"[ACCOUNT ****{digits[-4:]}]")
            after_routing = -1
