"""Masking of personal numbers before a borrower's text is stored, logged or sent to Rasa.

What is masked (recognised by `handoff.pii`, after NFKC, so full-width digits and `＠` count):
- card numbers: 13-19 digits, Luhn-valid, in groups of 3+ digits with any separators -> `[CARD ****1234]`
- Chinese resident IDs: 18 characters with the ISO 7064 check character and a valid birth date, or the
  old 15-digit form with a known region and birth date; any grouping -> `[ID]`
- US social security numbers: `123-45-6789` (any separators), or 9 digits after "SSN" -> `[SSN]`
- ABA routing numbers said to be one or followed by an account number -> `[ROUTING]`, and that account
  number, or one after "account number" / 账号 -> `[ACCOUNT ****1234]`
- IBANs (python-stdnum: country format and MOD 97-10), in groups or not -> `[IBAN]`
- phone numbers: libphonenumber's matcher in each configured region (international, landlines, dots,
  full-width), plus CN mobiles and North-American numbers by shape -> `[PHONE]`
- e-mail addresses -> `[EMAIL]`
- VINs: 17 characters without I, O, Q (North-American ones with their check digit), glued or in
  capital groups -> `[VIN]`
- our loan numbers: `NW` and 8 digits, any separators (`NW-20240117`, `NW_2024_0117`) -> `[LOAN ****0117]`

The lender's own published numbers and addresses (`MaskPolicy.allow`) are left as they are.
Detection works on the raw characters rather than on spaCy tokens: Chinese text has no spaces, so
"卡号4111111111111111" has no token of its own. Near misses (a wrong check digit) are left alone so
that amounts and order numbers stay readable.

A number split over consecutive messages ("my card is 4111 1111", then "1111 1111") is caught by
`mask_continuing`, given the stored ends of the previous messages: see `handoff.borrower.masking_tail`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from handoff.config import Settings
from handoff.pii import codes, numbers, phones
from handoff.pii.allow import AllowList, published_values
from handoff.pii.normalize import SEP_CHARS, Normalized, normalize
from handoff.pii.span import Span

LOAN_NUMBER_FORMAT = codes.LOAN_NUMBER_FORMAT
DEFAULT_REGIONS = ("CN", "US")
TAIL_MESSAGES = 3  # earlier messages a number may have begun in
TAIL_CHARS = 40  # of each, at most this many last characters are looked at

_CONTINUES = re.compile(rf"[{SEP_CHARS}]*(?:\+|[A-Za-z]*[0-9])")


@dataclass(frozen=True)
class MaskPolicy:
    """What stays readable (the lender's own numbers) and which regions phone numbers are read in."""

    allow: AllowList = field(default_factory=AllowList)
    regions: tuple[str, ...] = DEFAULT_REGIONS


DEFAULT_POLICY = MaskPolicy()


def policy_from_settings(settings: Settings) -> MaskPolicy:
    """MASK_ALLOW plus the FAQ's own phone numbers and e-mail addresses (read once, at start-up)."""
    faq_dir = settings.MASK_ALLOW_FAQ_DIR
    published = published_values(Path(faq_dir), settings.mask_faq_regions) if faq_dir else []
    return MaskPolicy(
        allow=AllowList.build(entries=settings.mask_allow, published=published),
        regions=settings.mask_phone_regions,
    )


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...]  # what was masked, in text order (for logs and tests)

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


@dataclass(frozen=True)
class Continued:
    masked: Masked  # the new message
    earlier: tuple[str, ...]  # the earlier texts, with the start of a number that ends in the new one masked


# Order matters: earlier detectors claim their characters first.
DETECTORS: tuple[Callable[[Normalized], Iterator[Span]], ...] = (
    codes.emails, codes.loans, codes.ibans, codes.vins, numbers.cn_ids, numbers.ssns, numbers.bank_accounts,
    numbers.cards,
)


def find_spans(text: str, policy: MaskPolicy = DEFAULT_POLICY) -> list[Span]:
    """Spans to mask, in text order. An allowed value keeps its characters from every later detector."""
    norm = normalize(text)
    taken: list[tuple[Span, bool]] = []

    def claim(spans: Iterator[Span]) -> None:
        for span in spans:
            if not any(span.overlaps(t) for t, _ in taken):
                allowed = policy.allow.allows(span.kind, text[span.start : span.end], policy.regions)
                taken.append((span, allowed))

    for detector in DETECTORS:
        claim(detector(norm))
    # Phone matching is the slow part: it does not look at what is already taken.
    claim(phones.phones(norm.blank([(s.start, s.end) for s, _ in taken]), policy.regions))
    return sorted((s for s, allowed in taken if not allowed), key=lambda s: s.start)


def _render(text: str, spans: Sequence[Span]) -> Masked:
    out, pos = [], 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(span.replacement)
        pos = span.end
    out.append(text[pos:])
    return Masked("".join(out), tuple(s.kind for s in spans))


def mask(text: str, policy: MaskPolicy = DEFAULT_POLICY) -> Masked:
    spans = find_spans(text, policy)
    return _render(text, spans) if spans else Masked(text, ())


def mask_text(text: str, policy: MaskPolicy = DEFAULT_POLICY) -> str:
    return mask(text, policy).text


def may_continue(text: str) -> bool:
    """Could `text` be the rest of a number begun in an earlier message? (Cheap: it starts, after
    any separators, with `+`, a digit, or letters and then a digit: "1111 1111", "3A004352".)"""
    return _CONTINUES.match(normalize(text[:24]).text) is not None


def _clip(span: Span, lo: int, hi: int, *, to: int = 0) -> Span:
    """The part of `span` within [lo, hi), moved so that `lo` falls on `to`."""
    return Span(max(span.start, lo) - lo + to, min(span.end, hi) - lo + to, span.kind, span.replacement)


def mask_continuing(text: str, *, earlier: Sequence[str], policy: MaskPolicy = DEFAULT_POLICY) -> Continued:
    """Mask `text`, the borrower's next message after `earlier` (their previous messages as stored,
    oldest first). A number that begins at the end of an earlier message and ends in this one is
    masked in both: in this message by the number's replacement, and its part in the earlier one
    likewise (returned in `earlier`, for the caller to store). Pure: no state is kept here."""
    alone = find_spans(text, policy)
    parts = [e[-TAIL_CHARS:] for e in earlier[-TAIL_MESSAGES:]]
    if not parts or not may_continue(text):
        return Continued(_render(text, alone), tuple(earlier))
    joined = "".join(p + "\n" for p in parts)
    offset, end = len(joined), len(joined) + len(text)
    together = find_spans(joined + text, policy)
    crossing = [s for s in together if s.start < offset < s.end]
    spans = [_clip(s, offset, end) for s in crossing]
    # Then what the new text holds alone, and what it holds only with the earlier words as context
    # ("my SSN is" + "123456789").
    for span in [*alone, *(_clip(s, offset, end) for s in together if s.start >= offset)]:
        if not any(span.overlaps(t) for t in spans):
            spans.append(span)
    masked = _render(text, sorted(spans, key=lambda s: s.start))
    fixed = list(earlier)
    lo = 0
    for k, part in zip(range(len(earlier) - len(parts), len(earlier)), parts, strict=True):
        hi = lo + len(part)
        at = len(fixed[k]) - len(part)  # where `part` begins in its message
        cuts = [_clip(s, lo, hi, to=at) for s in crossing if s.start < hi and s.end > lo]
        if cuts:
            fixed[k] = _render(fixed[k], cuts).text
        lo = hi + 1  # the line break that joins the parts
    return Continued(masked, tuple(fixed))
