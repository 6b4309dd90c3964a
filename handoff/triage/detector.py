"""A small local detector of messages that need a person: requests for one, anger, complaints.

It runs in the conversation service without Rasa, so a borrower who asks for a person or is angry
is queued at once even while the bot is down (`handoff.borrower.turns`), and it scores what
borrowers write while they wait (`handoff.borrower.queued`). Anger is scored by the same lexicon
the bot's NLU pipeline uses (`bot/anger.py`, pure Python), so both sides agree on "angry".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.anger import ANGRY_THRESHOLD, NEGATIVE_THRESHOLD, score_anger
from contract.codes import HandoffReason, Priority
from handoff.triage import phrases

COMPLAINT_TOPIC = "complaint"


def _compile(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


_PERSON_EN = _compile(phrases.PERSON_EN)
_NOT_PERSON_EN = _compile(phrases.NOT_PERSON_EN)
_COMPLAINT_EN = _compile(phrases.COMPLAINT_EN)
_NOT_COMPLAINT_EN = _compile(phrases.NOT_COMPLAINT_EN)
_PERSON_ZH = _compile(phrases.PERSON_ZH_PATTERNS)
_PUNCTUATION = re.compile(r"[\s,.!?;:，。！？；：、~～]+")


@dataclass(frozen=True)
class Detection:
    """What one message says about needing a person. `reason` is None when nothing was found."""

    wants_person: bool = False
    complaint: bool = False
    anger_score: float = 0.0
    cues: tuple[str, ...] = field(default_factory=tuple)

    @property
    def angry(self) -> bool:
        return self.anger_score >= ANGRY_THRESHOLD

    @property
    def upset(self) -> bool:
        """At least one anger cue (the bot's "negative turn"): enough to want a person while the
        bot cannot answer; urgent only from `angry` on."""
        return self.anger_score >= NEGATIVE_THRESHOLD

    @property
    def reason(self) -> HandoffReason | None:
        if self.wants_person:
            return HandoffReason.EXPLICIT_REQUEST
        if self.upset:
            return HandoffReason.ANGER
        if self.complaint:
            return HandoffReason.SENSITIVE_TOPIC
        return None

    @property
    def priority(self) -> Priority:
        if self.angry or self.complaint:
            return Priority.URGENT
        return Priority.HIGH if self.upset else Priority.NORMAL

    @property
    def topics(self) -> list[str]:
        return [COMPLAINT_TOPIC] if self.complaint else []

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": None if self.reason is None else str(self.reason),
            "wants_person": self.wants_person,
            "complaint": self.complaint,
            "anger": self.anger_score,
            "cues": list(self.cues),
        }


def _any(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match.group(0).strip()
    return None


def _wants_person(text: str, lowered: str) -> str | None:
    if not _any(_NOT_PERSON_EN, lowered):
        found = _any(_PERSON_EN, lowered)
        if found:
            return found
    if any(term in text for term in phrases.NOT_PERSON_ZH):
        return None
    whole = _PUNCTUATION.sub("", text)
    if whole in phrases.PERSON_ZH_WHOLE:
        return whole
    found = next((term for term in phrases.PERSON_ZH if term in text), None)
    return found or _any(_PERSON_ZH, text)


def _denies_complaint(text: str, lowered: str) -> bool:
    return bool(_any(_NOT_COMPLAINT_EN, lowered)) or any(term in text for term in phrases.NOT_COMPLAINT_ZH)


def _complaint(text: str, lowered: str) -> str | None:
    if _denies_complaint(text, lowered):
        return None
    return _any(_COMPLAINT_EN, lowered) or next((term for term in phrases.COMPLAINT_ZH if term in text), None)


def detect(text: str) -> Detection:
    """Classify one (already masked) borrower message; an empty text finds nothing."""
    lowered = " ".join(text.lower().split())
    person = _wants_person(text, lowered)
    complaint = _complaint(text, lowered)
    anger = score_anger(text)
    score = anger.score
    if _denies_complaint(text, lowered) and all(c.startswith("complaint:") for c in anger.cues):
        score = 0.0  # "no complaints" is not anger, whatever the lexicon's one-character negation saw
    found = [*([f"person:{person}"] if person else []), *([f"complaint:{complaint}"] if complaint else []),
             *anger.cues]
    cues = list(dict.fromkeys(found))  # the anger lexicon has complaint cues of its own
    return Detection(
        wants_person=person is not None, complaint=complaint is not None, anger_score=score,
        cues=tuple(cues),
    )
