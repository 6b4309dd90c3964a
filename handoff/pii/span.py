"""What a detector reports: where a personal value is in the raw text, what it is, what replaces it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int  # raw-text offsets
    end: int
    kind: str  # card, cn_id, ssn, routing, account, iban, phone, email, vin, loan
    replacement: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end
