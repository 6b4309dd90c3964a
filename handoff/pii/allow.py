"""The lender's own published numbers and addresses, which are never masked.

Without it, an agent who inserts an FAQ answer ("call 1-800-555-0142", "help@northwind-auto.example")
would send `[PHONE]` and `[EMAIL]` in place of the lender's own contact details. The list comes from
the `MASK_ALLOW` setting and from the FAQ files themselves (every phone number and e-mail address
they contain is published by definition).

Phone numbers are compared as E.164 (`+18005550142`), so `1-800-555-0142`, `(800) 555-0142` and
`+1 800 555 0142` are one number. A number written without its country code is read in every
configured region; it is allowed when one of those readings is an allowed number (a borrower's own
number is therefore masked unless its digits are exactly those of one of the lender's lines).
Anything else is compared by its letters and digits alone, ignoring case.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from handoff.pii.codes import emails
from handoff.pii.normalize import normalize
from handoff.pii.phones import e164_readings, phones


def text_key(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum() or ch == "@")


@dataclass(frozen=True)
class AllowList:
    phones: frozenset[str] = field(default_factory=frozenset)  # E.164
    texts: frozenset[str] = field(default_factory=frozenset)  # text_key()

    @classmethod
    def build(cls, *, entries: Iterable[str] = (), published: Iterable[tuple[str, str]] = ()) -> AllowList:
        """`entries`: values as configured (a phone number counts as E.164 only with its `+`);
        `published`: (value, region) pairs, a phone number read in the region it was published for."""
        phone_keys: set[str] = set()
        texts: set[str] = set()
        for entry in entries:
            texts.add(text_key(entry))
            if entry.strip().startswith("+"):
                phone_keys |= e164_readings(entry, ["ZZ"])
        for value, region in published:
            texts.add(text_key(value))
            phone_keys |= e164_readings(value, [region])
        texts.discard("")
        return cls(frozenset(phone_keys), frozenset(texts))

    def allows(self, kind: str, text: str, regions: Iterable[str]) -> bool:
        if not (self.phones or self.texts):
            return False
        if text_key(text) in self.texts:
            return True
        return kind == "phone" and not self.phones.isdisjoint(e164_readings(text, regions))


def published_values(faq_dir: Path, regions_by_lang: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every phone number and e-mail address in `<faq_dir>/<lang>/*.md`, with the region of its
    language (phone numbers in the English FAQ are read as US numbers, in the Chinese one as CN)."""
    found = []
    for lang, region in regions_by_lang.items():
        for path in sorted((faq_dir / lang).glob("*.md")):
            raw = path.read_text(encoding="utf-8")
            norm = normalize(raw)
            for span in [*phones(norm, [region]), *emails(norm)]:
                found.append((raw[span.start : span.end], region))
    return sorted(set(found))
